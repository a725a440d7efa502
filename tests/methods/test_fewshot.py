"""Few-shot methods: contract, zero-shot equivalence at 0 shots, fallbacks, bad input, state."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from transzero.errors import InputError
from transzero.labels import ClassEmbeddings
from transzero.methods import METHODS, ConceptHead, SimilarityClassifier, create_method

FEWSHOT = ["prototype", "knn", "linear", "zs-linear", "tip-adapter", "tip-adapter-f"]
COMBINED = ["zs-linear", "tip-adapter", "tip-adapter-f"]


def _ce(k: int = 3, d: int = 8) -> ClassEmbeddings:
    centers = np.eye(k, d, dtype=np.float32)
    return ClassEmbeddings([f"c{i}" for i in range(k)], centers, centers.copy(), np.arange(k), [f"p{i}" for i in range(k)])


def _items(rng: np.random.Generator, n: int, shift: float = 0.0, k: int = 3, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Items of class i point to e_i, plus a class-specific offset the text side does not know about."""
    y = rng.integers(0, k, size=n)
    offset = np.zeros((k, d), np.float32)
    offset[np.arange(k), k + np.arange(k)] = shift  # a direction only labelled examples reveal
    X = np.eye(k, d, dtype=np.float32)[y] * 0.5 + offset[y] + 0.25 * rng.standard_normal((n, d)).astype(np.float32)
    return X, np.asarray([f"c{i}" for i in y], dtype=object)


@pytest.mark.parametrize("name", FEWSHOT)
def test_contract_and_learning(name: str) -> None:
    rng = np.random.default_rng(0)
    est = create_method(name)
    assert not [a for a in vars(est) if a.endswith("_")]
    assert clone(est).get_params() == est.get_params()
    Xs, ys = _items(rng, 30, shift=1.0)
    Xt, yt = _items(rng, 300, shift=1.0)
    assert est.fit(Xs, ys, class_embeddings=_ce()) is est
    zs = SimilarityClassifier().fit(class_embeddings=_ce())
    acc, acc_zs = (est.predict(Xt) == yt).mean(), (zs.predict(Xt) == yt).mean()
    assert acc >= acc_zs and acc > 0.8, (acc, acc_zs)
    P = est.predict_proba(Xt)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-5)
    assert list(est.classes_) == ["c0", "c1", "c2"]


@pytest.mark.parametrize("name", COMBINED)
def test_zero_shots_equal_zero_shot(name: str) -> None:
    rng = np.random.default_rng(1)
    Xt, _ = _items(rng, 50)
    est = create_method(name).fit(class_embeddings=_ce())
    zs = SimilarityClassifier().fit(class_embeddings=_ce())
    np.testing.assert_allclose(est.predict_proba(Xt), zs.predict_proba(Xt), atol=1e-5)


@pytest.mark.parametrize("name", ["prototype", "linear"])
def test_class_without_support_stays_zero_shot(name: str) -> None:
    rng = np.random.default_rng(2)
    Xs, ys = _items(rng, 40)
    keep = ys != "c2"
    est = create_method(name).fit(Xs[keep], ys[keep], class_embeddings=_ce())
    assert list(est.supported_) == [True, True, False]
    x2 = np.eye(3, 8, dtype=np.float32)[[2]]  # squarely class c2: the prior gives it its share
    assert est.predict(x2)[0] == "c2"
    zs = SimilarityClassifier().fit(class_embeddings=_ce()).predict_proba(x2)
    np.testing.assert_allclose(est.predict_proba(x2)[0, 2], zs[0, 2], rtol=1e-5)


def test_no_prior_needs_every_class() -> None:
    rng = np.random.default_rng(3)
    Xs, ys = _items(rng, 40)
    keep = ys != "c1"
    with pytest.raises(InputError, match="class 'c1' has no support examples"):
        create_method("linear", zero_shot="none").fit(Xs[keep], ys[keep], class_embeddings=_ce())
    m = create_method("prototype", zero_shot="none").fit(Xs, ys, class_embeddings=_ce())
    assert m.zero_shot_ is None and (m.predict(Xs) == ys).mean() > 0.8


