"""Where models built once (ONNX exports, int8 forms, converted and distilled weights) are kept.

They live under the cache folder (``$TRANSZERO_CACHE_DIR``, see :func:`~transzero._paths.default_cache_dir`).
When that folder cannot be written (read-only, or a full disk) a model is built into a temporary folder of this
process instead, used from there and removed at exit, with one warning that it could not be kept - the same rule
as the embedding cache: a cache fault never costs the job. A model already built in the cache is used even when
the cache is read-only.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._paths import default_cache_dir
from ..errors import CacheWarning, ModelUnavailableError

__all__ = ["building", "building_now", "model_root"]

_PROBE_BYTES = 1 << 16
_scratch: Path | None = None
_builds = 0  # models being built right now (progress lines pause meanwhile)


def building_now() -> bool:
    """True while a model is being built once (an ONNX export, an int8 build, a conversion)."""
    return _builds > 0


def model_root(ready: Callable[[Path], bool]) -> Path:
    """The root to build and load a model under: the cache folder when ``ready(root)`` (the model is built there
    already) or when the cache folder can be written; otherwise this process's temporary folder (warned once)."""
    root = default_cache_dir()
    if ready(root):
        return root
    problem = _unwritable(root)
    if problem is None:
        return root
    return _scratch_root(root, problem)


@contextmanager
def building(what: str, where: Path) -> Iterator[None]:
    """Mark a model build (progress lines pause: the build says so in one line) and turn a write error while
    building ``what`` in ``where`` into one line (no traceback)."""
    global _builds
    _builds += 1
    try:
        yield
    except OSError as exc:
        why = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise ModelUnavailableError(f"{what}: cannot build it in {where} ({why}); free space, or set "
                                    "TRANSZERO_CACHE_DIR to a writable folder") from None
    finally:
        _builds -= 1


def _unwritable(root: Path) -> str | None:
    """Why ``root`` cannot hold a built model (None when it can): it cannot be created, or a small file cannot be
    written in it."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=root)
        try:
            os.write(fd, b"\0" * _PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            Path(probe).unlink(missing_ok=True)
    except OSError as exc:
        return "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return None


def _scratch_root(root: Path, problem: str) -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="transzero-models-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
        warnings.warn(f"cache folder {root} cannot be written ({problem}): models are built in {_scratch} for this "
                      "run and not kept; set TRANSZERO_CACHE_DIR to a writable folder to keep them", CacheWarning,
                      stacklevel=3)
    return _scratch


def _reset_for_tests() -> None:  # pragma: no cover - test helper
    global _scratch
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
    _scratch = None
