"""Generalized zero-shot learning (GZSL) metrics.

The protocol follows Xian et al. (2018), "Zero-Shot Learning -- the Good, the Bad and the
Ugly": accuracies are *per-class* mean top-1 accuracies, the ZSL accuracy ranks only the
unseen classes, and the GZSL accuracies rank the joint label space and report the seen
accuracy ``s``, the unseen accuracy ``u`` and their harmonic mean ``H``. Calibrated
stacking and the area under the seen-unseen accuracy curve (AUSUC) follow Chao et al.
(2016), "An Empirical Study and Analysis of Generalized Zero-Shot Learning for Object
Recognition in the Wild".

Every function takes

``scores``
    ``(N, K)`` float array; higher means more likely. The columns are the joint label
    space of seen and unseen classes. ``-inf`` masks a column (or a single entry); NaN is
    refused.
``y``
    ``(N,)`` integer array: the true column index of every sample.
``seen``
    ``(K,)`` bool mask, True for the seen (training) classes.

Calibration rule
----------------
Calibrated stacking subtracts ``gamma`` from every seen column and takes the argmax over
all columns. For a sample let ``d = max(seen scores) - max(unseen scores)``. The sample is
predicted among the seen classes **iff** ``d > gamma`` (strictly); a tie ``d == gamma``
goes to the unseen side. Its prediction is then the argmax over the seen columns, else the
argmax over the unseen columns (within one side, ties go to the first column). When both
maxima are infinite of the same sign (e.g. a row that is ``-inf`` everywhere) ``d`` is
taken as 0. All functions here apply this rule exactly, so results agree with each other
even at ties; a hand-rolled ``argmax(scores - gamma * seen)`` agrees except at exact ties
(and possibly within floating-point rounding of them).

Consequently ``u(gamma)`` is a non-decreasing and ``s(gamma)`` a non-increasing step
function that changes only at the values ``d_i``; :func:`seen_unseen_curve` computes every
step in ``O(N log N)`` after the ``O(N K)`` maxima.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "ausuc",
    "choose_gamma",
    "gzsl_accuracies",
    "gzsl_report",
    "harmonic_mean",
    "per_class_accuracy",
    "seen_unseen_curve",
    "zsl_accuracy",
]

# H values closer than this to the best one count as ties in :func:`choose_gamma` (they can
# differ only through the rounding of different but mathematically equal sums).
_TIE_TOL = 1e-13


# --------------------------------------------------------------------------- validation


def _as_scores(scores: Any) -> np.ndarray:
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("scores must be a numeric (N, K) array of floats; convert it with np.asarray(scores, float)") from None
    if arr.ndim != 2:
        raise InputError(f"scores must be a 2-D (N, K) array (samples x classes), got shape {arr.shape}; reshape it")
    if arr.shape[1] == 0:
        raise InputError("scores has 0 columns; it needs one column per class of the joint seen+unseen label space")
    if np.isnan(arr).any():
        raise InputError("scores contain NaN; replace them with -inf to mask a class (or fix the model producing them)")
    return arr


def _as_labels(y: Any, n: int, k: int, name: str = "y") -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of class indices, got shape {arr.shape}; flatten it")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise InputError(f"{name} must hold integer column indices (e.g. int64), got dtype {arr.dtype}; map labels to column indices first")
    if arr.shape[0] != n:
        raise InputError(f"{name} has {arr.shape[0]} entries but scores has {n} rows; pass one true class index per row of scores")
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise InputError(f"{name} contains class index {bad}, outside 0..{k - 1} (the columns of scores); fix the labels or the score columns")
    return arr.astype(np.int64, copy=False)


def _as_seen(seen: Any, k: int, need_seen: bool, need_unseen: bool) -> np.ndarray:
    arr = np.asarray(seen)
    if arr.ndim != 1 or arr.shape[0] != k:
        raise InputError(f"seen must be a 1-D bool mask with one entry per column of scores ({k}), got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if arr.size and (arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all()):
            raise InputError(f"seen must be a bool mask (True = seen class), got dtype {arr.dtype} with values other than 0/1")
        arr = arr.astype(bool)
    if need_unseen and arr.all():
        raise InputError("seen marks every class as seen; mark the unseen (zero-shot) classes False")
    if need_seen and not arr.any():
        raise InputError("seen marks no class as seen; generalized ZSL needs seen classes marked True (use zsl_accuracy for unseen-only)")
    return arr


def _as_gamma(gamma: Any) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InputError(f"gamma must be a real number, got {gamma!r}") from None
    if math.isnan(g):
        raise InputError("gamma is NaN; pass a real number (0.0 means no calibration)")
    return g


# --------------------------------------------------------------------------- basic metrics


def per_class_accuracy(y_true: Any, y_pred: Any, classes: Iterable[Any] | None = None) -> float:
    """Mean per-class top-1 accuracy.

    Parameters
    ----------
    y_true : array_like, shape (N,)
        True labels (any comparable values, typically column indices).
    y_pred : array_like, shape (N,)
        Predicted labels, same kind as ``y_true``.
    classes : iterable, optional
        Restrict the metric to these classes: only samples whose true class is in
        ``classes`` count and only those classes are averaged. Classes of ``classes``
        absent from ``y_true`` are ignored (not counted as 0).

    Returns
    -------
    float
        Mean over the classes present in ``y_true`` (after the restriction) of the fraction
        of their samples predicted correctly; NaN when no sample is left.

    Raises
    ------
    InputError
        If the inputs are not 1-D or differ in length.
    """
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if yt.ndim != 1 or yp.ndim != 1:
        raise InputError(f"y_true and y_pred must be 1-D, got shapes {yt.shape} and {yp.shape}; flatten them")
    if yt.shape[0] != yp.shape[0]:
        raise InputError(f"y_true has {yt.shape[0]} entries but y_pred has {yp.shape[0]}; pass one prediction per sample")
    if classes is not None:
        keep = np.isin(yt, np.asarray(list(classes)))
        yt, yp = yt[keep], yp[keep]
    if yt.size == 0:
        return float("nan")
    _, inverse, counts = np.unique(yt, return_inverse=True, return_counts=True)
    correct = np.bincount(inverse.ravel(), weights=(yt == yp).astype(np.float64), minlength=counts.size)
    return float(np.mean(correct / counts))


def harmonic_mean(u: float, s: float) -> float:
    """Harmonic mean ``2us / (u + s)`` of the unseen and seen accuracies.

    Parameters
    ----------
    u, s : float
        Unseen and seen accuracies.

    Returns
    -------
    float
        0 when ``u + s == 0``; NaN when either input is NaN.
    """
    if math.isnan(u) or math.isnan(s):
        return float("nan")
    if u + s == 0:
        return 0.0
    return float(2.0 * u * s / (u + s))


def zsl_accuracy(scores: Any, y: Any, seen: Any) -> float:
    """Conventional ZSL accuracy: per-class mean top-1 on unseen-class samples.

    The argmax is taken over the unseen columns only (the seen classes are not candidates).

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space.
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; at least one class must be unseen.

    Returns
    -------
    float
        Per-class mean accuracy over the samples whose true class is unseen; NaN if there
        are none.

    Raises
    ------
    InputError
        On shape mismatches, out-of-range labels or a mask without unseen classes.
    """
    sc = _as_scores(scores)
    yy = _as_labels(y, sc.shape[0], sc.shape[1])
    mask = _as_seen(seen, sc.shape[1], need_seen=False, need_unseen=True)
    unseen_cols = np.flatnonzero(~mask)
    pred = unseen_cols[np.argmax(sc[:, unseen_cols], axis=1)]
    return per_class_accuracy(yy, pred, classes=unseen_cols)


# --------------------------------------------------------------------------- GZSL core


@dataclass
class _Sides:
    """Per-sample quantities that fully determine the GZSL predictions at any gamma."""

    y: np.ndarray  # (N,) true column
    seen: np.ndarray  # (K,) mask
    d: np.ndarray  # (N,) max seen score - max unseen score (NaN -> 0)
    pred_seen: np.ndarray  # (N,) argmax column among the seen columns
    pred_unseen: np.ndarray  # (N,) argmax column among the unseen columns


def _sides(scores: Any, y: Any, seen: Any) -> _Sides:
    sc = _as_scores(scores)
    n, k = sc.shape
    yy = _as_labels(y, n, k)
    mask = _as_seen(seen, k, need_seen=True, need_unseen=True)
    seen_cols = np.flatnonzero(mask)
    unseen_cols = np.flatnonzero(~mask)
    s_block = sc[:, seen_cols]
    u_block = sc[:, unseen_cols]
    si = np.argmax(s_block, axis=1)
    ui = np.argmax(u_block, axis=1)
    rows = np.arange(n)
    with np.errstate(invalid="ignore"):
        d = s_block[rows, si] - u_block[rows, ui]
    d[np.isnan(d)] = 0.0  # both maxima -inf (or both +inf): no preference
    return _Sides(yy, mask, d, seen_cols[si], unseen_cols[ui])


def _predict(sides: _Sides, gamma: float) -> np.ndarray:
    return np.where(sides.d > gamma, sides.pred_seen, sides.pred_unseen)


class _Sweep:
    """Prefix sums over the samples sorted by ``d``: ``u`` and ``s`` at any gamma in O(log N)."""

    def __init__(self, sides: _Sides) -> None:
        y, mask = sides.y, sides.seen
        true_seen = mask[y]
        counts = np.bincount(y, minlength=mask.size)
        present = counts > 0
        self.n_seen_classes = int(np.count_nonzero(present & mask))
        self.n_unseen_classes = int(np.count_nonzero(present & ~mask))
        # weight of a sample = 1 / (#test samples of its class) / (#classes present on its side)
        w = np.zeros(y.size, dtype=np.float64)
        if y.size:
            w = 1.0 / counts[y]
            w[true_seen] /= max(self.n_seen_classes, 1)
            w[~true_seen] /= max(self.n_unseen_classes, 1)
        gain_u = np.where(~true_seen & (sides.pred_unseen == y), w, 0.0)  # counts once d <= gamma
        gain_s = np.where(true_seen & (sides.pred_seen == y), w, 0.0)  # counts while d > gamma
        order = np.argsort(sides.d, kind="stable")
        self.d_sorted = sides.d[order]
        # u_prefix[j]: sum over the j smallest d; s_suffix[j]: sum over all but the j smallest.
        self.u_prefix = np.concatenate(([0.0], np.cumsum(gain_u[order])))
        self.s_suffix = np.concatenate((np.cumsum(gain_s[order][::-1])[::-1], [0.0]))

    def evaluate(self, gammas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u, s)`` at each gamma (samples with ``d <= gamma`` are predicted unseen)."""
        j = np.searchsorted(self.d_sorted, gammas, side="right")
        u = self.u_prefix[j] if self.n_unseen_classes else np.full(j.shape, np.nan)
        s = self.s_suffix[j] if self.n_seen_classes else np.full(j.shape, np.nan)
        return u, s


