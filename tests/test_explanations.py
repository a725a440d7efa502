"""Explanations explain the decision: the decided class's sources come first (with its score), then the
runner-up class's, with the margin that separated them - for every method that explains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero import LabelSpace, ZeroShotClassifier
from transzero.pipeline.stages import explanation_sources

from .conftest import TOPIC_LABELS, TOPIC_TEXTS
from .test_cli import ENC, LABELS, run

TEXTS = list(TOPIC_TEXTS.values()) + ["the goal of the budget vote", "a chip for the team", "vote on the phone"]


def _check(e: dict, label: str, classes: list[str]) -> None:
    """The first source belongs to the decided class, the runner-up's follow, and the scores say why."""
    sources = explanation_sources(e)
    assert sources, e
    assert e["label"] == label and sources[0]["class"] == label
    runner = e["runner_up"]
    assert runner["label"] != label and runner["label"] in classes
    assert runner["margin"] == pytest.approx(e["score"] - runner["score"]) and runner["margin"] >= 0
    seen = [s["class"] for s in sources]
    lead = seen.index(runner["label"]) if runner["label"] in seen else len(seen)
    assert set(seen[:lead]) == {label}  # every source of the decided class before the runner-up's
    assert all(s["class"] == runner["label"] for s in sources[lead:] if s["class"] not in (label,))


def test_the_nearest_prompts_of_the_predicted_class_come_first() -> None:
    # one class has a prompt that sits right on the item, but its other prompts pull its centroid away: the
    # decision is the other class, and so is the explanation's first line (the nearest prompt overall was not)
    space = LabelSpace(["sports", "politics"], descriptions={"sports": ["goal", "team", "match"],
                                                              "politics": ["vote budget", "vote goal"]},
                       use_names=False)
    clf = ZeroShotClassifier(space, encoder="test-keywords").fit()
    X = clf.encode(["goal vote budget"])
    label = str(clf.predict(["goal vote budget"])[0])
    e = clf.explain_encoded(X, top=2)[0]
    _check(e, label, ["sports", "politics"])
    assert len([s for s in e["prompts"] if s["class"] == label]) == 2


def test_an_explanation_follows_the_decided_probabilities() -> None:
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords").fit()
    X = clf.encode(TEXTS)
    P = clf.predict_proba_encoded(X)
    flipped = P[:, ::-1].copy()  # a decision made elsewhere (transduction, say) on other probabilities
    classes = [str(c) for c in clf.classes_]
    for i, e in enumerate(clf.explain_encoded(X, top=2, proba=flipped)):
        _check(e, classes[int(np.argmax(flipped[i]))], classes)
        assert e["score"] == pytest.approx(flipped[i].max())


@pytest.mark.parametrize("method", ["similarity", "prototype", "knn", "tip-adapter", "linear", "zs-linear"])
def test_every_prompt_method_explains_its_prediction(method: str) -> None:
    support = [("a goal for the team", "sports"), ("the budget vote", "politics"), ("a new phone chip", "technology"),
               ("the match and the goal", "sports"), ("vote on the budget", "politics"), ("a chip in the phone", "technology")]
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", method=method)
    clf.fit([t for t, _ in support], [y for _, y in support]) if method != "similarity" else clf.fit()
    if not clf.can_explain:
        pytest.skip(f"{method} has no explanations")
    classes = [str(c) for c in clf.classes_]
    for e, label in zip(clf.explain(TEXTS, top=2), clf.predict(TEXTS)):
        _check(e, str(label), classes)


def test_the_cli_and_csv_explain_the_transductive_decision(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS * 4) + "\n")
    out = tmp_path / "p.jsonl"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--explain", "2", "--transductive",
                        "-o", str(out)], capsys)
    assert code == 0, err
    for rec in map(json.loads, out.read_text().splitlines()):
        assert rec["explanation"][0]["class"] == rec["label"]
        assert rec["explanation"][0]["class_score"] == pytest.approx(rec["probabilities"][rec["label"]], abs=1e-5)
    csv_out = tmp_path / "p.csv"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--explain", "1", "-o", str(csv_out)], capsys)
    assert code == 0, err
    import csv

    for row in csv.DictReader(csv_out.open()):
        assert row["explanation"].startswith(f"{row['label']} ") and " | vs " in row["explanation"]


def test_the_explain_methods_explain_the_class_they_are_given() -> None:
    """conse and the attribute methods explain ``classes[i]`` when asked (the decided class, the runner-up)."""
    from transzero.methods import ZSL_METHODS, create_method

    rng = np.random.default_rng(0)
    S = (rng.random((6, 12)) < 0.5).astype(float)
    M = rng.normal(size=(12, 16))
    names = [f"c{i}" for i in range(6)]
    space = LabelSpace.from_attributes(names, S, [f"attr{j}" for j in range(12)])
    X = np.vstack([S[k] @ M + rng.normal(size=(20, 16)) for k in range(6)])
    y = [names[k] for k in range(6) for _ in range(20)]
    for name in [m for m in ZSL_METHODS if m != "conse"]:
        est = create_method(name).fit(X, y, class_embeddings=space.embed(None), default_logit_scale=10.0)
        want = (np.argmax(est.decision_function(X[:5]), axis=1) + 1) % 6
        got = est.explain(X[:5], top=3, classes=want)
        assert [e["label"] for e in got] == [names[k] for k in want], name
