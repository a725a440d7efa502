"""The server's classifier folder: one saved classifier per name, plus the studio's state beside it.

``<store>/<name>`` is an ordinary saved classifier (``transzero classify --model <store>/<name>`` uses it) with
one more file, ``studio.json``: the labels as given, the encoder and method names, the labelled examples, the
unlabelled pool, the accuracy history and a ``version`` number. Names are checked, so no request can name a path
outside the store.

**Versions.** ``<store>/<name>`` is a symbolic link to its current version, the folder ``<store>/.<name>.v<N>``. A
write saves version N+1 whole beside the current one and then swaps the link in one atomic rename; the previous
version is kept (a reader may still be loading it) and older ones are removed. So a reader never sees half a
write, a process killed at any point leaves the current version whole, and every process (a service replica on
this machine or another one sharing the folder) notices a write on its next read by reading the link alone.

**Writers.** Every write to a name holds that name's lock file, ``<store>/.locks/<name>.lock`` (an exclusive
``flock``), from the moment it reads the state it changes until the new version is in place, so writes from
different processes never lose each other's updates. The lock dies with its process.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..classifier import ZeroShotClassifier
from ..errors import InputError, SavedModelError
from ..locks import FileLock

__all__ = ["ClassifierStore", "StudioState", "check_name", "default_store"]

STATE_FILE = "studio.json"
LOCKS = ".locks"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


#: the names whose write lock the running code holds (a context variable: ``asyncio.to_thread`` carries it along)
_HELD: ContextVar[frozenset[str]] = ContextVar("transzero_store_writing", default=frozenset())


def _versions(name: str) -> re.Pattern[str]:
    """The folder names of ``name``'s versions: ``.<name>.v<N>`` (N has at least 6 digits)."""
    return re.compile(rf"^\.{re.escape(name)}\.v(\d{{6,}})$")


def version_folder(name: str, n: int) -> str:
    return f".{name}.v{n:06d}"


