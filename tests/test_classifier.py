from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from transzero import EmbeddingCache, KNNClassifier, LabelSpace, ZeroShotClassifier, load_classifier
from transzero.errors import InputError, SavedModelError

from .conftest import TOPIC_LABELS, TOPIC_TEXTS, KeywordEncoder


def _clf(**kw) -> ZeroShotClassifier:
    return ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", **kw)


def test_three_line_usage_and_contract() -> None:
    clf = _clf()
    assert clone(clf).get_params()["labels"] == TOPIC_LABELS
    with pytest.raises(NotFittedError):
        clf.predict(["x"])
    assert clf.fit() is clf
    texts = list(TOPIC_TEXTS.values())
    assert list(clf.predict(texts)) == list(TOPIC_TEXTS)
    assert list(clf.classes_) == TOPIC_LABELS
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert clf.decision_function(texts).shape == (3, 3)
    assert clf.score(texts, list(TOPIC_TEXTS)) == 1.0


def test_default_encoder_is_used_when_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from transzero import defaults

    monkeypatch.setitem(defaults.DEFAULT_ENCODERS, "text", "test-keywords")
    clf = ZeroShotClassifier(TOPIC_LABELS).fit()
    assert clf.encoder_.name == "test-keywords"


def test_label_space_and_method_objects() -> None:
    ls = LabelSpace(TOPIC_LABELS, descriptions={"sports": "a goal in the match"})
    clf = ZeroShotClassifier(ls, encoder=KeywordEncoder(), method=KNNClassifier(n_neighbors=1)).fit()
    assert clf.predict(["what a goal"])[0] == "sports"
    clf2 = ZeroShotClassifier(ls, encoder=KeywordEncoder(), method="knn", method_params={"n_neighbors": 2}).fit()
    assert clf2.method_.n_neighbors == 2


def test_few_shot_examples_through_knn() -> None:
    # "tennis" is a sports word, but we teach the class with examples only
    clf = _clf(method="knn", method_params={"n_neighbors": 1})
    clf.fit(["budget vote", "striker goal"], ["politics", "sports"])
    assert clf.method_.bank_vectors_.shape[0] == len(clf.class_embeddings_.prompt_vectors) + 2  # prompts + examples
    with pytest.raises(InputError, match="zero-shot"):
        _clf().fit(["budget vote"], ["politics"])


def test_bad_inputs() -> None:
    clf = _clf().fit()
    with pytest.raises(InputError, match="not a single string"):
        clf.predict("a single string")
    with pytest.raises(InputError, match=r"items\[1\]: text is empty"):
        clf.predict(["fine", "   "])
    with pytest.raises(InputError, match="no labels"):
        ZeroShotClassifier(encoder="test-keywords").fit()
    with pytest.raises(InputError, match="not one string"):
        ZeroShotClassifier("a,b", encoder="test-keywords").fit()


def test_predict_batch_reports_bad_items_and_keeps_going() -> None:
    clf = _clf().fit()
    res = clf.predict_batch(["a goal", "", None, "new chip"])
    assert res.labels == ["sports", None, None, "technology"]
    assert set(res.errors) == {1, 2}
    assert np.isnan(res.proba[1]).all() and not np.isnan(res.proba[3]).any()


def test_cache_is_used(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path)
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder=enc, cache=cache).fit()
    clf.predict(["a goal", "a chip"])
    n = enc.items_encoded
    clf2 = ZeroShotClassifier(TOPIC_LABELS, encoder=enc, cache=tmp_path).fit()
    clf2.predict(["a goal", "a chip"])
    assert enc.items_encoded == n


def test_save_load_round_trip(tmp_path: Path) -> None:
    ls = LabelSpace(TOPIC_LABELS, descriptions={"sports": ["tennis match"]}, templates="topic")
    for method, fit_args in (("similarity", ()), ("knn", (["budget vote"], ["politics"]))):
        clf = ZeroShotClassifier(ls, encoder="test-keywords", method=method).fit(*fit_args)
        d = clf.save(tmp_path / method)
        files = sorted(p.name for p in d.iterdir())
        assert "config.json" in files and all(f.endswith((".json", ".npy")) for f in files)
        cfg = json.loads((d / "config.json").read_text())
        assert cfg["format_version"] == 2 and cfg["kind"] == "classifier"
        assert cfg["encoder"]["name"] == "test-keywords" and cfg["tasks"][0]["method"]["name"] == method
        loaded = load_classifier(d)
        texts = ["a goal", "vote", "chip and software", "tennis"]
        np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), rtol=1e-6)
        assert list(loaded.classes_) == list(clf.classes_)
        assert loaded.label_space_ == ls


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SavedModelError, match="no config.json"):
        load_classifier(tmp_path)
    d = _clf().fit().save(tmp_path / "m")
    (d / "class_vectors.npy").unlink()
    with pytest.raises(SavedModelError, match="missing class_vectors.npy"):
        load_classifier(d)
    d = _clf().fit().save(tmp_path / "m2")
    with pytest.raises(SavedModelError, match="fingerprint"):
        load_classifier(d, encoder=KeywordEncoder(dim=20))
    (d / "config.json").write_text("{not json")
    with pytest.raises(SavedModelError, match="not valid JSON"):
        load_classifier(d)


