"""Sharded outputs that resume: ``part-NNNNN.<format>`` files plus ``_manifest.json`` in one folder.

Each shard covers a fixed range of input items (shard ``i``: items ``[i*S, (i+1)*S)``), is written atomically, and
is listed in the manifest with its row range, counts and SHA-256 once it is complete. The manifest names the job
(a digest of everything that changes the output) and is rewritten atomically after each shard, so a rerun of the
same job skips what is finished and verified, recomputes what is missing or damaged (with a warning naming it),
and refuses to mix with shards of another job unless told to start over.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError
from .formats import shard_formats
from .io import atomic_path, write_records
from .locks import FolderLock

__all__ = ["FORMATS", "MANIFEST", "ShardManifest", "check_manifest", "is_shard_output", "shard_file", "write_shard", "write_table"]

MANIFEST = "_manifest.json"
if TYPE_CHECKING:
    FORMATS: tuple[str, ...]  # (module __getattr__ below)


def __getattr__(name: str) -> Any:
    # FORMATS: the registered formats a shard folder (--format) and embed may use, in registration order
    # (parquet, csv, jsonl, arrow, ...; transzero.formats)
    if name == "FORMATS":
        return shard_formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_part(name: str) -> bool:
    """A shard file of the folder: ``part-NNNNN.<format>`` for a registered shard format."""
    m = re.fullmatch(r"part-\d{5}\.([a-z0-9]+)", name)
    return m is not None and m.group(1) in shard_formats()


def is_shard_output(path: str | os.PathLike[str] | None, fmt: str | None = None, shard_size: int | None = None) -> bool:
    """``-o`` names a shard folder when ``--format`` or ``--shard-size`` is given, or the path ends in ``/``, has no
    suffix, or is an existing folder; ``-o FILE.csv`` stays a single file."""
    if path is None or str(path) == "-":
        return False
    s = str(path)
    p = Path(s)
    return bool(fmt or shard_size or s.endswith(("/", os.sep)) or not p.suffix or p.is_dir())


def shard_file(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{fmt}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_shard(folder: Path, index: int, fmt: str, records: list[dict[str, Any]], classes: Sequence[str],
                vectors: np.ndarray | None = None) -> tuple[str, str, int]:
    """Write one shard atomically; ``(file name, sha256, bytes)``.

    Columns are today's CSV output's (``row``, [``id``], ``text``, ``label``, ``confidence``, ``error``,
    ``p:<class>``...); with ``vectors`` (``embed``), a ``vector`` column (a fixed-size list of float32 in Parquet).
    A full disk is one line naming the shard; the shards written before it stay.
    """
    name = shard_file(index, fmt)
    path = folder / name
    try:
        write_table(path, fmt, records, classes, vectors)
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise InputError(f"{folder}: the disk is full while writing {name}; the {index} finished shard(s) are "
                             "kept - free space and run the same command again to resume") from None
        raise InputError(f"{folder}: cannot write {name} ({exc.strerror or exc}); finished shards are kept") from None
    return name, _sha256(path), path.stat().st_size


def write_table(path: Path, fmt: str, records: list[dict[str, Any]], classes: Sequence[str],
                vectors: np.ndarray | None = None) -> None:
    """One output file of ``records`` (and ``vectors``) in ``fmt`` (a registered shard format: parquet, csv, jsonl,
    arrow, ...), written atomically by the format's writer."""
    write_records(path, fmt, records, classes, vectors)


