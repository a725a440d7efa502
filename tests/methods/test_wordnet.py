from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero.errors import ModelUnavailableError
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
