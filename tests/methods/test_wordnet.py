from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero.errors import InputError, ModelUnavailableError
from transzero.labels import ClassEmbeddings
from transzero.methods import ConceptHead, WordNetClassifier
from transzero.wordnet import load_wordnet, synset_for, wordnet_root

needs_wordnet = pytest.mark.skipif(
    not (wordnet_root() / "data.noun").is_file(), reason="WordNet 3.0 not installed (apt-get install wordnet-base)"
)

# four real ImageNet-1k concepts: goldfish, tabby cat, tiger shark, sports car
WNIDS = ["n01443537", "n02123045", "n01491361", "n04285008"]
NAMES = ["goldfish", "tabby cat", "tiger shark", "sports car"]


@needs_wordnet
def test_reader_and_synsets() -> None:
    wn = load_wordnet()
    assert synset_for(wn, "n01443537").name() == "goldfish.n.01"
    assert synset_for(wn, "dog.n.01").name() == "dog.n.01"
    assert synset_for(wn, "sports car").name() == "sports_car.n.01"
    assert synset_for(wn, "qwzxv") is None


def test_missing_wordnet_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSZERO_WORDNET", str(tmp_path))
    load_wordnet.cache_clear()
    with pytest.raises(ModelUnavailableError, match="apt-get install wordnet-base"):
        load_wordnet()
    load_wordnet.cache_clear()


@needs_wordnet
def test_hyponym_mass_and_fallback() -> None:
    concept_vectors = np.eye(4, 3, dtype=np.float32)
    concept_vectors[3] = [0, 0, 1]  # sports car
    head = ConceptHead(np.eye(4, 6, dtype=np.float32) * 10, np.zeros(4, np.float32), concept_vectors, NAMES, WNIDS)
    # "fish" covers goldfish + tiger shark; "feline" the tabby; "zorblax" is no WordNet noun -> text fallback
    classes = ClassEmbeddings(["fish", "feline", "zorblax"], np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32),
                              np.zeros((3, 3), np.float32), np.arange(3), [])
    m = WordNetClassifier(fallback_k=1).fit(class_embeddings=classes, concept_head=head)
    np.testing.assert_array_equal(m.aggregation_[0], [1, 0, 1, 0])
    np.testing.assert_array_equal(m.aggregation_[1], [0, 1, 0, 0])
    assert m.fallback_classes_ == ["zorblax"] and m.aggregation_[2].argmax() == 3
    X = np.array([[1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], np.float32)
    assert list(m.predict(X)) == ["fish", "fish", "feline", "zorblax"]
    np.testing.assert_allclose(m.predict_proba(X).sum(1), 1.0)
    ex = m.explain(X[:1], top=2)[0]
    assert ex["label"] == "fish" and ex["concepts"][0]["concept"] == "goldfish" and ex["via"] == "WordNet hyponyms"
    assert m.explain(X[3:], top=1)[0]["via"].startswith("text similarity")


@needs_wordnet
def test_mean_aggregate_removes_the_class_size_prior_and_relatives_fill_empty_classes() -> None:
    # ox, impala (ruminants); tabby, tiger cat, Persian cat (cats)
    wnids = ["n02403003", "n02422699", "n02123045", "n02123159", "n02123394"]
    names = ["ox", "impala", "tabby", "tiger cat", "Persian cat"]
    head = ConceptHead(np.eye(5, dtype=np.float32), np.zeros(5, np.float32), np.eye(5, 3, dtype=np.float32), names, wnids)
    classes = ClassEmbeddings(["cat", "deer"], np.eye(2, 3, dtype=np.float32), np.zeros((2, 3), np.float32), np.arange(2), [])
    mean = WordNetClassifier(temperature=1.0).fit(class_embeddings=classes, concept_head=head)
    total = WordNetClassifier(aggregate="sum").fit(class_embeddings=classes, concept_head=head)
    # "deer" has no ImageNet hyponym: it takes the ruminants, its relatives under ruminant.n.01
    np.testing.assert_array_equal(mean.aggregation_[1], [1, 1, 0, 0, 0])
    assert mean.fallback_classes_ == ["deer"] and "ruminant" in mean.relations_[1]
    # ruminants: total .44, mean .22; cats: total .56, mean .187 -> the two rules disagree
    x = np.log(np.array([[0.02, 0.42, 0.19, 0.19, 0.18]], np.float32))
    assert mean.predict(x)[0] == "deer" and total.predict(x)[0] == "cat"
    np.testing.assert_allclose(mean.predict_proba(x)[0], [0.56 / 3, 0.22] / np.sum([0.56 / 3, 0.22]), rtol=1e-5)
    assert mean.explain(x, top=1)[0]["concepts"][0]["concept"] == "impala"
    # the temperature softens the probabilities, never the decision
    warm = WordNetClassifier(temperature=2.0).fit(class_embeddings=classes, concept_head=head)
    p = np.array([0.56 / 3, 0.22]) ** 0.5
    np.testing.assert_allclose(warm.predict_proba(x)[0], p / p.sum(), rtol=1e-5)
    assert warm.predict(x)[0] == "deer"
    with pytest.raises(InputError, match="temperature must be > 0"):
        WordNetClassifier(temperature=0).fit(class_embeddings=classes, concept_head=head)
    with pytest.raises(InputError, match="aggregate must be one of"):
        WordNetClassifier(aggregate="max").fit(class_embeddings=classes, concept_head=head)
