"""On-disk embedding cache keyed by content hash, per encoder fingerprint.

One SQLite file per encoder fingerprint (``<root>/<name>-<fingerprint>.sqlite``) maps the
SHA-256 of an item's content to its float32 vector. Misses are encoded in chunks and each chunk
is committed as soon as it is done - at least every 256 items or 10 seconds - so a job killed at
any point keeps what it encoded, and a rerun reads it back. A warm run never loads the model.

A cache problem never costs the job: a folder that cannot be created or written, a full disk, a
corrupt or foreign file, stored vectors of the wrong length - each gives one warning
(:class:`~transzero.errors.CacheWarning`) and the job goes on, without the cache or with the bad
file moved aside and rebuilt; the vectors are the ones a run without cache computes.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._util import default_cache_dir, item_error, item_key
from .encoders.base import Encoder, ProgressCallback
from .errors import CacheWarning, InputError

__all__ = ["CacheStats", "EmbeddingCache", "encode_items", "item_key"]

_FORMAT = "transzero-embedding-cache/1"


@dataclass
class CacheStats:
    """Hits and misses since the cache object was created."""

    hits: int = 0
    misses: int = 0


def encode_items(
    encoder: Encoder, cache: EmbeddingCache | None, items: Sequence[Any], *, batch_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """``encoder.encode_report(items)``, through ``cache`` when there is one (bad items reported, NaN rows)."""
    if cache is not None:
        return cache.encode_report(encoder, items, batch_size=batch_size, progress=progress)
    return encoder.encode_report(items, batch_size=batch_size, progress=progress)


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


class EmbeddingCache:
    """Content-addressed store of vectors, one SQLite file per encoder fingerprint.

    Parameters
    ----------
    root : path, optional
        Folder for the files; default ``$TRANSZERO_CACHE_DIR`` or ``~/.cache/transzero``.
    chunk_size : int
        At most this many misses are encoded between two commits.
    commit_seconds : float
        Target time between commits: chunks shrink for slow encoders so that finished work is
        committed about this often.
    warn : callable, optional
        Receives each one-line warning; default: :func:`warnings.warn` with :class:`CacheWarning`.
    memory : int
        Also keep up to this many recently used vectors per encoder in memory (a least-recently-used map in front
        of SQLite): a service that scores the same pool after every label reads it from memory. 0: none.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        chunk_size: int = 256,
        commit_seconds: float = 10.0,
        warn: Callable[[str], None] | None = None,
        memory: int = 0,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.chunk_size = max(1, int(chunk_size))
        self.commit_seconds = float(commit_seconds)
        self.stats = CacheStats()
        self.warn = warn or _warn
        self._conns: dict[str, sqlite3.Connection | None] = {}  # None: this file is off for the run
        self._read_only: set[str] = set()
        self._lock = threading.RLock()  # one cache may serve several threads (a service's encoders)
        self.memory = max(0, int(memory))
        self._memo: dict[str, OrderedDict[str, np.ndarray]] = {}  # fingerprint -> key -> vector (LRU order)

    def path_for(self, encoder: Encoder) -> Path:
        """The SQLite file holding ``encoder``'s vectors."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder.name)[-60:].strip("_") or "encoder"
        return self.root / f"{slug}-{encoder.fingerprint}.sqlite"

    # ------------------------------------------------------------------ connections
    def _disable(self, key: str, why: str) -> None:
        conn = self._conns.get(key)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._conns[key] = None
        self.warn(f"embedding cache {key}: {why}; continuing without the cache (results are the same, only slower)")

    def _open(self, path: Path, encoder: Encoder) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False)  # used under self._lock
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            if tables and (meta.get("format") != _FORMAT or meta.get("fingerprint") != encoder.fingerprint):
                if tables != {"vectors"}:  # (a file of transzero 0.1 had only the vectors table: kept)
                    raise sqlite3.DatabaseError("not a transzero embedding cache of this encoder")
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [("format", _FORMAT), ("fingerprint", encoder.fingerprint), ("dim", str(encoder.dim))])
            cols = [r[1] for r in conn.execute("PRAGMA table_info(vectors)")]
            if cols != ["key", "vec"]:
                raise sqlite3.DatabaseError(f"its vectors table has columns {cols}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self, encoder: Encoder) -> sqlite3.Connection | None:
        path = self.path_for(encoder)
        key = str(path)
        if key in self._conns:
            return self._conns[key]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._disable(key, f"cannot create folder {path.parent} ({exc.strerror or exc})")
            return None
        try:
            self._conns[key] = self._open(path, encoder)
            return self._conns[key]
        except sqlite3.DatabaseError as e:
            exc: Exception = e
        except OSError as e:
            self._disable(key, f"cannot open it ({e})")
            return None
        if isinstance(exc, sqlite3.OperationalError):  # unwritable folder or file, locked, full disk
            self._disable(key, f"cannot open it ({exc})")
            return None
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            os.replace(path, aside)
            self._conns[key] = self._open(path, encoder)
        except (OSError, sqlite3.Error) as exc2:
            self._disable(key, f"it is corrupt or not a cache file ({exc}) and could not be rebuilt ({exc2})")
            return None
        self.warn(f"embedding cache {key}: corrupt or not a cache file ({exc}); moved it to {aside.name} and started a new one")
        return self._conns[key]

    # ------------------------------------------------------------------ reads and writes
    def lookup(self, encoder: Encoder, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for ``keys`` (missing or unusable ones are absent from the result)."""
        with self._lock:
            return self._lookup(encoder, keys)

    def _remember(self, encoder: Encoder, found: dict[str, np.ndarray]) -> None:
        if not self.memory or not found:
            return
        memo = self._memo.setdefault(encoder.fingerprint, OrderedDict())
        for k, v in found.items():
            memo[k] = v
            memo.move_to_end(k)
        while len(memo) > self.memory:
            memo.popitem(last=False)

    def _lookup(self, encoder: Encoder, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        memo = self._memo.get(encoder.fingerprint) if self.memory else None
        if memo:
            for k in keys:
                v = memo.get(k)
                if v is not None:
                    found[k] = v
                    memo.move_to_end(k)
            keys = [k for k in keys if k not in found]
            if not keys:
                return found
        conn = self._conn(encoder)
        if conn is None:
            return found
        from_disk: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        n_bad = 0
        try:
            for start in range(0, len(uniq), 900):
                part = uniq[start : start + 900]
                q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})"
                for k, blob in conn.execute(q, part):
                    v = np.frombuffer(blob, dtype=np.float32) if isinstance(blob, bytes) and len(blob) % 4 == 0 else None
                    if v is None or v.shape != (encoder.dim,) or not np.all(np.isfinite(v)):
                        n_bad += 1  # re-encoded and overwritten
                        continue
                    from_disk[k] = v
        except sqlite3.Error as exc:
            self._disable(str(self.path_for(encoder)), f"cannot read it ({exc})")
            return found
        self._remember(encoder, from_disk)
        found.update(from_disk)
        if n_bad:
            self.warn(f"embedding cache {self.path_for(encoder)}: {n_bad} stored vector(s) had the wrong length or "
                      "were not finite; they are re-encoded")
        return found

    def put(self, encoder: Encoder, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]`` (a failed write warns once and turns writing off)."""
        with self._lock:
            self._put(encoder, keys, vectors)

    def _put(self, encoder: Encoder, keys: Sequence[str], vectors: np.ndarray) -> None:
        if self.memory and len(keys):
            vs = np.asarray(vectors, dtype=np.float32)
            self._remember(encoder, {k: vs[i].copy() for i, k in enumerate(keys)})
        key = str(self.path_for(encoder))
        conn = self._conn(encoder)
        if conn is None or key in self._read_only or not len(keys):
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        try:
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                    ((k, vecs[i].tobytes()) for i, k in enumerate(keys)),
                )
        except sqlite3.Error as exc:
            self._read_only.add(key)
            self.warn(f"embedding cache {key}: cannot write ({exc}); new vectors are not cached for the rest of "
                      "the run (results are the same)")

    # ------------------------------------------------------------------ encoding
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
            raise InputError(f"items[{i}]: {errors[i]}")
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
                errors[i] = item_error(str(exc))
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
        start, size = 0, min(self.chunk_size, 32)  # a small first chunk measures the encoder's rate
        while start < len(miss_idx):
            part = miss_idx[start : start + size]
            t0 = time.perf_counter()
            vecs, errs = encoder.encode_report([items[i] for i in part], batch_size=batch_size, progress=progress)
            rate = len(part) / max(time.perf_counter() - t0, 1e-6)
            out[part] = vecs
            ok = [j for j in range(len(part)) if j not in errs]
            self.put(encoder, [keys[part[j]] for j in ok], vecs[ok])
            errors.update({part[j]: m for j, m in errs.items()})
            self.stats.misses += len(part)
            start += len(part)
            size = int(min(self.chunk_size, max(1, rate * self.commit_seconds / 2)))
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
        with self._lock:
            for conn in self._conns.values():
                if conn is not None:
                    conn.close()
            self._conns.clear()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
