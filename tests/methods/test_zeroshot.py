from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from transzero import KNNClassifier, SimilarityClassifier, create_method, list_methods
from transzero.errors import InputError, TranszeroError
from transzero.labels import ClassEmbeddings


def _ce(rng: np.random.Generator, k: int = 3, d: int = 8, per: int = 2) -> ClassEmbeddings:
    centers = np.eye(k, d, dtype=np.float32)
    prompts = np.repeat(centers, per, axis=0) + 0.05 * rng.standard_normal((k * per, d)).astype(np.float32)
    prompts /= np.linalg.norm(prompts, axis=1, keepdims=True)
    labels = np.repeat(np.arange(k), per)
    return ClassEmbeddings([f"c{i}" for i in range(k)], centers, prompts, labels, [f"p{i}" for i in range(k * per)])


@pytest.fixture
def data() -> tuple[ClassEmbeddings, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ce = _ce(rng)
    y = rng.integers(0, 3, size=60)
    X = np.eye(3, 8, dtype=np.float32)[y] + 0.3 * rng.standard_normal((60, 8)).astype(np.float32)
    return ce, X, np.asarray([f"c{i}" for i in y], dtype=object)


@pytest.mark.parametrize("cls", [SimilarityClassifier, KNNClassifier])
def test_estimator_contract(cls, data) -> None:
    ce, X, y = data
    est = cls()
    # constructor stores arguments only; get_params/clone round-trip
    assert not [a for a in vars(est) if a.endswith("_")]
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert est.fit(class_embeddings=ce) is est
    assert list(est.classes_) == ce.classes
    proba = est.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    pred = est.predict(X)
    assert (pred == est.classes_[proba.argmax(1)]).all()
    assert (pred == y).mean() > 0.9
    assert est.score(X, y) == pytest.approx((pred == y).mean())
    assert est.n_features_in_ == 8


def test_logit_scale_default_and_override(data) -> None:
    ce, X, _ = data
    a = SimilarityClassifier().fit(class_embeddings=ce, default_logit_scale=20.0)
    b = SimilarityClassifier(logit_scale=100.0).fit(class_embeddings=ce, default_logit_scale=20.0)
    assert a.logit_scale_ == 20.0 and b.logit_scale_ == 100.0
    # a larger scale makes predictions sharper but does not change them
    assert (a.predict(X) == b.predict(X)).all()
    assert b.predict_proba(X).max(1).mean() > a.predict_proba(X).max(1).mean()


def test_similarity_refuses_labels(data) -> None:
    ce, X, y = data
    with pytest.raises(InputError, match="zero-shot"):
        SimilarityClassifier().fit(X, y, class_embeddings=ce)


def test_knn_learns_from_examples(data) -> None:
    ce, _, _ = data
    rng = np.random.default_rng(1)
    yi = rng.integers(0, 3, size=60)
    X = np.eye(3, 8, dtype=np.float32)[yi] + 0.1 * rng.standard_normal((60, 8)).astype(np.float32)
    y = np.asarray([f"c{i}" for i in yi], dtype=object)
    # class prompts that point the wrong way: c0 and c1 swapped
    swapped = ClassEmbeddings(ce.classes, ce.vectors[[1, 0, 2]], ce.prompt_vectors, np.array([1, 1, 0, 0, 2, 2]), ce.prompts)
    zs = KNNClassifier(n_neighbors=3).fit(class_embeddings=swapped)
    fs = KNNClassifier(n_neighbors=3).fit(X[:30], y[:30], class_embeddings=swapped)
    assert fs.score(X[30:], y[30:]) > zs.score(X[30:], y[30:]) + 0.3
    with pytest.raises(InputError, match="not one of the classes"):
        KNNClassifier().fit(X[:2], ["c0", "zzz"], class_embeddings=ce)
    with pytest.raises(InputError, match="n_neighbors"):
        KNNClassifier(n_neighbors=0).fit(class_embeddings=ce)


def test_knn_logits_are_log_votes(data) -> None:
    ce, X, _ = data
    m = KNNClassifier(n_neighbors=2, logit_scale=10.0).fit(class_embeddings=ce)
    x = X[:1] / np.linalg.norm(X[:1])
    sims = (x @ m.bank_vectors_.T)[0]
    top = np.argsort(-sims)[:2]
    votes = np.zeros(3)
    for j in top:
        votes[m.bank_labels_[j]] += np.exp(10.0 * sims[j])
    expected = votes / votes.sum()
    np.testing.assert_allclose(m.predict_proba(X[:1])[0], expected, rtol=1e-4, atol=1e-9)


def test_bad_vectors(data) -> None:
    ce, X, _ = data
    m = SimilarityClassifier().fit(class_embeddings=ce)
    with pytest.raises(InputError, match="same encoder"):
        m.predict(np.ones((2, 5)))
    with pytest.raises(InputError, match="shape"):
        m.predict(np.ones(8))
    with pytest.raises(InputError, match="NaN"):
        m.predict(np.full((1, 8), np.nan))
    with pytest.raises(InputError, match="class_embeddings"):
        SimilarityClassifier().fit()


def test_state_round_trip(data) -> None:
    ce, X, y = data
    for m in (SimilarityClassifier(logit_scale=30.0), KNNClassifier(n_neighbors=4)):
        m.fit(class_embeddings=ce) if isinstance(m, SimilarityClassifier) else m.fit(X[:10], y[:10], class_embeddings=ce)
        meta, arrays = m.get_state()
        fresh = clone(m).set_state(meta, arrays)
        np.testing.assert_allclose(fresh.predict_proba(X), m.predict_proba(X))


def test_method_registry() -> None:
    assert list_methods() == ["ale", "asr-grammar", "asr-text", "auto", "conse", "dap", "devise", "eszsl", "finetune", "knn",
                              "linear", "ocr", "prototype", "sae", "similarity", "sje", "tip-adapter", "tip-adapter-f",
                              "whisper", "whisper-fused", "whisper-text", "wordnet", "zs-linear"]
    assert isinstance(create_method("knn", n_neighbors=3), KNNClassifier)
    with pytest.raises(TranszeroError, match="unknown method 'svm'"):
        create_method("svm")