class ShardEntry(BaseModel):
    """One finished shard in ``_manifest.json`` (validated: the manifest is untrusted input)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    index: int = Field(ge=0, le=99_999)
    file: str
    rows: list[int] = Field(min_length=2, max_length=2)
    n_items: int = Field(ge=0)
    n_bad: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class ManifestModel(BaseModel):
    """What ``_manifest.json`` must hold before any of it is used."""

    model_config = ConfigDict(extra="ignore", strict=True)
    format: Literal["transzero-shards"]
    format_version: Literal[1]
    kind: str
    job_key: str
    job: dict[str, Any]
    output_format: str
    shard_size: int = Field(gt=0)
    status: Literal["running", "done"]
    shards: dict[str, ShardEntry]

    @field_validator("output_format")
    @classmethod
    def _a_shard_format(cls, v: str) -> str:
        allowed = shard_formats()
        if v not in allowed:
            names = [repr(f) for f in allowed]
            raise ValueError(f"Input should be {', '.join(names[:-1])} or {names[-1]}" if len(names) > 1
                             else f"Input should be {names[0]}")
        return v

    @model_validator(mode="after")
    def _entries_name_their_own_part(self) -> ManifestModel:
        for key, e in self.shards.items():
            if key != str(e.index):
                raise ValueError(f"shards.{key}: the entry says index {e.index}")
            want = shard_file(e.index, self.output_format)
            if e.file != want:
                raise ValueError(f"shards.{key}.file: {e.file[:80]!r} is not {want!r} (a shard's own file in the folder)")
        return self


def check_manifest(data: Any) -> str | None:
    """The first problem of a parsed ``_manifest.json`` as one line (``shards.3.sha256: ...``); None when valid."""
    try:
        ManifestModel.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        msg = str(e["msg"]).removeprefix("Value error, ")
        where = ".".join(str(x) for x in e["loc"])
        return f"{where}: {msg}" if where else msg
    return None


class ShardManifest:
    """``_manifest.json`` of a shard folder: the job it belongs to, and every finished shard.

    Opening one takes the folder's lock (:class:`~transzero.locks.FolderLock`) until :meth:`close`; the manifest
    is validated before it is used, and no file is ever deleted unless it is a ``part-NNNNN.<fmt>`` file of the
    folder itself.
    """

    def __init__(self, folder: Path, data: dict[str, Any], warn: Callable[[str], None],
                 lock: FolderLock | None = None) -> None:
        self.folder = folder
        self.data = data
        self.warn = warn
        self.lock = lock
        self._saved = len(data.get("shards", {}))  # finished shards the manifest on disk lists

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, kind: str, job: dict[str, Any], fmt: str, shard_size: int,
             overwrite: bool = False, warn: Callable[[str], None] | None = None) -> ShardManifest:
        """The manifest of ``folder`` for this ``job`` (created; or resumed when the job is the same).

        A folder holding another job's shards, or a damaged manifest, is refused unless ``overwrite`` (which
        deletes only shard files and the manifest); a non-empty folder that is not a shard folder is refused; a
        folder another running job writes is refused, naming that job.
        """
        folder = Path(folder)
        warn = warn or (lambda m: None)
        key = hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()[:32]
        if folder.exists() and not folder.is_dir():
            raise InputError(f"-o {folder} is a file; give a folder for sharded output (or a file name with a suffix)")
        if not folder.parent.is_dir():
            raise InputError(f"-o {folder}: folder {folder.parent} does not exist; create it first")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"-o {folder}: cannot create the folder ({exc.strerror or exc})") from None
        lock = FolderLock(folder, warn).acquire()
        try:
            return cls._open_locked(folder, key, kind, job, fmt, shard_size, overwrite, warn, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, folder: Path, key: str, kind: str, job: dict[str, Any], fmt: str, shard_size: int,
                     overwrite: bool, warn: Callable[[str], None], lock: FolderLock) -> ShardManifest:
        path = folder / MANIFEST
        ours = [p for p in folder.iterdir() if _is_part(p.name) or p.name == MANIFEST]
        others = [p for p in folder.iterdir() if p not in ours and not p.name.startswith(".")]
        if path.is_file() or path.is_symlink():
            old, problem = _read_manifest(path)
            if problem is None and old["job_key"] == key and not overwrite:
                return cls(folder, old, warn, lock)
            if not overwrite:
                if problem is not None:
                    raise InputError(f"{path}: not a valid shard manifest ({problem}); pass --overwrite to start over "
                                     "(only part-NNNNN files and the manifest are deleted), or choose another folder")
                diff = _differs(old.get("job", {}), job)
                raise InputError(f"{folder} holds shards of another job ({diff} differ); pass --overwrite to start "
                                 "over, or choose another folder")
        elif others and not overwrite:
            raise InputError(f"{folder} is not empty and has no {MANIFEST}; choose a new folder for sharded output")
        elif ours and not overwrite:
            raise InputError(f"{folder} has shard files but no {MANIFEST}; pass --overwrite to start over")
        for p in ours:
            p.unlink()
        data = {"format": "transzero-shards", "format_version": 1, "kind": kind, "job_key": key, "job": job,
                "output_format": fmt, "shard_size": shard_size, "status": "running", "shards": {}, "classes": None,
                "created": _now(), "updated": _now()}
        m = cls(folder, data, warn, lock)
        m.save()
        return m

    def close(self) -> None:
        """Release the folder's lock (the manifest stays)."""
        if self.lock is not None:
            self.lock.release()

    def save(self) -> None:
        """Rewrite the manifest atomically; a full disk or another write error is one line, and the shards stay."""
        self.data["updated"] = _now()
        try:
            with atomic_path(self.folder / MANIFEST) as tmp:
                tmp.write_text(json.dumps(self.data, indent=1, default=str, allow_nan=False))
            self._saved = len(self.data["shards"])
        except OSError as exc:
            done = self._saved
            why = "the disk is full" if exc.errno == errno.ENOSPC else f"cannot write it ({exc.strerror or exc})"
            raise InputError(f"{self.folder / MANIFEST}: {why}; the {done} finished shard(s) are kept - fix that and "
                             "run the same command again to resume") from None

    def verified(self) -> set[int]:
        """Indices of the finished shards whose files are there and unchanged (the others are dropped, with a
        warning naming them, and will be recomputed)."""
        out = set()
        for key, e in list(self.data["shards"].items()):
            path = self.folder / e["file"]  # (validated: part-NNNNN.<fmt>, a bare name)
            if path.is_symlink() or (path.exists() and not path.is_file()):
                self.warn(f"{path.name} is not a plain file; recomputing it")
            elif not path.is_file():
                self.warn(f"{path.name} is missing; recomputing it")
            elif _sha256(path) != e["sha256"]:
                self.warn(f"{path.name} was changed or damaged (checksum differs); recomputing it")
            else:
                out.add(int(key))
                continue
            del self.data["shards"][key]
        self.save()
        return out

    def reusable(self, index: int, first_row: int, last_row: int) -> dict[str, Any] | None:
        """The entry of a finished shard (checked by :meth:`verified`) that covers these rows; None otherwise."""
        e = self.data["shards"].get(str(index))
        if e is None:
            return None
        if e.get("rows") == [first_row, last_row]:
            return e
        self.warn(f"{e['file']} covered rows {e.get('rows')} but the input now gives {[first_row, last_row]}; "
                  "recomputing it")
        del self.data["shards"][str(index)]
        self.save()
        return None

    def record(self, index: int, entry: dict[str, Any]) -> None:
        """A shard is finished: list it, stamped with ``finished_at`` (Unix seconds; per-shard rates come from
        these), and rewrite the manifest atomically."""
        self.data["shards"][str(index)] = {**entry, "finished_at": round(time.time(), 3)}
        self.save()

    def finish(self, n_shards: int, summary: dict[str, Any]) -> None:
        stale = [k for k in self.data["shards"] if int(k) >= n_shards]
        for k in stale:  # (an input that shrank since the last run): only the folder's own part files go
            name = str(self.data["shards"].pop(k)["file"])
            if _is_part(name):
                (self.folder / name).unlink(missing_ok=True)
        self.data["status"] = "done"
        self.data["summary"] = summary
        self.save()


def _read_manifest(path: Path) -> tuple[dict[str, Any], str | None]:
    """A manifest file's data and its first problem (None when it is a valid manifest)."""
    if path.is_symlink():
        return {}, "it is a symbolic link"
    try:
        with path.open("rb") as f:
            raw = f.read(64 << 20)
        data = json.loads(raw)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        return {}, f"unreadable JSON ({str(exc)[:80]})"
    problem = check_manifest(data)
    return (data if isinstance(data, dict) else {}), problem


def _differs(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(keys) if keys else "the manifests"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

