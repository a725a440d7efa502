"""On-disk embedding cache keyed by content hash, per encoder fingerprint.

One SQLite file per encoder fingerprint (``<root>/<name>-<fingerprint>.sqlite``) maps the
SHA-256 of an item's content to its float32 vector. Misses are encoded and written in
chunks, so an interrupted job resumes where it stopped; a warm run never loads the model.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._util import default_cache_dir
from .encoders.base import Encoder, ProgressCallback, _strip_item_prefix
from .errors import InputError

__all__ = ["EmbeddingCache", "CacheStats", "item_key"]


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


@dataclass
class CacheStats:
    """Hits and misses since the cache object was created."""

    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    """Content-addressed store of vectors, one SQLite file per encoder fingerprint.

    Parameters
    ----------
    root : path, optional
        Folder for the files; default ``$TRANSZERO_CACHE_DIR`` or ``~/.cache/transzero``.
    chunk_size : int
        Misses are encoded and committed this many at a time (resumable jobs).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, chunk_size: int = 2048) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.chunk_size = int(chunk_size)
        self.stats = CacheStats()
        self._conns: dict[str, sqlite3.Connection] = {}

    def path_for(self, encoder: Encoder) -> Path:
        """The SQLite file holding ``encoder``'s vectors."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder.name)[-60:].strip("_") or "encoder"
        return self.root / f"{slug}-{encoder.fingerprint}.sqlite"

    def _conn(self, encoder: Encoder) -> sqlite3.Connection:
        path = self.path_for(encoder)
        key = str(path)
        if key not in self._conns:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(key, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            self._conns[key] = conn
        return self._conns[key]

    def lookup(self, encoder: Encoder, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for ``keys`` (missing keys are absent from the result)."""
        conn = self._conn(encoder)
        found: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        for start in range(0, len(uniq), 900):
            part = uniq[start : start + 900]
            q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})"
            for k, blob in conn.execute(q, part):
                found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, encoder: Encoder, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]``."""
        conn = self._conn(encoder)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                ((k, vecs[i].tobytes()) for i, k in enumerate(keys)),
            )

    def encode(
        self,
        encoder: Encoder,
        items: Sequence[Any],
        *,
        batch_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """``encoder.encode(items)``, reading hits from disk and storing the misses.

        Raises :class:`~transzero.errors.InputError` naming the first bad item.
        """
        items = encoder.validate(items)
        out, errors = self.encode_report(encoder, items, batch_size=batch_size, progress=progress)
        if errors:
            i = min(errors)
            raise InputError(f"item {i}: {errors[i]}")
        return out

    def encode_report(
        self,
        encoder: Encoder,
        items: Sequence[Any],
        *,
        batch_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Like :meth:`encode`, but bad items are reported (NaN rows) and the rest encoded and cached."""
        items = list(items)
        errors: dict[int, str] = {}
        keys: dict[int, str] = {}
        for i, it in enumerate(items):
            try:
                encoder.validate([it])
                keys[i] = encoder.cache_key(it)
            except InputError as exc:
                errors[i] = _strip_item_prefix(str(exc))
            except OSError as exc:
                errors[i] = f"cannot read ({exc.strerror or exc}); check the file"
        if progress and errors:
            progress(len(errors))
        found = self.lookup(encoder, list(keys.values()))
        out = np.full((len(items), encoder.dim), np.nan, dtype=np.float32)
        first_of: dict[str, int] = {}
        miss_idx: list[int] = []
        dup: list[int] = []
        for i, k in keys.items():
            v = found.get(k)
            if v is not None:
                out[i] = v
            elif k in first_of:
                dup.append(i)  # same content as an earlier miss: encoded once
            else:
                first_of[k] = i
                miss_idx.append(i)
        n_hits = len(keys) - len(miss_idx) - len(dup)
        self.stats.hits += n_hits
        if progress and n_hits:
            progress(n_hits)
        for start in range(0, len(miss_idx), self.chunk_size):
            part = miss_idx[start : start + self.chunk_size]
            vecs, errs = encoder.encode_report([items[i] for i in part], batch_size=batch_size, progress=progress)
            out[part] = vecs
            ok = [j for j in range(len(part)) if j not in errs]
            self.put(encoder, [keys[part[j]] for j in ok], vecs[ok])
            errors.update({part[j]: m for j, m in errs.items()})
            self.stats.misses += len(part)
        for i in dup:
            src = first_of[keys[i]]
            if src in errors:
                errors[i] = errors[src]
            else:
                out[i] = out[src]
        if progress and dup:
            progress(len(dup))
        return out, errors

    def close(self) -> None:
        """Close the open SQLite connections."""
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
