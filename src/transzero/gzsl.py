"""Generalized zero-shot evaluation: seen/unseen splits, calibrated stacking, one report.

:func:`evaluate_gzsl` trains a classical zero-shot method on examples of the SEEN classes
only and scores test items of seen and unseen classes in the joint label space
(Xian et al., 2018): ZSL accuracy (unseen items among unseen classes), ``u`` / ``s``
(per-class accuracy of unseen / seen items among *all* classes), their harmonic mean
``H``, and the area under the seen-unseen curve (AUSUC, Chao et al., 2016).

Calibrated stacking subtracts ``gamma`` from the seen classes' scores. ``gamma="auto"``
chooses it without test data: a fifth of the seen classes (or the split's ``val``
classes) play unseen, the method is fitted on the other seen classes minus a fifth of
their examples, and ``gamma`` maximises ``H`` on those held-out examples.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from .errors import InputError
from .gzsl_metrics import choose_gamma, gzsl_accuracies, gzsl_report
from .labels import ClassEmbeddings
from .methods.semantic import class_holdout

__all__ = ["GZSLSplit", "evaluate_gzsl", "read_split"]


@dataclass
class GZSLSplit:
    """Which classes are seen (have training examples) and which unseen; ``val`` (subset of seen) tunes gamma."""

    seen: list[str]
    unseen: list[str]
    val: list[str] | None = None

    def __post_init__(self) -> None:
        self.seen = [str(c) for c in self.seen]
        self.unseen = [str(c) for c in self.unseen]
        both = sorted(set(self.seen) & set(self.unseen))
        if both:
            raise InputError(f"class {both[0]!r} is on both sides of the split (seen and unseen); put it on one")
        for side, names in (("seen", self.seen), ("unseen", self.unseen)):
            if not names:
                raise InputError(f"the split has no {side} classes; list them")
            dup = sorted({c for c in names if names.count(c) > 1})
            if dup:
                raise InputError(f"class {dup[0]!r} is listed twice among the {side} classes; keep one")
        if self.val is not None:
            self.val = [str(c) for c in self.val]
            extra = sorted(set(self.val) - set(self.seen))
            if extra:
                raise InputError(f"validation class {extra[0]!r} is not a seen class; val must be a subset of seen")
            if len(set(self.seen) - set(self.val)) < 2:
                raise InputError("the split's val classes leave fewer than 2 seen classes to train on; hold out fewer")

    @property
    def classes(self) -> list[str]:
        return self.seen + self.unseen


def _read_names(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(f"class list {str(path)!r} does not exist; check the path")
    return [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip() and not ln.startswith("#")]


def read_split(
    split: str | os.PathLike[str] | None = None,
    *,
    seen: str | os.PathLike[str] | None = None,
    unseen: str | os.PathLike[str] | None = None,
) -> GZSLSplit:
    """A split from a JSON file (``{"seen": [...], "unseen": [...], "val": [...]}``) or two class-list files.

    Class-list files hold one class per line (``#`` comments and blank lines ignored).
    """
    if split is not None:
        if seen is not None or unseen is not None:
            raise InputError("give either a split file or --seen-classes/--unseen-classes, not both")
        p = Path(split)
        if not p.is_file():
            raise InputError(f"split file {str(p)!r} does not exist; check the path")
        try:
            d = json.loads(p.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise InputError(f"split file {p.name} line {exc.lineno}: invalid JSON ({exc.msg}); fix it") from None
        if not isinstance(d, dict) or not isinstance(d.get("seen"), list) or not isinstance(d.get("unseen"), list):
            raise InputError(f"split file {p.name}: expected a JSON object with lists 'seen' and 'unseen' (and optional 'val')")
        return GZSLSplit(d["seen"], d["unseen"], d.get("val"))
    if seen is None or unseen is None:
        raise InputError("a GZSL split needs both --seen-classes FILE and --unseen-classes FILE (or --split FILE)")
    return GZSLSplit(_read_names(Path(seen)), _read_names(Path(unseen)))


def _scores(method: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(method.scores(X) if hasattr(method, "scores") else method.decision_function(X), dtype=np.float64)


def _stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of ~``fraction`` of each class's examples (at least one kept for training)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n = min(int(round(fraction * len(idx))), len(idx) - 1)
        if n > 0:
            mask[rng.choice(idx, size=n, replace=False)] = True
    return mask


def evaluate_gzsl(
    method: Any,
    X_train: np.ndarray,
    y_train: Sequence[str],
    X_test: np.ndarray,
    y_test: Sequence[str],
    class_embeddings: ClassEmbeddings,
    split: GZSLSplit,
    *,
    gamma: float | str = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """Fit ``method`` on seen-class examples and report ZSL and GZSL metrics on the test items.

    Parameters
    ----------
    method : estimator
        A classical ZSL method (``eszsl``, ``ale``... or ``conse``); it is cloned, never changed.
    X_train, y_train
        Training examples. Examples of unseen classes are ignored (and counted); a class in
        neither side of the split is an error.
    X_test, y_test
        Test items of seen and unseen classes.
    class_embeddings : ClassEmbeddings
        Semantics of (at least) every class of the split.
    split : GZSLSplit
    gamma : float or "auto"
        Calibrated-stacking offset, or "auto" to choose it on validation classes.

    Returns
    -------
    dict
        ``zsl_accuracy``, ``seen_accuracy``, ``unseen_accuracy``, ``harmonic_mean``, ``ausuc``,
        ``gamma`` (at the chosen gamma), ``uncalibrated`` (s, u, H at gamma 0), counts and timings.
    """
    classes = split.classes
    ce = class_embeddings.subset(classes)
    seen_set, unseen_set = set(split.seen), set(split.unseen)
    y_train = np.asarray([str(v) for v in y_train], dtype=object)
    y_test = np.asarray([str(v) for v in y_test], dtype=object)
    X_train = np.asarray(X_train, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise InputError("features and labels differ in length; give one label per row")
    for where, ys in (("training", y_train), ("test", y_test)):
        other = sorted(set(ys) - seen_set - unseen_set)
        if other:
            raise InputError(f"{where} label {other[0]!r} is in neither the seen nor the unseen classes of the split; add it")
    keep = np.asarray([v in seen_set for v in y_train], dtype=bool)
    n_ignored = int((~keep).sum())
    Xs, ys = X_train[keep], y_train[keep]
    missing = sorted(seen_set - set(ys))
    if missing:
        raise InputError(f"seen class {missing[0]!r} has no training examples; give some or move it to the unseen side")
    index = {c: i for i, c in enumerate(classes)}
    seen_mask = np.asarray([c in seen_set for c in classes])

    t0 = time.perf_counter()
    gamma_value: float
    gamma_how = "given"
    if gamma == "auto":
        gamma_value = _choose_gamma(method, Xs, ys, ce, split, seed)
        gamma_how = "validation classes"
    else:
        gamma_value = float(gamma)
    t1 = time.perf_counter()
    model = clone(method).fit(Xs, list(ys), class_embeddings=ce, default_logit_scale=1.0)
    fit_seconds = time.perf_counter() - t1
    t2 = time.perf_counter()
    z = _scores(model, X_test)
    predict_seconds = time.perf_counter() - t2
    yi = np.asarray([index[v] for v in y_test], dtype=np.int64)
    report = gzsl_report(z, yi, seen_mask, gamma_value)
    s0, u0, h0 = gzsl_accuracies(z, yi, seen_mask, 0.0)
    report.update(
        gamma_chosen_on=gamma_how,
        uncalibrated={"seen_accuracy": s0, "unseen_accuracy": u0, "harmonic_mean": h0},
        n_seen_classes=len(split.seen),
        n_unseen_classes=len(split.unseen),
        n_train=len(ys),
        n_ignored_unseen_support=n_ignored,
        fit_seconds=round(fit_seconds, 3),
        tune_seconds=round(t1 - t0, 3),
        predict_seconds=round(predict_seconds, 3),
        hyperparameters={k: _jsonable(v) for k, v in vars(model).items()
                         if k.endswith("_") and not k.startswith("_") and isinstance(v, (int, float, str))},
    )
    return report


def _jsonable(v: Any) -> Any:
    return float(v) if isinstance(v, (np.floating, float)) else v


def _choose_gamma(method: Any, X: np.ndarray, y: np.ndarray, ce: ClassEmbeddings, split: GZSLSplit, seed: int) -> float:
    """Gamma maximising H when validation classes play unseen (no test data involved)."""
    if split.val:
        val_classes = set(split.val)
    else:
        codes = np.unique(y, return_inverse=True)[1]
        _, val_m = class_holdout(codes, 0.2, seed)
        val_classes = set(y[val_m])
    if not val_classes:
        raise InputError("choosing gamma needs at least 3 seen classes (some play unseen); give --gamma instead")
    is_val = np.asarray([v in val_classes for v in y])
    held = _stratified_holdout(y, 0.2, seed) & ~is_val
    fit_rows = ~is_val & ~held
    names = list(split.seen)
    model = clone(method).fit(X[fit_rows], list(y[fit_rows]), class_embeddings=ce.subset(names), default_logit_scale=1.0)
    rows = held | is_val
    index = {c: i for i, c in enumerate(names)}
    z = _scores(model, X[rows])
    return float(choose_gamma(z, np.asarray([index[v] for v in y[rows]]), np.asarray([c not in val_classes for c in names])))
