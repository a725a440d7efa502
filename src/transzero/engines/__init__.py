"""Engines that run batch jobs beyond this process (the local one is in :mod:`transzero.pipeline.batch`).

Importing this package (``import transzero`` does) registers each engine by name with the pipeline's engine
registry (:mod:`transzero.pipeline.engine`); the engine's module, and Ray, load only when a job asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..pipeline.engine import register_engine

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.engine import Engine
    from ..pipeline.report import Reporter, Timings
    from ..pipeline.spec import JobSpec
    from ..pipeline.stages import VectorSource

__all__ = ["ray_engine"]


def ray_engine(spec: JobSpec, source: VectorSource, source_config: dict[str, Any], timings: Timings,
               reporter: Reporter) -> Engine:
    """``--engine ray``: :class:`transzero.engines.ray.RayEngine` (a one-line error when Ray is not installed)."""
    try:
        from .ray import RayEngine
    except ImportError as exc:
        raise InputError(f"--engine ray needs Ray: pip install \"transzero[ray]\" ({exc.name} is missing)") from None
    from .._util import default_cache_dir

    return RayEngine(source_config, address=spec.engine.address, workers=spec.engine.workers,
                     cache_dir=spec.cache.folder or default_cache_dir() if spec.cache.enabled else None,
                     cache=spec.cache.enabled, batch_size=spec.model.batch_size, timings=timings, reporter=reporter)


register_engine("ray", ray_engine)
