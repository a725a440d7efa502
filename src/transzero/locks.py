"""Locks between processes: :class:`FolderLock` on an output folder, so two jobs never write one folder at once,
and :class:`FileLock`, a plain exclusive lock that waits (the service's stored classifiers take one per name, so
replicas on several processes or machines never lose each other's writes).

The lock is a file in the folder (``.transzero.lock``) holding the holder's pid, host, start time and
command, and held with an advisory ``flock`` for as long as the job runs. The kernel drops a ``flock`` when its
process dies (``kill -9`` included), so a lock file left behind by a dead job is *stale*: the next job takes it
over, saying whose it was. A live holder makes a second job stop with one line naming it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["LOCK_NAME", "FileLock", "FolderLock"]

LOCK_NAME = ".transzero.lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class FolderLock:
    """An exclusive lock on ``folder`` for one job; use as a context manager or call :meth:`acquire` /
    :meth:`release`.

    Parameters
    ----------
    folder : path
        The folder the job writes (it must exist).
    warn : callable, optional
        Called with one line when a stale lock of a dead job is taken over.
    """

    def __init__(self, folder: str | os.PathLike[str], warn: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.warn = warn or (lambda m: None)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> FolderLock:
        """Take the lock, or raise :class:`~transzero.errors.InputError` naming the job that holds it."""
        if self._fd is not None:
            return self
        for _ in range(20):  # (retried only when the holder released and removed the file between open and lock)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            except OSError as exc:
                raise InputError(f"{self.folder}: cannot create the lock file {LOCK_NAME} ({exc.strerror or exc}); "
                                 "the output folder must be writable") from None
            if not self._lock(fd):
                holder = _describe(_read(fd))
                os.close(fd)
                raise InputError(f"{self.folder} is being written by another transzero job ({holder}); wait for it "
                                 "to finish, or choose another output folder")
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path, follow_symlinks=False).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the file we locked was removed by a holder that just finished: lock the new one
                os.close(fd)
                continue
            old = _read(fd)
            if old:
                self.warn(f"{self.folder}: taking over the lock of a job that is no longer running ({_describe(old)})")
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "command": " ".join(sys.argv[:8])[:300]}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            self._fd = fd
            return self
        raise InputError(f"{self.folder}: could not take the lock {LOCK_NAME}; another job keeps replacing it")

    def release(self) -> None:
        """Remove the lock file and drop the lock (nothing happens when it is not held)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # (a read-only folder now: the flock still goes, and a stale file is taken over next time)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    @staticmethod
    def _lock(fd: int) -> bool:
        if fcntl is None:  # pragma: no cover - no flock: an existing non-empty lock file counts as held
            return not _read(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


class FileLock:
    """An exclusive advisory lock on ``path`` (created when missing, never removed), held by this object.

    Unlike :class:`FolderLock` it waits for the holder: :meth:`try_acquire` never blocks (so an event loop can poll
    it), :meth:`acquire` polls until ``timeout``. The lock is ``flock`` on a file descriptor of its own, so two
    objects conflict even within one process; the kernel drops it when the process dies (``kill -9`` included).
    On NFS, Linux maps ``flock`` to POSIX byte-range locks, which hold between machines when the mount has locking
    (``lockd``/NFSv4), but not between two objects of one process - callers serialise those themselves.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free (True), or return False at once."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        if fcntl is None:  # pragma: no cover - no flock (Windows): within one process only
            self._fd = fd
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, timeout: float = 60.0, poll: float = 0.01) -> FileLock:
        """Wait until the lock is taken; :class:`TimeoutError` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.path}: still locked after {timeout:g} s")
            time.sleep(poll)
        return self

    def release(self) -> None:
        """Drop the lock (the file stays; nothing happens when it is not held)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (ValueError, OSError):
        return {"unreadable": True}
    return data if isinstance(data, dict) else {"unreadable": True}


def _describe(info: dict[str, Any]) -> str:
    if not info or info.get("unreadable"):
        return "holder unknown"
    parts = [f"pid {info.get('pid')}", f"host {info.get('host')}"]
    if info.get("started"):
        parts.append(f"since {info['started']}")
    if info.get("command"):
        parts.append(f"command: {str(info['command'])[:120]}")
    return ", ".join(parts)
