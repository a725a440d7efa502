"""Metrics for classification runs: accuracy, macro-F1, per-class accuracy, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from .calibration import expected_calibration_error

__all__ = ["classification_report", "expected_calibration_error"]


def classification_report(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], proba: np.ndarray | None = None
) -> dict[str, Any]:
    """Metrics of a run.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1`` (over all ``classes``), ``mean_per_class_accuracy``
        (over classes present in ``y_true``), ``per_class_accuracy``, ``n``,
        ``n_classes`` and, with ``proba``, ``ece`` and ``mean_confidence``.
    """
    yt = np.asarray(list(y_true), dtype=object)
    yp = np.asarray(list(y_pred), dtype=object)
    classes = [str(c) for c in classes]
    per_class = {}
    for c in classes:
        m = yt == c
        if m.any():
            per_class[c] = float((yp[m] == c).mean())
    out: dict[str, Any] = {
        "accuracy": float((yt == yp).mean()) if len(yt) else float("nan"),
        "macro_f1": float(f1_score(yt, yp, labels=classes, average="macro", zero_division=0)) if len(yt) else float("nan"),
        "mean_per_class_accuracy": float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        "per_class_accuracy": per_class,
        "n": int(len(yt)),
        "n_classes": len(classes),
    }
    if proba is not None and len(yt):
        index = {c: i for i, c in enumerate(classes)}
        idx = np.asarray([index.get(c, -1) for c in yt])
        out["ece"] = expected_calibration_error(proba, idx)
        out["mean_confidence"] = float(np.asarray(proba).max(axis=1).mean())
    return out
