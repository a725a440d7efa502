"""Small helpers shared by several modules."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Return ``x`` scaled to unit L2 norm along ``axis`` (float32, zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32, copy=False)


def label_indices(
    classes: Sequence[Any], labels: Sequence[Any], *, what: str = "item", fix: str = "add it to the labels",
    problem: str = "is not one of the classes",
) -> np.ndarray:
    """Index of each label among ``classes`` (compared as strings).

    An unknown label is a one-line :class:`~transzero.errors.InputError` naming its position:
    ``"<what> 3: label 'zebra' <problem>; <fix>"``.
    """
    index = {str(c): i for i, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        k = index.get(str(lab))
        if k is None:
            raise InputError(f"{what} {i} (counting from 0): label {lab!r} {problem}; {fix}")
        out[i] = k
    return out


def item_error(message: str) -> str:
    """``"items[3]: text is empty"`` -> ``"text is empty"``: the caller names the row itself.

    The Python API names items by their 0-based position in the list (``items[3]``); the CLI names
    rows of a file, counted from 1 (``row 4``).
    """
    return message.split(": ", 1)[1] if message.startswith("items[") and "]: " in message else message


def safe_text(text: str) -> str:
    """``text`` with lone surrogates (bytes a file could not decode, kept by ``surrogateescape``) shown as U+FFFD,
    so it can be written as UTF-8 and printed."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        escapes_only = all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
        raw = text.encode("utf-8", "surrogateescape" if escapes_only else "replace")
        return raw.decode("utf-8", "replace")


def row_line(source: str, row: int, message: str) -> str:
    """The one line that reports a bad row everywhere: ``"<source>: row <row>: <message>"``."""
    return f"{source}: row {row}: {message}"


def item_key(item: Any) -> str:
    """Content hash of an item: text as UTF-8, bytes as is, arrays by dtype/shape/bytes, paths by file content."""
    h = hashlib.sha256()
    if isinstance(item, str):
        h.update(b"s:" + item.encode("utf-8"))
    elif isinstance(item, (bytes, bytearray)):
        h.update(b"b:" + bytes(item))
    elif isinstance(item, np.ndarray):
        h.update(f"a:{item.dtype}:{item.shape}:".encode() + np.ascontiguousarray(item).tobytes())
    elif isinstance(item, os.PathLike):  # streamed: a large file never sits in memory whole
        h.update(b"f:")
        with open(item, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    else:
        raise TypeError(f"cannot hash items of type {type(item).__name__} for the cache")
    return h.hexdigest()


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
