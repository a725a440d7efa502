"""The scikit-learn estimator contract of transzero._estimator, and the scoring path that never imports scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone as sk_clone
from sklearn.exceptions import NotFittedError

from transzero._estimator import ClassifierEstimator, Estimator, check_fitted, clone


class Inner(Estimator):
    def __init__(self, alpha: float = 1.0, names: list[str] | None = None) -> None:
        self.alpha = alpha
        self.names = names


class Outer(ClassifierEstimator):
    def __init__(self, inner: Inner | None = None, k: int = 3) -> None:
        self.inner = inner
        self.k = k

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, 0]


def test_params_nested_and_invalid() -> None:
    est = Outer(Inner(alpha=2.0), k=5)
    assert est.get_params(deep=False) == {"inner": est.inner, "k": 5}
    deep = est.get_params()
    assert deep["inner__alpha"] == 2.0 and deep["k"] == 5 and "inner__names" in deep
    assert est.set_params(k=7, inner__alpha=0.5) is est and est.k == 7 and est.inner.alpha == 0.5
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        est.set_params(nope=1)


def test_repr_shows_what_differs_from_the_defaults() -> None:
    assert repr(Inner()) == "Inner()"
    assert repr(Outer(k=4)) == "Outer(k=4)"


def test_clone_is_unfitted_and_independent_and_sklearn_clone_agrees() -> None:
    est = Outer(Inner(names=["a"]), k=2)
    est.fitted_ = True
    for copy in (clone(est), sk_clone(est)):
        assert type(copy) is Outer and copy.k == 2 and not hasattr(copy, "fitted_")
        assert copy.inner is not est.inner and copy.inner.names == ["a"] and copy.inner.names is not est.inner.names


def test_unfitted_raises_sklearns_error_and_classifier_tags_score() -> None:
    est = Outer()
    with pytest.raises(NotFittedError, match="Outer instance is not fitted"):
        check_fitted(est, "classes_")
    from sklearn.base import is_classifier

    assert is_classifier(est) and est.__sklearn_tags__().target_tags.required
    assert est.score(np.array([[1, 0], [2, 0]]), [1, 3]) == 0.5


def test_zero_shot_scoring_imports_neither_sklearn_nor_scipy() -> None:
    """The path of a cached one-text classify: a fitted zero-shot method scoring vectors."""
    code = ("import sys, json, numpy as np, transzero.classifier; from transzero.labels import ClassEmbeddings; "
            "from transzero.methods import create_method; "
            "v = np.eye(3, 8, dtype=np.float32); "
            "ce = ClassEmbeddings(['a', 'b', 'c'], v, v, np.arange(3), ['a', 'b', 'c']); "
            "m = create_method('similarity').fit(class_embeddings=ce, default_logit_scale=20.0); "
            "p = m.predict_proba(v + 0.1); assert (p.argmax(1) == [0, 1, 2]).all(); "
            "print(json.dumps(sorted(k for k in ('sklearn', 'scipy') if k in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
