"""Decisions on top of probabilities: "none of these" (open set) and multi-label.

Open set
    An item is rejected -- labelled ``none_label`` -- when its rejection score is below a
    threshold. The score is the maximum probability (``"max_proba"``) or the maximum logit
    (``"max_logit"``; for cosine-similarity methods, the best class similarity). The
    threshold is given (a probability in [0, 1] for ``max_proba``), or set from a target
    false-rejection rate on labelled in-scope examples (:func:`threshold_for_frr`).

Multi-label
    Each label is decided on its own. Its score is ``p_k / (p_k + mean_{j != k} p_j)``: the
    odds of label k against the average other label, in [0, 1], 0.5 when label k is as
    likely as a typical other one. Labels over their threshold (0.5 by default, or one per
    label fitted for F1 on labelled multi-label examples) are all returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "Decisions",
    "check_threshold",
    "decide",
    "fit_label_thresholds",
    "label_thresholds",
    "multilabel_scores",
    "open_set_report",
    "rejection_scores",
    "threshold_for_frr",
]


@dataclass
class Decisions:
    """What a batch of probabilities decides.

    Attributes
    ----------
    labels : list of str
        Per item: the most probable class, or ``none_label`` when rejected.
    argmax_labels : list of str
        Per item: the most probable class (before rejection).
    scores : ndarray (N,), optional
        Rejection scores (higher = more in scope), when rejecting.
    threshold : float, optional
        The rejection threshold used.
    multi_labels : list of list of str, optional
        Per item, every label over its multi-label threshold.
    """

    labels: list[str]
    argmax_labels: list[str]
    scores: np.ndarray | None = None
    threshold: float | None = None
    multi_labels: list[list[str]] | None = None


def decide(
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    logits: np.ndarray | None = None,
    reject: float | None = None,
    reject_score: str = "max_proba",
    none_label: str = "none",
    multi_label: float | Sequence[float] | None = None,
) -> Decisions:
    """Labels from probabilities ``(N, K)``: argmax, "none of these" under ``reject``, multi-label sets."""
    P = np.asarray(proba, dtype=np.float64)
    names = [str(c) for c in classes]
    best = [names[k] for k in np.argmax(P, axis=1)] if len(P) else []
    out = Decisions(list(best), list(best))
    if reject is not None:
        out.threshold = check_threshold(reject, reject_score)
        out.scores = rejection_scores(P, logits, reject_score) if len(P) else np.zeros(0)
        out.labels = [none_label if s < out.threshold else lab for lab, s in zip(best, out.scores)]
    if multi_label is not None:
        th = label_thresholds(multi_label, len(names))
        S = multilabel_scores(P) if len(P) else np.zeros((0, len(names)))
        out.multi_labels = [[names[k] for k in np.flatnonzero(row >= th)] for row in S]
    return out


def rejection_scores(proba: np.ndarray, logits: np.ndarray | None = None, kind: str = "max_proba") -> np.ndarray:
    """Higher = more in-scope: the maximum probability or the maximum logit of each item."""
    if kind == "max_proba":
        return np.asarray(proba, dtype=np.float64).max(axis=1)
    if kind == "max_logit":
        if logits is None:
            raise InputError("max_logit rejection needs the logits")
        return np.asarray(logits, dtype=np.float64).max(axis=1)
    raise InputError(f"unknown rejection score {kind!r}; use max_proba or max_logit")


def check_threshold(threshold: float, kind: str = "max_proba") -> float:
    """A usable threshold: a finite number, in [0, 1] for probability scores."""
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold must be a number, got {threshold!r}") from None
    if not np.isfinite(t):
        raise InputError(f"threshold must be finite, got {threshold!r}")
    if kind == "max_proba" and not 0.0 <= t <= 1.0:
        raise InputError(f"threshold {t} is outside [0, 1]; a probability threshold must lie in [0, 1]")
    return t


def label_thresholds(threshold: float | Sequence[float], n_labels: int) -> np.ndarray:
    """One checked threshold in [0, 1] per label, from a single number or one per label."""
    values = np.broadcast_to(np.asarray(threshold, dtype=object), (n_labels,))
    return np.asarray([check_threshold(t) for t in values], dtype=np.float64)


def threshold_for_frr(in_scope_scores: np.ndarray, frr: float = 0.05) -> float:
    """The threshold that rejects a fraction ``frr`` of labelled in-scope examples (scores below it are rejected)."""
    s = np.sort(np.asarray(in_scope_scores, dtype=np.float64))
    if not len(s):
        raise InputError("setting a rejection threshold from a false-rejection rate needs in-scope examples")
    if not 0.0 <= frr < 1.0:
        raise InputError(f"target false-rejection rate must be in [0, 1), got {frr}")
    return float(s[int(np.floor(frr * len(s)))])  # scores strictly below are rejected


def open_set_report(
    y_true: Sequence[str], y_pred: Sequence[str], scores: np.ndarray, classes: Sequence[str], none_label: str = "none"
) -> dict[str, Any]:
    """In-scope accuracy (rejections count as errors), out-of-scope recall, and AUROC of the rejection score.

    Items whose gold label is not among ``classes`` are out of scope.
    """
    from sklearn.metrics import roc_auc_score

    known = set(classes)
    yt = np.asarray([str(v) for v in y_true], dtype=object)
    yp = np.asarray([str(v) for v in y_pred], dtype=object)
    oos = np.asarray([v not in known for v in yt])
    out: dict[str, Any] = {"n_in_scope": int((~oos).sum()), "n_out_of_scope": int(oos.sum())}
    out["in_scope_accuracy"] = float(np.mean(yp[~oos] == yt[~oos])) if (~oos).any() else float("nan")
    out["out_of_scope_recall"] = float(np.mean(yp[oos] == none_label)) if oos.any() else float("nan")
    out["rejection_rate"] = float(np.mean(yp == none_label))
    out["rejection_auroc"] = float(roc_auc_score(oos, -np.asarray(scores))) if oos.any() and (~oos).any() else float("nan")
    return out


def multilabel_scores(proba: np.ndarray) -> np.ndarray:
    """Per label, ``p_k / (p_k + mean_{j != k} p_j)`` in [0, 1] (0.5 = as likely as a typical other label)."""
    P = np.asarray(proba, dtype=np.float64)
    K = P.shape[1]
    if K < 2:
        raise InputError("multi-label scores need at least 2 labels")
    others = (P.sum(axis=1, keepdims=True) - P) / (K - 1)
    return P / np.maximum(P + others, 1e-300)


def fit_label_thresholds(scores: np.ndarray, Y: np.ndarray, default: float = 0.5) -> np.ndarray:
    """Per label, the threshold maximising F1 on labelled examples ``Y`` (N, K) of 0/1; ``default`` without positives."""
    S = np.asarray(scores, dtype=np.float64)
    Y = np.asarray(Y).astype(bool)
    if S.shape != Y.shape:
        raise InputError(f"scores {S.shape} and label indicators {Y.shape} differ in shape")
    out = np.full(S.shape[1], float(default))
    for k in range(S.shape[1]):
        pos = Y[:, k]
        if not pos.any():
            continue
        cands = np.unique(S[:, k])
        best, best_t = -1.0, default
        for t in cands:
            pred = S[:, k] >= t
            tp = np.sum(pred & pos)
            f1 = 2 * tp / max(pred.sum() + pos.sum(), 1)
            if f1 > best + 1e-12:
                best, best_t = f1, float(t)
        out[k] = best_t
    return out
