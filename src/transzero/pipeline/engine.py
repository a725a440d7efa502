"""What a batch job's engine is, and the registry of engines by name (``--engine``).

A sharded job (:mod:`transzero.pipeline.batch`) asks :func:`create_engine` for the engine its spec names; engines
register a factory here (the local one from :mod:`.batch`, Ray from :mod:`transzero.engines`, which
``import transzero`` loads), so the pipeline never imports an engine: the dependency runs engines -> pipeline only.
This module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..data.text import ItemTable
    from .report import Reporter, Timings
    from .spec import JobSpec
    from .stages import Encoded, VectorSource

__all__ = ["Engine", "EngineFactory", "create_engine", "engine_names", "register_engine"]


class Engine(Protocol):
    """Encodes the shards of a job (everything else a batch job does runs in the driver)."""

    name: str

    def stream(self, tables: Iterator[ItemTable], skip: set[int], *, path: str, shard_size: int, text_column: str,
               audio_column: str | None) -> Iterator[tuple[int, ItemTable, Encoded | None]]:
        ...

    def close(self) -> None:
        ...


#: ``factory(spec, source, source_config, timings, reporter) -> Engine``: ``source`` is the driver's vector source
#: (a classifier or a cached encoder), ``source_config`` what a remote worker needs to rebuild it.
EngineFactory = Callable[["JobSpec", "VectorSource", "dict[str, Any]", "Timings", "Reporter"], Engine]

_ENGINES: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``--engine NAME`` build its engine with ``factory`` (a later registration replaces an earlier one)."""
    _ENGINES[name] = factory


def engine_names() -> list[str]:
    """The registered engine names, ``local`` first, then alphabetical."""
    return sorted(_ENGINES, key=lambda n: (n != "local", n))


def create_engine(spec: JobSpec, source: VectorSource, source_config: dict[str, Any], timings: Timings,
                  reporter: Reporter) -> Engine:
    """The engine ``spec.engine.name`` names; an unknown name is a one-line error listing the known ones."""
    factory = _ENGINES.get(spec.engine.name)
    if factory is None:
        raise InputError(f"--engine must be {' or '.join(engine_names())}, got {spec.engine.name!r}")
    return factory(spec, source, source_config, timings, reporter)
