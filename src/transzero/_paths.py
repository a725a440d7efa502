"""Where things live and how big they are: no heavy imports (the CLI's start-up path and the encoder registry use
these); ``transzero._util`` re-exports them."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir", "dir_size_bytes", "weights_id"]


def dir_size_bytes(path: str | os.PathLike[str]) -> int:
    """Total size of the regular files below ``path`` (0 when it does not exist)."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    if not p.is_dir():
        return 0
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def default_cache_dir() -> Path:
    """Where embeddings are cached: ``$TRANSZERO_CACHE_DIR`` or ``$XDG_CACHE_HOME/transzero``."""
    env = os.environ.get("TRANSZERO_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "transzero"


def weights_id(path: Path) -> str:
    """Cheap identity of a weights file or folder (for fingerprints): names and sizes of its model files."""
    if path.is_file():
        return f"{path.name}:{path.stat().st_size}"
    parts = []
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".onnx", ".json", ".txt", ".model"}:
            parts.append(f"{f.relative_to(path)}:{f.stat().st_size}")
    return ";".join(parts)
