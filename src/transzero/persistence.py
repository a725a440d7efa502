"""Saved-model folders: JSON config + array files, written atomically, read without running code.

A saved classifier is one folder::

    config.json            {"format": "transzero-classifier", "format_version": 2, ...}
    class_vectors.npy      arrays, each named in config.json by its bare file name
    method.coef_.npy
    encoder.safetensors    (fine-tuned image weights) / encoder/ (a fine-tuned transformers folder)

Each component writes and reads its own part of ``config.json`` through a :class:`ModelFolder`
(encoder: :meth:`Encoder.save_config`; label space and class vectors; method:
:meth:`ZeroShotMethod.save_config`; calibrator). Arrays are ``.npy`` read with
``allow_pickle=False``; every file a load reads is named by a bare file name that must resolve
inside the folder. :func:`write_folder_atomically` builds the folder next to its destination and
renames it into place, so a crash never leaves half a classifier behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SavedModelError

__all__ = ["CONFIG_NAME", "PICKLE_SUFFIXES", "ModelFolder", "json_default", "write_folder_atomically"]

CONFIG_NAME = "config.json"
#: files that unpickle when loaded (they can run code): never read from a saved classifier
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")


def json_default(o: Any) -> Any:
    """``json.dumps(default=)`` for numpy scalars and arrays."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, os.PathLike):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class ModelFolder:
    """A saved-model folder being written or read.

    Parameters
    ----------
    root : path
        The folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ naming
    def path(self, name: str, *, what: str = "file") -> Path:
        """The path of ``name``, a bare file (or sub-folder) name that resolves inside the folder."""
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name \
                or os.path.isabs(name) or "\x00" in name:
            raise SavedModelError(f"{self.root}: config entry {name!r} is not a bare {what} name inside the folder")
        p = self.root / name
        try:
            inside = p.resolve().is_relative_to(self.root.resolve())
        except OSError:
            inside = False
        if not inside:
            raise SavedModelError(f"{self.root}: {name!r} points outside the folder; refusing to read it")
        return p

    def check_tree(self, name: str, *, what: str = "folder") -> Path:
        """A sub-folder whose every file resolves inside this folder and holds no pickle (weights as safetensors)."""
        root = self.path(name, what=what)
        if not root.is_dir():
            raise SavedModelError(f"{self.root}: missing {what} {name!r}; the saved classifier is incomplete, save it again")
        inside = self.root.resolve()
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(self.root)
            if not f.resolve().is_relative_to(inside):
                raise SavedModelError(f"{self.root}: {rel} points outside the folder; refusing to read it")
            if f.is_file() and f.suffix.lower() in PICKLE_SUFFIXES:
                raise SavedModelError(f"{self.root}: {rel} is a pickle file, which is never loaded (it can run code); "
                                      "save the weights as safetensors")
        return root

    # ------------------------------------------------------------------ arrays
    def save_array(self, name: str, array: Any) -> str:
        """Write ``name.npy`` (no pickle); the bare file name to put in the config."""
        fname = f"{name}.npy"
        np.save(self.path(fname), np.asarray(array), allow_pickle=False)
        return fname

    def load_array(self, fname: str) -> np.ndarray:
        """Read an array file named in the config (no pickle; must sit inside the folder)."""
        p = self.path(fname, what="array file")
        if not p.is_file():
            raise SavedModelError(f"{self.root}: missing {fname}; the saved classifier is incomplete, save it again")
        if not fname.endswith(".npy"):
            raise SavedModelError(f"{self.root}: array file {fname!r} is not a .npy file")
        try:
            arr = np.load(p, allow_pickle=False)
        except ValueError as exc:
            why = "it holds Python objects (pickle), which are never loaded" if "pickle" in str(exc) else str(exc)
            raise SavedModelError(f"{self.root}: cannot read {fname}: {why}; save the classifier again") from None
        except Exception as exc:  # a damaged header parses into anything (SyntaxError, EOFError, struct errors...)
            why = " ".join(str(exc).split())[:120]
            raise SavedModelError(f"{self.root}: cannot read {fname} ({type(exc).__name__}: {why}); "
                                  "save the classifier again") from None
        if arr.dtype.kind not in "biuf":
            raise SavedModelError(f"{self.root}: {fname} holds {arr.dtype} values, not numbers; save the classifier again")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise SavedModelError(f"{self.root}: {fname} contains NaN or infinite values; save the classifier again")
        return arr

    # ------------------------------------------------------------------ other files
    def copy_in(self, src: str | os.PathLike[str], name: str) -> str:
        """Copy a file or folder into the folder under ``name``; the bare name for the config."""
        dst = self.path(name)
        src_p = Path(src)
        if src_p.resolve() == dst.resolve():
            return name
        if src_p.is_dir():
            shutil.copytree(src_p, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src_p, dst)
        return name

    # ------------------------------------------------------------------ config
    def write_config(self, config: dict[str, Any]) -> None:
        """Write ``config.json``."""
        (self.root / CONFIG_NAME).write_text(json.dumps(config, indent=2, default=json_default, allow_nan=False))

    def read_config(self, name: str = CONFIG_NAME) -> Any:
        """Parse a JSON file of the folder (one-line errors for a missing or broken file)."""
        if not self.root.exists():
            raise SavedModelError(f"{self.root}: no such folder; check the path of the saved classifier")
        if not self.root.is_dir():
            raise SavedModelError(f"{self.root} is a file, not a saved classifier folder; give the folder "
                                  "`transzero save` wrote")
        if not (self.root / name).is_file():
            raise SavedModelError(f"{str(self.root)!r} is not a saved transzero classifier (no {name})")
        p = self.path(name, what="config file")  # (a link to a file outside the folder is refused, like arrays)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise SavedModelError(f"{p}: {name} is not valid JSON; re-save the classifier") from None


@contextmanager
def write_folder_atomically(path: str | os.PathLike[str], *, marker: str = CONFIG_NAME) -> Iterator[ModelFolder]:
    """Build a folder in a temporary sibling and rename it to ``path`` when the block succeeds.

    An existing ``path`` is replaced only when it holds ``marker`` (it is a saved model) or is
    empty; any other existing folder or file is refused, so a save never deletes unrelated files.
    """
    dst = Path(path)
    if dst.exists():
        if not dst.is_dir():
            raise SavedModelError(f"{dst} is a file; give a folder name to save into")
        if any(dst.iterdir()) and not (dst / marker).is_file():
            raise SavedModelError(f"{dst} is a folder with other files in it; save into a new or empty folder")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise SavedModelError(f"{dst}: folder {parent} does not exist; create it first")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a saved model gets the usual permissions
    try:
        yield ModelFolder(tmp)
        if dst.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".old", dir=parent))
            os.replace(dst, old / "x")
            os.replace(tmp, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
