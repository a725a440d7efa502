"""``--method auto``: the few-shot method chosen by cross-validation on the support set only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from transzero import ZeroShotClassifier, load_classifier
from transzero.methods import create_method
from transzero.methods.auto import CANDIDATES, ONE_SHOT, ZERO_SHOT

from ..conftest import TOPIC_LABELS
from ..test_cli import run
from .test_fewshot import _ce, _items


def test_auto_cross_validates_every_candidate_and_keeps_the_best() -> None:
    rng = np.random.default_rng(0)
    Xs, ys = _items(rng, 60, shift=1.0)
    Xt, yt = _items(rng, 300, shift=1.0)
    auto = create_method("auto").fit(Xs, ys, class_embeddings=_ce())
    sel = auto.selection_
    assert len(sel["scores"]) == len(CANDIDATES) and sel["folds"] == 5 and "held-out accuracy" in sel["why"]
    assert sel["scores"][sel["chosen"]] == max(sel["scores"].values())
    # the chosen candidate refitted on everything scores exactly like auto
    best = create_method(sel["method"], **sel["params"]).fit(Xs, ys, class_embeddings=_ce())
    np.testing.assert_allclose(auto.decision_function(Xt), best.decision_function(Xt), rtol=1e-6)
    assert (auto.predict(Xt) == yt).mean() > 0.8


def test_auto_with_one_shot_uses_the_documented_choice() -> None:
    rng = np.random.default_rng(1)
    Xs, ys = _items(rng, 30)
    first = [int(np.flatnonzero(ys == c)[0]) for c in ("c0", "c1", "c2")]
    auto = create_method("auto").fit(Xs[first], ys[first], class_embeddings=_ce())
    assert auto.selection_["method"] == ONE_SHOT[0] and "nothing to hold out" in auto.selection_["why"]
    zero = create_method("auto").fit(class_embeddings=_ce())  # 0 shots: the candidates' zero-shot prior
    assert zero.selection_["method"] == ZERO_SHOT[0] and "0 shots" in zero.selection_["why"]
    np.testing.assert_allclose(zero.decision_function(Xs), create_method(ZERO_SHOT[0]).fit(
        class_embeddings=_ce()).decision_function(Xs), rtol=1e-6)


def test_classifier_keeps_the_chosen_method_and_saves_it(tmp_path: Path, keyword_encoder) -> None:
    from ..conftest import TOPIC_TEXTS

    texts = [t for t in TOPIC_TEXTS.values() for _ in range(4)]
    labels = [k for k in TOPIC_TEXTS for _ in range(4)]
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder=keyword_encoder, method="auto", cache=False).fit(texts, labels)
    assert clf.selection_["method"] == clf.method_name != "auto"
    clf.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m", encoder=keyword_encoder)
    assert back.method_name == clf.method_name
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts), rtol=1e-5)


def test_eval_method_auto_reports_what_it_chose(tmp_path: Path, capsys) -> None:
    from ..pipeline.test_safety import labelled_csv

    evald = labelled_csv(tmp_path / "e.csv", 30, seed=1)
    support = labelled_csv(tmp_path / "s.csv", 120, seed=2)
    js = tmp_path / "r.json"
    code, _, err = run(["eval", str(evald), "--encoder", "test-keywords", "--no-cache", "--support", str(support),
                        "--shots", "8", "--seeds", "2", "--method", "auto", "--json", str(js)], capsys)
    assert code == 0, err
    r = json.loads(js.read_text())
    row = r["curve"][0]
    assert r["chosen_method"] in row["chosen"] and len(row["chosen"]) == 2 and 0 <= r["accuracy"] <= 1
    assert all(len(s["scores"]) == len(CANDIDATES) and s["folds"] == 5 for s in row["selection"])
    assert "(chose " in err