def check_name(name: str) -> str:
    """A classifier name: letters, digits, ``.``, ``_``, ``-``, at most 64, not starting with a dot or dash."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"classifier name {name!r} must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
                         "letter or digit)")
    return name


def default_store() -> Path:
    """``$TRANSZERO_STORE`` or ``$XDG_DATA_HOME/transzero/classifiers`` (``~/.local/share/...``)."""
    import os

    env = os.environ.get("TRANSZERO_STORE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "transzero" / "classifiers"


@dataclass
class StudioState:
    """What a stored classifier was made from, so it can be refitted and improved.

    ``examples`` are ``{"item", "label"}`` (texts as they are; images and audio as base64); ``pool`` holds
    unlabelled items to choose the next ones to label from; ``history`` is ``[n_labels, cv_accuracy]`` rows;
    ``session`` is the labelling session in order (``item``, ``label``, ``time``: ISO 8601, ``predicted`` and
    ``confidence``: the classifier's guess when the label was given); ``policy`` how the next item is chosen
    (:data:`transzero.active.POLICIES`); ``version`` counts the writes (see the module docstring).
    """

    labels: Any
    modality: str = "text"
    encoder: str | None = None
    method: str | None = None
    examples: list[dict[str, str]] = field(default_factory=list)
    pool: list[str] = field(default_factory=list)
    history: list[list[float]] = field(default_factory=list)
    zero_shot_accuracy: float | None = None
    session: list[dict[str, Any]] = field(default_factory=list)
    policy: str = "diverse"
    #: the store's version number of this state (each write adds one; :meth:`ClassifierStore.put` sets it)
    version: int = 0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=False).encode("utf-8")

    def copy(self) -> StudioState:
        """A copy whose lists can be changed without touching this state (items themselves are immutable)."""
        return replace(self, labels=copy.deepcopy(self.labels), examples=[dict(e) for e in self.examples],
                       pool=list(self.pool), history=[list(h) for h in self.history],
                       session=[dict(e) for e in self.session])

    @classmethod
    def from_json(cls, data: bytes, where: str) -> StudioState:
        try:
            raw = json.loads(data)
            state = cls(**raw)
            state.check()
            return state
        except (ValueError, TypeError) as exc:
            raise SavedModelError(f"{where}: {STATE_FILE} is broken ({exc}); PUT the classifier again") from None

    def check(self) -> None:
        """The types the studio relies on (``studio.json`` is read like any untrusted file); ValueError if not."""
        from ..active import POLICIES

        if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 0:
            raise ValueError("version must be a whole number >= 0")
        if self.policy not in POLICIES:
            raise ValueError(f"policy {self.policy!r} is not one of {', '.join(POLICIES)}")
        for name, rows in (("examples", self.examples), ("session", self.session)):
            if not isinstance(rows, list) or not all(
                    isinstance(r, dict) and isinstance(r.get("item"), str) and isinstance(r.get("label"), str)
                    for r in rows):
                raise ValueError(f"{name} must be a list of {{item, label}} objects")
        if not isinstance(self.pool, list) or not all(isinstance(p, str) for p in self.pool):
            raise ValueError("pool must be a list of strings")


class ClassifierStore:
    """Saved classifiers under ``root``, loaded with every check of :meth:`ZeroShotClassifier.load` and kept in memory.

    The memory copy changes only after the disk does (:meth:`put`), and :meth:`get` hands out copies of the studio
    state, so a request that fails half-way cannot leave memory and disk apart. :meth:`get` reloads a classifier
    whenever its current version changed, whoever wrote it. :meth:`put` and :meth:`delete` hold the name's write
    lock; a read-change-write holds it around all three steps with :meth:`writing` or :meth:`writing_async`.

    Parameters
    ----------
    root : path
        The store folder (created on the first write). Several processes may share it.
    cache : EmbeddingCache, optional
        Given to every loaded classifier.
    lock_timeout : float
        Seconds a write waits for another process's write to the same name before it gives up.
    """

    def __init__(self, root: str | Path, cache: Any = None, lock_timeout: float = 120.0) -> None:
        self.root = Path(root).expanduser()
        self.cache = cache
        self.lock_timeout = lock_timeout
        self._loaded: dict[str, tuple[Any, ZeroShotClassifier, StudioState | None]] = {}
        self._lock = threading.RLock()
        self._locals: dict[str, threading.Lock] = {}

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if _NAME.match(p.name) and p.is_dir()
                      and (p / "config.json").is_file())

    def exists(self, name: str) -> bool:
        return (self.path(name) / "config.json").is_file()

    # ------------------------------------------------------------------ versions
    def _current(self, name: str) -> tuple[Path, Any, int]:
        """The folder of ``name``'s current version, a key that changes with every write, and the version number
        (0 for a folder written before versions); KeyError when there is none."""
        p = self.path(name)
        try:
            target = os.readlink(p)
        except FileNotFoundError:
            raise KeyError(name) from None
        except OSError:  # not a link: a plain folder (an older store, or saved there by hand)
            cfg = p / "config.json"
            if not cfg.is_file():
                raise KeyError(name) from None
            st = cfg.stat()
            return p, ("folder", st.st_ino, st.st_mtime_ns, st.st_size), 0
        m = _versions(name).match(target)
        if m is None:  # (the link is untrusted like every file: it must name a version folder beside it)
            raise SavedModelError(f"STORE/{name} links to {target!r}, which is not one of its versions; delete it "
                                  "and PUT the classifier again")
        folder = self.root / target
        if not (folder / "config.json").is_file():
            raise KeyError(name)
        return folder, target, int(m.group(1))

    def version(self, name: str) -> int:
        """``name``'s current version number (KeyError when it does not exist)."""
        return self._current(name)[2]

    def get(self, name: str, **load_kwargs: Any) -> tuple[ZeroShotClassifier, StudioState | None]:
        """The classifier saved as ``name`` and its studio state (None for a folder saved elsewhere), reloaded when
        another writer changed it since this process last read it."""
        with self._lock:
            for attempt in range(3):
                folder, key, _ = self._current(name)
                hit = self._loaded.get(name)
                if hit is not None and hit[0] == key:
                    break
                try:
                    clf = ZeroShotClassifier.load(folder, cache=self.cache or False, **load_kwargs)
                    state = StudioState.from_json((folder / STATE_FILE).read_bytes(), f"STORE/{name}") \
                        if (folder / STATE_FILE).is_file() else None
                except (SavedModelError, OSError):
                    # a version two writes old is removed while it is read: read the current one again
                    if attempt < 2 and self._current(name)[1] != key:
                        continue
                    raise
                hit = self._loaded[name] = (key, clf, state)
                break
            assert hit is not None
            return hit[1], None if hit[2] is None else hit[2].copy()

    # ------------------------------------------------------------------ writes
    def _local(self, name: str) -> threading.Lock:
        with self._lock:
            lock = self._locals.get(name)
            if lock is None:
                lock = self._locals[name] = threading.Lock()
            return lock

    def _file_lock(self, name: str) -> FileLock:
        folder = self.root / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(folder / f"{check_name(name)}.lock")

    def _busy(self, name: str) -> InputError:
        return InputError(f"classifier {name!r} is being changed by another request for over "
                          f"{self.lock_timeout:g} s; try again")

    @contextmanager
    def writing(self, name: str) -> Iterator[None]:
        """Hold ``name``'s write lock for the block: this process's threads and every other process wait (the
        block's own calls of :meth:`put` and :meth:`delete` - threads it starts with ``asyncio.to_thread`` too -
        work under it)."""
        if name in _HELD.get():
            yield
            return
        local = self._local(name)
        if not local.acquire(timeout=self.lock_timeout):
            raise self._busy(name)
        try:
            lock = self._file_lock(name)
            lock.acquire(self.lock_timeout)
        except TimeoutError:
            local.release()
            raise self._busy(name) from None
        except BaseException:
            local.release()
            raise
        with self._holding(name, lock, local):
            yield

    @asynccontextmanager
    async def writing_async(self, name: str) -> AsyncIterator[None]:
        """:meth:`writing` for a coroutine: waits without blocking the event loop (and can be cancelled)."""
        if name in _HELD.get():
            yield
            return
        local, lock = self._local(name), self._file_lock(name)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            if local.acquire(blocking=False):
                try:
                    got = lock.try_acquire()
                except BaseException:
                    local.release()
                    raise
                if got:
                    break
                local.release()
            if time.monotonic() >= deadline:
                raise self._busy(name)
            await asyncio.sleep(0.01)
        with self._holding(name, lock, local):
            yield

    @staticmethod
    @contextmanager
    def _holding(name: str, lock: FileLock, local: threading.Lock) -> Iterator[None]:
        """The block runs holding ``name``'s two locks (taken by the caller; released after it)."""
        token = _HELD.set(_HELD.get() | {name})
        try:
            yield
        finally:
            _HELD.reset(token)
            lock.release()
            local.release()

    def put(self, name: str, clf: ZeroShotClassifier, state: StudioState) -> None:
        """Save ``clf`` with its state as ``name``'s next version (atomically: readers see the old version until the
        new one is whole); ``state.version`` is set to it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.writing(name):
            p = self.path(name)
            try:
                _, _, current = self._current(name)
            except KeyError:
                current = 0
            new = current + 1
            state.version = new
            data = state.to_json()  # before anything is written: a state that cannot be saved changes nothing
            self._clean(name, keep={current})
            folder = self.root / version_folder(name, new)
            clf.save(folder, extras={STATE_FILE: data})
            link = self.root / f".{name}.link-{uuid.uuid4().hex[:8]}"
            os.symlink(folder.name, link)
            try:
                if p.is_dir() and not p.is_symlink():  # an older store's plain folder becomes version `current`
                    os.replace(p, self.root / version_folder(name, current))
                os.replace(link, p)
            except BaseException:
                link.unlink(missing_ok=True)
                raise
            with self._lock:
                self._loaded[name] = (folder.name, clf, state.copy())
            self._clean(name, keep={current, new})

    def delete(self, name: str) -> None:
        p = self.path(name)
        with self.writing(name):
            if not (p / "config.json").is_file():
                raise KeyError(name)
            with self._lock:
                self._loaded.pop(name, None)
            if p.is_symlink():
                p.unlink()  # gone for every reader at once; the versions follow
                self._clean(name, keep=set())
            else:
                shutil.rmtree(p)

    def _clean(self, name: str, keep: set[int]) -> None:
        """Remove ``name``'s versions other than ``keep`` and what killed writers left (under its write lock)."""
        if not self.root.is_dir():
            return
        versions = _versions(name)
        leftovers = re.compile(rf"^\.(\.{re.escape(name)}\.v\d{{6,}}\.[^/]*\.(tmp|old)|{re.escape(name)}\.link-[0-9a-f]{{8}})$")
        for entry in self.root.iterdir():
            m = versions.match(entry.name)
            if m is not None and int(m.group(1)) not in keep and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            elif leftovers.match(entry.name):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
