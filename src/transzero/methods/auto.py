"""``auto``: the few-shot method (and its settings) chosen by cross-validation on the support set alone.

Nothing but the labelled support examples is looked at: each candidate of :data:`CANDIDATES` is fitted
on all but one fold of the support set and scored on the held-out fold (stratified folds, ``min(5, K)``
of them for K shots per class), and the candidate with the best mean held-out accuracy is refitted on the
whole support set. Ties go to the earlier (simpler) candidate. With one shot per class there is nothing to
hold out: :data:`ONE_SHOT` is used and the report says so; with none (0 shots), :data:`ZERO_SHOT`, the
zero-shot prior every candidate starts from.

The classifier replaces this selector by the method it chose (:meth:`ZeroShotClassifier.fit`), so a saved
classifier holds an ordinary method; ``selection_`` keeps the cross-validation scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ZeroShotMethod
from .registry import create_method
from .tags import FitContext, MethodTags

__all__ = ["CANDIDATES", "ONE_SHOT", "ZERO_SHOT", "AutoMethod"]

#: (method, settings) pairs tried, simplest first
CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("prototype", {}),
    ("prototype", {"zero_shot": "none"}),
    ("tip-adapter", {}),
    ("zs-linear", {}),
    ("linear", {}),
)
#: used when the support has a single example of some class (nothing to cross-validate on)
ONE_SHOT: tuple[str, dict[str, Any]] = ("tip-adapter", {})
#: used without labelled examples (0 shots): the zero-shot scores every candidate starts from
ZERO_SHOT: tuple[str, dict[str, Any]] = ("prototype", {})


def _label(name: str, params: dict[str, Any]) -> str:
    return name + ("" if not params else "(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")")


class AutoMethod(ZeroShotMethod):
    """Selects among :data:`CANDIDATES` by stratified cross-validation on the support set.

    Parameters
    ----------
    folds : int
        Most folds (fewer when a class has fewer examples).
    seed : int
        Seed of the fold split.

    Attributes
    ----------
    best_ : ZeroShotMethod
        The chosen method, refitted on the whole support set.
    selection_ : dict
        ``chosen``, ``scores`` (mean held-out accuracy per candidate), ``folds`` and ``why``.
    """

    def __init__(self, folds: int = 5, seed: int = 0) -> None:
        self.folds = folds
        self.seed = seed

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(learns_from_labels=True, zero_shot_prior=True, one_space=False,
                                                    context=frozenset({"aligned", "concept_head"}))

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> AutoMethod:
        """Cross-validate every candidate on ``(X, y)``, then fit the best on all of it."""
        from sklearn.model_selection import StratifiedKFold

        context = FitContext.build(context, **fields)
        if X is None or y is None or len(X) == 0:  # (0 shots: every candidate is its zero-shot prior)
            name, params = ZERO_SHOT
            self.best_ = create_method(name, **params).fit(None, None, context=context)
            self.classes_ = self.best_.classes_
            self.selection_ = {"chosen": _label(name, params), "method": name, "params": dict(params), "scores": {},
                               "folds": 0, "why": "no labelled examples (0 shots): nothing to choose by, so the "
                                                  "candidates' common zero-shot prior"}
            return self
        Xa = np.asarray(X, dtype=np.float32)
        ya = np.asarray(y, dtype=object).ravel()
        _, counts = np.unique(ya.astype(str), return_counts=True)
        n_folds = int(min(self.folds, counts.min()))
        scores: dict[str, float] = {}
        if n_folds < 2:
            name, params = ONE_SHOT
            why = (f"a class has {int(counts.min())} example: nothing to hold out, so {_label(name, params)} "
                   "(the documented one-shot choice)")
        else:
            cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(self.seed))
            splits = list(cv.split(Xa, ya.astype(str)))
            for name, params in CANDIDATES:
                accs = []
                for tr, va in splits:
                    m = create_method(name, **params).fit(Xa[tr], ya[tr], context=context)
                    pred = np.asarray(m.classes_, dtype=object)[np.argmax(m.decision_function(Xa[va]), axis=1)]
                    accs.append(float(np.mean(pred == ya[va])))
                scores[_label(name, params)] = float(np.mean(accs))
            best = max(scores.values())
            name, params = next((n, p) for n, p in CANDIDATES if scores[_label(n, p)] == best)
            why = f"best mean held-out accuracy over {n_folds} stratified folds of the support set ({100 * best:.1f})"
        self.best_ = create_method(name, **params).fit(Xa, ya, context=context)
        self.classes_ = self.best_.classes_
        self.n_features_in_ = getattr(self.best_, "n_features_in_", Xa.shape[1])
        self.selection_ = {"chosen": _label(name, params), "method": name, "params": dict(params),
                           "scores": {k: round(v, 4) for k, v in scores.items()}, "folds": n_folds, "why": why}
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The chosen method's scores."""
        return self.best_.decision_function(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.best_.predict_proba(X)
