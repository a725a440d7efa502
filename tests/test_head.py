"""ClassifierHead: the vector-level head behind ZeroShotClassifier (fit, score, calibrate, explain, save on vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero import ClassifierHead, ZeroShotClassifier
from transzero.errors import InputError
from transzero.methods import create_method, get_tags
from transzero.methods.tags import CONTEXT_FIELDS, FitContext, MethodTags
from transzero.persistence import ModelFolder, write_folder_atomically

from .conftest import TOPIC_LABELS, TOPIC_TEXTS, KeywordEncoder


def _fitted() -> tuple[ZeroShotClassifier, np.ndarray]:
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords").fit()
    texts = [f"{t} {i}" for i in range(4) for t in TOPIC_TEXTS.values()]
    return clf, clf.encode(texts)


def test_the_facade_delegates_to_its_head() -> None:
    clf, X = _fitted()
    head = clf.head_
    assert isinstance(head, ClassifierHead) and clf.method_ is head.method and clf.classes_ is head.classes_
    assert clf.class_embeddings_ is head.class_embeddings and clf.label_space_ is head.label_space
    np.testing.assert_array_equal(clf.predict_proba_encoded(X), head.score(X).proba)
    assert clf.explain_encoded(X[:2], top=1) == head.explain(X[:2], top=1)
    clf.calibrate_encoded(X, clf.predict_encoded(X).labels)
    assert head.calibrator is clf.calibrator_ is not None


def test_a_head_works_on_vectors_alone(tmp_path: Path) -> None:
    """Fit, score, decide and save without an encoder or raw items: what stages, the service and curves use."""
    clf, X = _fitted()
    head = ClassifierHead(create_method("similarity"), clf.class_embeddings_, clf.label_space_, aligned=True)
    head.fit(None, None, FitContext(clf.class_embeddings_, KeywordEncoder().default_logit_scale))
    p = head.predict(X, reject=0.99, explain=1)
    assert p.positions == list(range(len(X))) and p.classes == TOPIC_LABELS
    assert p.labels == [c if s >= 0.99 else "none" for c, s in zip(p.argmax_labels, p.scores)]
    assert p.explanations[0]["label"] == p.argmax_labels[0] and p.explanations[0]["prompts"]
    with write_folder_atomically(tmp_path / "h") as folder:
        cfg = head.save_config(folder)
    back = ClassifierHead.from_config(cfg, ModelFolder(tmp_path / "h"), KeywordEncoder(), aligned=True)
    np.testing.assert_allclose(back.score(X).proba, head.score(X).proba)


def test_unaligned_heads_explain_only_when_the_method_does() -> None:
    clf, X = _fitted()
    head = ClassifierHead(clf.method_, clf.class_embeddings_, clf.label_space_, aligned=False)
    assert not head.can_explain
    with pytest.raises(InputError, match="no explanations here"):
        head.explain(X[:1])


def test_method_needs_are_declared_in_tags() -> None:
    """The fit context holds exactly the fields a method's tags ask for; tags name only fields that exist."""
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", method="knn").fit()
    ctx = clf._context  # (the classifier's own record of what it handed the method)
    assert ctx.aligned is True and ctx.text_encoder is None and ctx.label_space is None
    assert get_tags(clf.method_).context == {"aligned", "concept_head"}
    assert MethodTags(text_encoder=True, reads_labels=True).context == {"text_encoder", "label_space"}
    with pytest.raises(ValueError, match="unknown context field"):
        MethodTags(context=frozenset({"gpu"}))
    assert set(ZeroShotClassifier.CONTEXT_FIELDS) == CONTEXT_FIELDS
