"""MultiTaskClassifier: zero-shot per task without labels, joint fit with partial labels, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from transzero import MultiTaskClassifier, create_encoder
from transzero.errors import InputError

from .conftest import KeywordEncoder

TOPICS = ["sports", "politics", "technology"]
WORDS = {"sports": ["match", "goal", "team"], "politics": ["election", "vote", "senator"],
         "technology": ["phone", "chip", "software"]}
MOOD = {"positive": ["great", "wonderful", "superb"], "negative": ["awful", "dreadful", "bleak"]}


def _data(n: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, topics, moods = [], [], []
    for _ in range(n):
        t, m = TOPICS[rng.integers(3)], ["positive", "negative"][rng.integers(2)]
        texts.append(f"{rng.choice(WORDS[t])} {rng.choice(MOOD[m])} {rng.choice(MOOD[m])} news")
        topics.append(t)
        moods.append(m)
    return texts, topics, moods


def _mt() -> MultiTaskClassifier:
    return MultiTaskClassifier({"topic": TOPICS, "mood": ["positive", "negative"]},
                               encoder=create_encoder("test-keywords", dim=32))


def test_zero_shot_without_labels_then_learns_jointly(tmp_path: Path) -> None:
    texts, topics, moods = _data(120, 0)
    test_t, test_topics, test_moods = _data(200, 1)
    zs = _mt().fit()
    P0 = zs.predict_proba(test_t)
    # no labels: each task is its zero-shot classifier
    np.testing.assert_allclose(P0["topic"], zs.task_clfs_["topic"].predict_proba(test_t), rtol=1e-5)
    acc0 = {t: (zs.predict(test_t)[t] == np.asarray(g)).mean() for t, g in (("topic", test_topics), ("mood", test_moods))}
    # half the items carry only a topic label, the other half only a mood label
    y = {"topic": [t if i % 2 else None for i, t in enumerate(topics)],
         "mood": [m if i % 2 == 0 else None for i, m in enumerate(moods)]}
    mt = _mt().fit(texts, y)
    assert mt.n_labelled_ == {"topic": 60, "mood": 60}
    pred = mt.predict(test_t)
    acc = {t: (pred[t] == np.asarray(g)).mean() for t, g in (("topic", test_topics), ("mood", test_moods))}
    # the keyword encoder has no mood dimensions: zero-shot mood is near chance, the joint fit learns it
    assert acc["mood"] > 0.9 and acc["mood"] > acc0["mood"] + 0.1
    assert acc["topic"] >= acc0["topic"] - 0.02
    for t in ("topic", "mood"):
        np.testing.assert_allclose(mt.predict_proba(test_t)[t].sum(1), 1.0, rtol=1e-5)
    back = MultiTaskClassifier.load(mt.save(tmp_path / "mt"))
    for t, p in mt.predict_proba(test_t).items():
        np.testing.assert_allclose(back.predict_proba(test_t)[t], p, rtol=1e-5, atol=1e-6)


def test_bad_multitask_input() -> None:
    texts, topics, _ = _data(6, 2)
    with pytest.raises(NotFittedError):
        _mt().predict(texts)
    with pytest.raises(InputError, match="unknown task 'color'"):
        _mt().fit(texts, {"color": topics})
    with pytest.raises(InputError, match="label 'weather' is not one of its classes"):
        _mt().fit(texts, {"topic": topics[:-1] + ["weather"]})
    with pytest.raises(InputError, match="5 labels for 6 items"):
        _mt().fit(texts, {"topic": topics[:5]})
    with pytest.raises(InputError, match="no task has any labelled item"):
        _mt().fit(texts, {"topic": [None] * 6})
    with pytest.raises(InputError, match="at least one task"):
        MultiTaskClassifier({}, encoder=KeywordEncoder()).fit()
