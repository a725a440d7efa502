"""Small helpers shared by several modules."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._paths import default_cache_dir, dir_size_bytes, weights_id  # noqa: F401 - re-exported
from ._strings import item_error, row_line, safe_text, sha256_text  # noqa: F401 - re-exported
from .errors import InputError


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Return ``x`` scaled to unit L2 norm along ``axis`` (float32, zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum (the same arithmetic as SciPy's).

    Here rather than ``scipy.special.softmax`` because importing SciPy costs a quarter of a second
    on the one-text classify path.
    """
    x = np.asarray(x)
    z = x - np.amax(x, axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= np.sum(z, axis=axis, keepdims=True)
    return z


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
