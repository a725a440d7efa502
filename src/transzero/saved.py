"""Load any saved classifier: single-task (:class:`ZeroShotClassifier`) or multi-task (:class:`MultiTaskClassifier`)."""

from __future__ import annotations

import os
from typing import Any

from .classifier import ZeroShotClassifier
from .saved_format import read_classifier_config
from .multitask import MultiTaskClassifier
from .persistence import ModelFolder

__all__ = ["load_classifier"]


def load_classifier(path: str | os.PathLike[str], **kwargs: Any) -> ZeroShotClassifier | MultiTaskClassifier:
    """Read a folder written by ``save()``: the kind of classifier is in its ``config.json``.

    Keyword arguments go to :meth:`ZeroShotClassifier.load` (``encoder=``, ``cache=``) or
    :meth:`MultiTaskClassifier.load` (``cache=``).
    """
    folder = ModelFolder(path)
    if (folder.root / "multitask.json").is_file() and not (folder.root / "config.json").is_file():
        return MultiTaskClassifier.load(path, **kwargs)  # transzero 0.1's multitask folders
    if read_classifier_config(folder).get("kind") == "multitask":
        return MultiTaskClassifier.load(path, **kwargs)
    return ZeroShotClassifier.load(path, **kwargs)