def _harmonic(u: np.ndarray, s: np.ndarray) -> np.ndarray:
    total = u + s
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(total == 0, 0.0, 2.0 * u * s / np.where(total == 0, 1.0, total))
    return np.where(np.isnan(total), np.nan, h)


def gzsl_accuracies(scores: Any, y: Any, seen: Any, gamma: float = 0.0) -> tuple[float, float, float]:
    """Seen accuracy, unseen accuracy and harmonic mean with calibrated stacking.

    ``gamma`` is subtracted from every seen column and the argmax is taken over all
    columns; a sample goes to the seen side iff ``max_seen - max_unseen > gamma`` (ties go
    to the unseen side, see the module docstring).

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space.
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; needs at least one seen and one unseen class.
    gamma : float, default 0.0
        Calibration constant; ``-inf`` (all seen, except rows whose seen scores are all
        ``-inf``) and ``+inf`` (all unseen) are allowed.

    Returns
    -------
    seen_accuracy : float
        Per-class mean top-1 over samples whose true class is seen (NaN if none).
    unseen_accuracy : float
        Same over samples whose true class is unseen (NaN if none).
    harmonic_mean : float
        ``2us / (u + s)``; 0 when ``u + s == 0``; NaN when ``u`` or ``s`` is NaN.

    Raises
    ------
    InputError
        On shape mismatches, out-of-range labels, a bad mask or a NaN ``gamma``.
    """
    g = _as_gamma(gamma)
    return _accuracies(_sides(scores, y, seen), g)


