"""Learning from a person: which items to label next, and how accurate the classifier is on the labels so far.

:func:`select_for_labelling` is active learning by uncertainty plus diversity: among the items the classifier is
least sure of (smallest margin between its two best classes) it picks, greedily, those farthest (cosine) from what
is already labelled or picked, so one round of labelling does not spend five clicks on near-duplicates.
:func:`cross_val_accuracy` estimates accuracy from the labelled examples alone (k-fold; no other data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._util import l2_normalize

__all__ = ["POLICIES", "cross_val_accuracy", "entropy_uncertainty", "margin_uncertainty", "select_for_labelling"]

#: how the next items to label are chosen: ``margin`` (least confident: the smallest gap between the two best
#: classes), ``entropy`` (the most spread-out probabilities), ``diverse`` (margin, kept apart by cosine from what is
#: labelled or picked)
POLICIES = ("margin", "entropy", "diverse")


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """``1 - (p_best - p_second)`` per item: 1 when the two best classes tie, 0 when one class has it all."""
    P = np.asarray(proba, dtype=np.float64)
    if P.shape[1] < 2:
        return np.zeros(len(P))
    top2 = -np.partition(-P, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def entropy_uncertainty(proba: np.ndarray) -> np.ndarray:
    """Entropy of each item's probabilities over ``log K``: 1 when every class is equally likely, 0 when one has all."""
    P = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    if P.shape[1] < 2:
        return np.zeros(len(P))
    return -(P * np.log(P)).sum(axis=1) / np.log(P.shape[1])


def select_for_labelling(
    proba: np.ndarray,
    X: np.ndarray,
    k: int = 5,
    *,
    labelled: np.ndarray | None = None,
    candidates: int | None = None,
    diversity: float = 1.0,
    index: str = "auto",
    policy: str = "diverse",
) -> list[int]:
    """Indices of up to ``k`` items to label next.

    Parameters
    ----------
    proba : ndarray (N, K)
        The classifier's probabilities for the unlabelled items.
    X : ndarray (N, D)
        Their vectors.
    labelled : ndarray (M, D), optional
        Vectors of items already labelled (new picks keep away from them too).
    candidates : int, optional
        How many of the most uncertain items to choose among (default ``max(4k, 20)``).
    diversity : float
        Weight of distance against uncertainty (0: the ``k`` most uncertain items).
    index : {"auto", "exact", "ann"}
        Search of the nearest labelled item (:func:`transzero.neighbors.knn`; an HNSW index above ~50k).
    policy : {"margin", "entropy", "diverse"}
        :data:`POLICIES`: ``margin`` and ``entropy`` take the ``k`` most uncertain items by that measure;
        ``diverse`` (the default) weighs margin uncertainty with distance (``diversity``).
    """
    from .errors import InputError

    if policy not in POLICIES:
        raise InputError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    n = len(proba)
    if n == 0 or k <= 0:
        return []
    if policy != "diverse":
        u = margin_uncertainty(proba) if policy == "margin" else entropy_uncertainty(proba)
        return [int(i) for i in np.argsort(-u, kind="stable")[:k]]
    u = margin_uncertainty(proba)
    m = min(n, candidates if candidates is not None else max(4 * k, 20))
    pool = np.argsort(-u, kind="stable")[:m]
    Xn = l2_normalize(np.asarray(X, dtype=np.float32)[pool])
    # distance of each candidate to its nearest labelled item (then also to those already picked), in [0, 1]
    near = np.ones(m)
    if labelled is not None and len(labelled):
        from .neighbors import knn

        sims, _ = knn(np.asarray(labelled, dtype=np.float32), 1, queries=Xn, index=index)
        near = (1.0 - sims[:, 0].astype(np.float64)) / 2.0
    picked: list[int] = []
    for _ in range(min(k, m)):
        score = u[pool] * (near ** float(diversity) if diversity else 1.0)
        score[picked] = -np.inf
        j = int(np.argmax(score))
        picked.append(j)
        near = np.minimum(near, (1.0 - Xn @ Xn[j]) / 2.0)
    return [int(pool[j]) for j in picked]


def cross_val_accuracy(
    fit_predict: Callable[[np.ndarray, Sequence[Any], np.ndarray], np.ndarray],
    X: np.ndarray,
    y: Sequence[Any],
    folds: int = 5,
    seed: int = 0,
) -> float | None:
    """Accuracy of ``fit_predict(X_train, y_train, X_test) -> labels`` by k-fold over the labelled examples.

    Stratified when every class has at least two examples; None with fewer than 4 examples or 2 classes.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y_arr = np.asarray([str(v) for v in y], dtype=object)
    if len(y_arr) < 4 or len(set(y_arr)) < 2:
        return None
    counts = np.unique(y_arr, return_counts=True)[1]
    k = int(min(folds, len(y_arr)))
    if counts.min() >= 2:
        splits = StratifiedKFold(n_splits=int(min(k, counts.min())), shuffle=True, random_state=seed).split(X, y_arr)
    else:
        splits = KFold(n_splits=k, shuffle=True, random_state=seed).split(X)
    correct = 0
    for train, test in splits:
        pred = np.asarray(fit_predict(X[train], list(y_arr[train]), X[test]), dtype=object)
        correct += int((pred == y_arr[test]).sum())
    return correct / len(y_arr)