def test_saved_arrays_load_without_pickle(tmp_path: Path) -> None:
    d = _clf(method="knn").fit().save(tmp_path / "m")
    for f in d.glob("*.npy"):
        np.load(f, allow_pickle=False)  # raises if an object array was written


def test_works_in_sklearn_model_selection() -> None:
    from sklearn.model_selection import GridSearchCV, cross_val_score

    texts = ["a goal", "the match", "striker", "tennis team", "the vote", "budget", "senator", "election day",
             "a chip", "software", "phone", "compiler"]
    y = ["sports"] * 4 + ["politics"] * 4 + ["technology"] * 4
    base = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", method="knn")
    search = GridSearchCV(base, {"method_params": [{"n_neighbors": 1}, {"n_neighbors": 3}]}, cv=2)
    search.fit(texts, y)
    assert search.best_score_ == 1.0
    assert cross_val_score(ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", method="knn"), texts, y, cv=2).mean() == 1.0


def test_save_load_keeps_encoder_options(tmp_path: Path) -> None:
    from transzero import create_encoder

    enc = create_encoder("test-keywords", dim=20)
    d = ZeroShotClassifier(TOPIC_LABELS, encoder=enc).fit().save(tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["encoder"]["kwargs"] == {"dim": 20}
    assert load_classifier(d).encoder_.dim == 20


def test_image_items_need_a_bridge_or_a_text_tower() -> None:
    class FakeImageEncoder(KeywordEncoder):
        modality = "image"

    with pytest.raises(InputError, match="no text tower; use a bridge such as --method conse"):
        ZeroShotClassifier(TOPIC_LABELS, encoder=FakeImageEncoder(name="img"), label_encoder=KeywordEncoder()).fit()
    with pytest.raises(InputError, match="needs an encoder with a concept head"):
        ZeroShotClassifier(TOPIC_LABELS, encoder=FakeImageEncoder(name="img"), label_encoder=KeywordEncoder(), method="conse").fit()


def test_concept_space_is_embedded_once_per_process() -> None:
    from transzero.concepts import imagenet_concepts
    from transzero.labels import concept_label_space

    a = concept_label_space(imagenet_concepts()[:3], templates=["a photo of {}"])
    b = concept_label_space(imagenet_concepts()[:3], templates=["a photo of {}"])
    assert a is b and a.prompts_for(a.names[0]) == ["a photo of tench"]
    enc = KeywordEncoder()
    a.embed(enc)
    calls = enc.calls
    b.embed(enc)
    assert enc.calls == calls


@pytest.mark.parametrize("transductive", [False, True])
def test_predict_batch_and_classify_pipeline_agree(transductive: bool) -> None:
    """One prediction path: predict_batch and ClassifyPipeline give the same labels, probabilities, explanations,
    rejection scores and multi-label sets (bad items reported the same way), with and without transduction."""
    from transzero.data.text import ItemTable
    from transzero.pipeline import AdaptSpec, AdaptStage, ClassifyPipeline, DecideSpec

    clf = _clf().fit()
    words = ["the striker scored a goal", "the match and the team", "parliament vote on the budget",
             "the senator and the election", "a phone with new software", "the chip is faster", "goal and budget"]
    texts = [f"{w} {i}" for i in range(6) for w in words] + ["", "bad \udcff text"]
    adapt = AdaptSpec(transductive=transductive, steps=("propagate", "balance") if transductive else ())
    decide = DecideSpec(reject="0.4", multi_label=0.5, explain=2)
    t = AdaptStage.transduction(clf, adapt) if transductive else None
    res = clf.predict_batch(texts, explain=2, transduction=t, reject=0.4, multi_label=0.5)
    preds = ClassifyPipeline(clf, adapt, decide).run(ItemTable.from_items(texts))
    good = preds.positions
    assert good == [i for i in range(len(texts)) if i not in res.errors] and set(res.errors) == set(preds.errors)
    assert [res.labels[i] for i in good] == preds.labels
    np.testing.assert_array_equal(res.proba[good], preds.proba)
    np.testing.assert_array_equal(res.scores[good], preds.scores)
    assert [res.multi_labels[i] for i in good] == preds.multi_labels
    assert [res.explanations[i] for i in good] == preds.explanations
    if transductive:
        np.testing.assert_array_equal(res.inductive_proba[good], preds.inductive_proba)
        assert res.transduction_info == preds.transduction and preds.transduction["steps"]
        assert not np.allclose(preds.proba, preds.inductive_proba)  # the adaptation did something
    else:
        assert res.inductive_proba is None and preds.inductive_proba is None