@pytest.mark.parametrize("name", FEWSHOT)
def test_bad_support(name: str) -> None:
    rng = np.random.default_rng(4)
    Xs, ys = _items(rng, 12)
    with pytest.raises(InputError, match="label 'zebra' is not one of the classes"):
        create_method(name).fit(Xs, np.r_[ys[:-1], ["zebra"]], class_embeddings=_ce())
    bad = Xs.copy()
    bad[5, 0] = np.nan
    with pytest.raises(InputError, match="support example 5 has NaN"):
        create_method(name).fit(bad, ys, class_embeddings=_ce())
    with pytest.raises(InputError, match="12 support examples but 11 labels"):
        create_method(name).fit(Xs, ys[:-1], class_embeddings=_ce())
    with pytest.raises(InputError, match="give both X and y"):
        create_method(name).fit(Xs, class_embeddings=_ce())


@pytest.mark.parametrize("name", FEWSHOT)
def test_one_class_of_support(name: str) -> None:
    rng = np.random.default_rng(5)
    Xs, _ = _items(rng, 4)
    est = create_method(name).fit(Xs, np.asarray(["c0"] * 4, dtype=object), class_embeddings=_ce())
    P = est.predict_proba(Xs)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", FEWSHOT)
def test_state_round_trip(name: str) -> None:
    rng = np.random.default_rng(6)
    Xs, ys = _items(rng, 24, shift=1.0)
    est = create_method(name).fit(Xs, ys, class_embeddings=_ce())
    meta, arrays = est.get_state()
    import json

    meta = json.loads(json.dumps(meta, default=lambda o: o.item() if hasattr(o, "item") else o.tolist()))
    back = METHODS[name](**est.get_params()).set_state(meta, arrays)
    Xt, _ = _items(rng, 20, shift=1.0)
    np.testing.assert_allclose(back.predict_proba(Xt), est.predict_proba(Xt), rtol=1e-5, atol=1e-6)


def test_tip_adapter_search_uses_support_only() -> None:
    rng = np.random.default_rng(7)
    Xs, ys = _items(rng, 30, shift=1.5)
    m = create_method("tip-adapter").fit(Xs, ys, class_embeddings=_ce())
    assert m.alpha_ in m.alphas and m.beta_ in m.betas
    f = create_method("tip-adapter-f", epochs=5).fit(Xs, ys, class_embeddings=_ce())
    assert f.keys_.shape == Xs.shape and not np.allclose(f.keys_, m.keys_)


def test_concept_prior_for_backbones() -> None:
    """An image-like encoder (features unlike the text space) gets the concept bridge as prior."""
    rng = np.random.default_rng(8)
    d_feat, n_concepts = 12, 4
    W = np.zeros((n_concepts, d_feat), np.float32)
    W[np.arange(n_concepts), np.arange(n_concepts)] = 5.0
    head = ConceptHead(W, np.zeros(n_concepts, np.float32), np.eye(n_concepts, 8, dtype=np.float32),
                       ["k0", "k1", "k2", "k3"], None)
    ce = _ce()
    m = create_method("zs-linear").fit(class_embeddings=ce, concept_head=head, aligned=False)
    assert m.prior_name_ == "conse" and m.n_features_in_ == d_feat
    y = rng.integers(0, 3, 60)
    X = np.eye(3, d_feat, dtype=np.float32)[y] + 0.2 * rng.standard_normal((60, d_feat)).astype(np.float32)
    labels = np.asarray([f"c{i}" for i in y], dtype=object)
    np.testing.assert_allclose(m.predict_proba(X), create_method("conse").fit(class_embeddings=ce, concept_head=head)
                               .predict_proba(X), atol=1e-5)
    for name in ("tip-adapter", "knn", "prototype"):
        fitted = create_method(name).fit(X[:30], labels[:30], class_embeddings=ce, concept_head=head, aligned=False)
        assert (fitted.predict(X[30:]) == labels[30:]).mean() > 0.8, name
    knn = create_method("knn").fit(X[:30], labels[:30], class_embeddings=ce, concept_head=head, aligned=False)
    assert len(knn.bank_vectors_) == 30  # no prompts in a backbone's bank: they live in another space


@pytest.mark.parametrize("name", sorted(METHODS))
def test_sklearn_common_checks_that_need_no_fit_data(name: str) -> None:
    """scikit-learn's own checks of the constructor contract, for every registered method.

    (For most methods the checks that call ``fit(X, y)`` on random data cannot run: they also need
    the class descriptions, ``fit(..., class_embeddings=)``; the tests above cover fit/predict. The
    classical ZSL methods run scikit-learn's full ``check_estimator`` in test_semantic.py.)
    """
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    est = create_method(name)
    check_no_attributes_set_in_init(name, est)
    check_get_params_invariance(name, est)
    check_parameters_default_constructible(name, est)
    check_set_params(name, est)
