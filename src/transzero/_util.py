"""Small helpers shared by several modules."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Return ``x`` scaled to unit L2 norm along ``axis`` (float32, zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32, copy=False)


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
