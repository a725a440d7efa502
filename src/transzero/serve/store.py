"""The server's classifier folder: one saved classifier per name, plus the studio's state beside it.

``<store>/<name>/`` is an ordinary saved classifier (``transzero classify --model <store>/<name>`` uses it) with
one more file, ``studio.json``: the labels as given, the encoder and method names, the labelled examples, the
unlabelled pool and the accuracy history. Both are written in one atomic step. Names are checked, so no request
can name a path outside the store.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..classifier import ZeroShotClassifier
from ..errors import InputError, SavedModelError

__all__ = ["ClassifierStore", "StudioState", "check_name", "default_store"]

STATE_FILE = "studio.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    (:data:`transzero.active.POLICIES`).
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
    state, so a request that fails half-way cannot leave memory and disk apart.
    """

    def __init__(self, root: str | Path, cache: Any = None) -> None:
        self.root = Path(root).expanduser()
        self.cache = cache
        self._loaded: dict[str, tuple[float, ZeroShotClassifier, StudioState | None]] = {}
        self._lock = threading.RLock()

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name)
                      and (p / "config.json").is_file())

    def exists(self, name: str) -> bool:
        return (self.path(name) / "config.json").is_file()

    def get(self, name: str, **load_kwargs: Any) -> tuple[ZeroShotClassifier, StudioState | None]:
        """The classifier saved as ``name`` and its studio state (None for a folder saved elsewhere)."""
        p = self.path(name)
        cfg = p / "config.json"
        if not cfg.is_file():
            raise KeyError(name)
        mtime = cfg.stat().st_mtime_ns
        with self._lock:
            hit = self._loaded.get(name)
            if hit is None or hit[0] != mtime:
                clf = ZeroShotClassifier.load(p, cache=self.cache or False, **load_kwargs)
                state = StudioState.from_json((p / STATE_FILE).read_bytes(), f"STORE/{name}") if (p / STATE_FILE).is_file() else None
                hit = self._loaded[name] = (mtime, clf, state)
            return hit[1], None if hit[2] is None else hit[2].copy()

    def put(self, name: str, clf: ZeroShotClassifier, state: StudioState) -> None:
        """Save ``clf`` with its state under ``name`` (atomically: the old one stays whole until the new one is)."""
        p = self.path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        data = state.to_json()  # before anything is written: a state that cannot be saved changes nothing
        with self._lock:
            clf.save(p, extras={STATE_FILE: data})
            self._loaded[name] = ((p / "config.json").stat().st_mtime_ns, clf, state.copy())

    def delete(self, name: str) -> None:
        p = self.path(name)
        if not (p / "config.json").is_file():
            raise KeyError(name)
        with self._lock:
            self._loaded.pop(name, None)
            shutil.rmtree(p)
