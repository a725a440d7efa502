"""The scikit-learn estimator contract, without importing scikit-learn until it is asked for.

``import sklearn`` takes 1-2 s (it loads scipy.stats and pandas), more than everything else a
one-text ``transzero classify`` does. The classifier and the scoring methods therefore
implement scikit-learn's documented estimator API themselves - ``get_params`` /
``set_params`` over the constructor's arguments, ``__sklearn_tags__``, ``score``,
``NotFittedError`` - as scikit-learn's developer guide allows, and scikit-learn is imported
only by the parts that need its machinery: the tags object, the error raised on an unfitted
estimator, :func:`sklearn.base.clone` called by the user, grid search, the common checks
(``check_estimator`` runs on the methods in the test suite).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np

__all__ = ["Estimator", "ClassifierEstimator", "check_fitted", "clone"]


class Estimator:
    """Base of transzero's estimators: constructor arguments are the parameters, stored as given."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}: estimators take no *args in __init__ (scikit-learn contract)")
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters; with ``deep``, also ``name__param`` of nested estimators."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters (``name__param`` reaches a nested estimator); returns ``self``."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head not in valid:
                raise ValueError(f"invalid parameter {head!r} for estimator {type(self).__name__}; "
                                 f"valid parameters are: {sorted(self._get_param_names())!r}")
            if sep:
                nested.setdefault(head, {})[sub] = value
            else:
                setattr(self, head, value)
                valid[head] = value
        for head, sub_params in nested.items():
            valid[head].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        """``Name(param=value, ...)`` with the parameters that differ from their defaults."""
        sig = inspect.signature(type(self).__init__).parameters
        shown = []
        for key in self._get_param_names():
            value = getattr(self, key, None)
            default = sig[key].default
            same = default is not inspect.Parameter.empty and _same(value, default)
            if not same:
                shown.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (built on demand: importing scikit-learn is what this module avoids)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def __sklearn_clone__(self) -> Estimator:
        return clone(self)


class ClassifierEstimator(Estimator):
    """A classifier in scikit-learn's sense: classifier tags and mean-accuracy ``score``."""

    _estimator_type = "classifier"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        pred = np.asarray(self.predict(X))  # type: ignore[attr-defined]
        hit = (pred == np.asarray(y)).astype(np.float64)
        return float(np.average(hit, weights=sample_weight))


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise scikit-learn's ``NotFittedError`` when ``estimator`` lacks the fitted ``attribute``."""
    if not hasattr(estimator, attribute):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                             "appropriate arguments before using this estimator.")


def clone(estimator: Any) -> Any:
    """A new unfitted estimator with the same parameters (nested estimators cloned, others deep-copied).

    What :func:`sklearn.base.clone` does for estimators built on :class:`Estimator`; anything
    else is handed to scikit-learn's own ``clone``.
    """
    if not isinstance(estimator, Estimator):
        from sklearn.base import clone as sk_clone

        return sk_clone(estimator)
    params = {k: clone(v) if hasattr(v, "get_params") and not isinstance(v, type) else copy.deepcopy(v)
              for k, v in estimator.get_params(deep=False).items()}
    return type(estimator)(**params)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects that cannot be compared are shown
        return False
