from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from transzero import create_method
from transzero.errors import InputError
from transzero.labels import ClassEmbeddings
from transzero.methods import ConceptHead, ConSEClassifier


@pytest.fixture
def setup() -> tuple[ConceptHead, ClassEmbeddings]:
    # 4 source concepts in a 3-d text space; head reads 5-d features
    concept_vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    W = np.eye(4, 5, dtype=np.float32) * 10.0
    head = ConceptHead(W, np.zeros(4, np.float32), concept_vectors, ["lion", "tiger", "car", "boat"])
    classes = ClassEmbeddings(["animal", "vehicle"], np.array([[1, 0.05, 0], [0, 1, 0.3]], np.float32),
                              np.zeros((2, 3), np.float32), np.array([0, 1]), [])
    return head, classes


def test_conse_maps_concepts_to_targets(setup) -> None:
    head, classes = setup
    m = ConSEClassifier(top_t=2).fit(class_embeddings=classes, concept_head=head)
    X = np.array([[1, 0, 0, 0, 0], [0, 0.2, 1, 0, 0], [0, 0, 0, 1, 0]], dtype=np.float32)
    assert list(m.predict(X)) == ["animal", "vehicle", "vehicle"]
    np.testing.assert_allclose(m.predict_proba(X).sum(1), 1.0)
    # the embedding is the probability-weighted mean of the top-2 concept vectors
    p = np.exp(X[0] @ head.weight.T)
    p /= p.sum()
    top = np.argsort(-p)[:2]
    expected = (p[top, None] * head.concept_vectors[top]).sum(0)
    np.testing.assert_allclose(m.embed(X[:1])[0], expected / np.linalg.norm(expected), rtol=1e-5)
    assert clone(m).get_params() == {"top_t": 2, "logit_scale": None, "C": 1.0, "gamma": 0.0}


def test_explain_names_source_concepts(setup) -> None:
    head, classes = setup
    m = ConSEClassifier(top_t=3).fit(class_embeddings=classes, concept_head=head)
    ex = m.explain(np.array([[1, 0.5, 0, 0, 0]], np.float32), top=2)[0]
    assert ex["label"] == "animal"
    assert [c["concept"] for c in ex["concepts"]] == ["lion", "tiger"]
    assert ex["concepts"][0]["probability"] > ex["concepts"][1]["probability"] > 0


def test_conse_needs_a_head(setup) -> None:
    _, classes = setup
    with pytest.raises(InputError, match="concept head"):
        create_method("conse").fit(class_embeddings=classes)
    head, _ = setup
    with pytest.raises(InputError, match="top_t"):
        ConSEClassifier(top_t=0).fit(class_embeddings=classes, concept_head=head)


def test_state_round_trip(setup) -> None:
    head, classes = setup
    m = ConSEClassifier(top_t=2).fit(class_embeddings=classes, concept_head=head)
    meta, arrays = m.get_state()
    X = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(clone(m).set_state(meta, arrays).predict_proba(X), m.predict_proba(X))


def test_explain_a_given_class(setup) -> None:
    head, classes = setup
    m = ConSEClassifier(top_t=3).fit(class_embeddings=classes, concept_head=head)
    X = np.array([[1, 0.5, 0, 0, 0]], np.float32)
    ex = m.explain(X, top=2, classes=np.array([1]))[0]  # the runner-up: what spoke for "vehicle"
    assert ex["label"] == "vehicle"
    assert sum(c["contribution"] for c in ex["concepts"]) < sum(c["contribution"] for c in m.explain(X, top=2)[0]["concepts"])