def _accuracies(sides: _Sides, gamma: float) -> tuple[float, float, float]:
    pred = _predict(sides, gamma)
    s = per_class_accuracy(sides.y, pred, classes=np.flatnonzero(sides.seen))
    u = per_class_accuracy(sides.y, pred, classes=np.flatnonzero(~sides.seen))
    return s, u, harmonic_mean(u, s)


def seen_unseen_curve(scores: Any, y: Any, seen: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact seen-unseen accuracy curve of calibrated stacking.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space.
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; needs at least one seen and one unseen class.

    Returns
    -------
    gammas : ndarray, shape (M,)
        ``-inf``, every distinct finite critical value ``d_i`` in ascending order, ``+inf``.
    unseen_accuracy : ndarray, shape (M,)
        ``u`` at each gamma (non-decreasing; NaN if there are no unseen-class samples).
    seen_accuracy : ndarray, shape (M,)
        ``s`` at each gamma (non-increasing; NaN if there are no seen-class samples).

    Notes
    -----
    Both accuracies are right-continuous step functions of gamma: the value at
    ``gammas[j]`` holds on ``[gammas[j], gammas[j + 1])`` (a sample with ``d_i == gamma``
    is already predicted unseen). At ``+inf`` every sample is predicted unseen; at ``-inf``
    every sample is predicted seen except rows whose seen scores are all ``-inf``
    (``d = -inf``: a tie even at ``gamma = -inf``, so always unseen; then ``u`` at the
    first point can exceed 0). Rows whose unseen scores are all ``-inf`` (``d = +inf``)
    are predicted seen for every finite gamma.
    Cost: ``O(N K)`` for the maxima plus ``O(N log N)`` for one sort and prefix sums.
    """
    return _curve(_Sweep(_sides(scores, y, seen)))


def _curve(sweep: _Sweep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gammas = np.unique(np.concatenate(([-np.inf], sweep.d_sorted, [np.inf])))
    u, s = sweep.evaluate(gammas)
    return gammas, u, s


def ausuc(scores: Any, y: Any, seen: Any) -> float:
    """Area under the seen-unseen accuracy curve (Chao et al. 2016).

    Trapezoid rule over the points of :func:`seen_unseen_curve` with ``x = u`` and
    ``y = s``, sorted by ``u``. The curve runs from ``(0, s_max)`` (gamma = -inf) to
    ``(u_max, 0)`` (gamma = +inf); between steps it is vertical or horizontal, so the
    trapezoids measure the area under the staircase exactly. (If some rows have all their
    seen scores masked with ``-inf``, the first point can have ``u > 0``; the area is
    then taken from that point on.)

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space.
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; needs at least one seen and one unseen class.

    Returns
    -------
    float
        AUSUC in ``[0, 1]``; NaN when the test set lacks seen-class or unseen-class samples.
    """
    return _ausuc(_Sweep(_sides(scores, y, seen)))


def _ausuc(sweep: _Sweep) -> float:
    _, u, s = _curve(sweep)
    if np.isnan(u).any() or np.isnan(s).any():
        return float("nan")
    order = np.argsort(u, kind="stable")
    u, s = u[order], s[order]
    return float(np.sum(np.diff(u) * (s[1:] + s[:-1]) / 2.0))


def choose_gamma(scores: Any, y: Any, seen: Any) -> float:
    """The calibration ``gamma`` that maximises the harmonic mean on these (validation) data.

    Candidates are 0, the midpoints between consecutive distinct finite critical values
    ``d_i``, and one value just below the smallest and one just above the largest; together
    they hit every distinct ``(u, s)`` regime. ``H`` is read off the prefix sums of
    :func:`seen_unseen_curve`, so the search costs ``O(N log N)`` after the maxima.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space (validation split).
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; needs at least one seen and one unseen class.

    Returns
    -------
    float
        The best gamma. Ties (within 1e-13 in ``H``) go to the smallest ``|gamma|``, then
        to the smaller gamma. If ``H`` is NaN everywhere (no seen-class or no
        unseen-class samples) the result is 0.0.
    """
    sweep = _Sweep(_sides(scores, y, seen))
    d = sweep.d_sorted
    t = np.unique(d[np.isfinite(d)])
    cands = [np.zeros(1)]
    if t.size:
        lo_t, hi_t = float(t[0]), float(t[-1])
        delta = 1.0 if t.size == 1 else float(t[-1] / 2 - t[0] / 2) / (t.size - 1)
        lower = lo_t - delta
        if not (lower < lo_t) or not math.isfinite(lower):
            lower = float(np.nextafter(lo_t, -np.inf))
        upper = hi_t + delta
        if not math.isfinite(upper):
            upper = hi_t  # ties go to unseen, so hi_t itself lies in the top regime
        cands += [t[:-1] / 2 + t[1:] / 2, np.array([lower, upper])]
    gammas = np.concatenate(cands)
    u, s = sweep.evaluate(gammas)
    h = _harmonic(u, s)
    if np.isnan(h).all():
        return 0.0
    h = np.where(np.isnan(h), -np.inf, h)
    near = np.flatnonzero(h >= h.max() - _TIE_TOL)
    best = near[np.lexsort((gammas[near], np.abs(gammas[near])))[0]]
    return float(gammas[best])


def gzsl_report(scores: Any, y: Any, seen: Any, gamma: float = 0.0) -> dict[str, Any]:
    """All GZSL metrics of one run, as a JSON-serialisable dict.

    Parameters
    ----------
    scores : array_like, shape (N, K)
        Class scores over the joint label space.
    y : array_like of int, shape (N,)
        True column index of every sample.
    seen : array_like of bool, shape (K,)
        True for seen classes; needs at least one seen and one unseen class.
    gamma : float, default 0.0
        Calibration constant for the seen/unseen/harmonic accuracies (e.g. from
        :func:`choose_gamma` on a validation split).

    Returns
    -------
    dict
        ``zsl_accuracy``, ``seen_accuracy``, ``unseen_accuracy``, ``harmonic_mean``,
        ``ausuc``, ``gamma`` (floats, NaN where undefined) and ``n_seen_test``,
        ``n_unseen_test`` (numbers of samples whose true class is seen / unseen).
    """
    g = _as_gamma(gamma)
    sides = _sides(scores, y, seen)
    s, u, h = _accuracies(sides, g)
    n_seen = int(np.count_nonzero(sides.seen[sides.y]))
    # ZSL accuracy: the argmax over the unseen columns is exactly ``pred_unseen``.
    zsl = per_class_accuracy(sides.y, sides.pred_unseen, classes=np.flatnonzero(~sides.seen))
    return {
        "zsl_accuracy": zsl,
        "seen_accuracy": s,
        "unseen_accuracy": u,
        "harmonic_mean": h,
        "ausuc": _ausuc(_Sweep(sides)),
        "gamma": g,
        "n_seen_test": n_seen,
        "n_unseen_test": int(sides.y.size - n_seen),
    }
