"""Multimodal records: late-fusion math, missing fields, early fusion, and the CLI's multi-column path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero import ZeroShotClassifier
from transzero.errors import InputError
from transzero.multimodal import MultiModalClassifier, late_fusion

from .conftest import KeywordEncoder
from .test_cli import LABELS, run


def test_late_fusion_math() -> None:
    P1 = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [np.nan, np.nan, np.nan]])
    P2 = np.array([[0.2, 0.6, 0.2], [np.nan, np.nan, np.nan], [np.nan, np.nan, np.nan]])
    P = late_fusion({"a": np.log(P1), "b": np.log(P2)}, {"a": 2.0, "b": 1.0})
    expected = (P1[0] ** 2 * P2[0]) ** (1 / 3)
    np.testing.assert_allclose(P[0], expected / expected.sum(), rtol=1e-9)
    np.testing.assert_allclose(P[1], P1[1], rtol=1e-9)  # field b missing: field a alone
    assert np.isnan(P[2]).all()  # nothing present
    with pytest.raises(InputError, match="must be >= 0"):
        late_fusion({"a": np.log(P1)}, {"a": -1})


def _mm(fusion: str = "late") -> MultiModalClassifier:
    labels = LABELS.split(",")
    return MultiModalClassifier({"title": ZeroShotClassifier(labels, encoder=KeywordEncoder()),
                                 "body": ZeroShotClassifier(labels, encoder=KeywordEncoder("kw2"))}, fusion=fusion)


def test_records_with_missing_fields_are_scored_with_what_they_have() -> None:
    mm = _mm().fit()
    recs = [{"title": "the striker scored", "body": "a goal for the team"},
            {"title": "the budget vote"},
            {"body": "   "},
            {"title": "new phone chip", "body": "the match and the team"}]
    res = mm.predict_batch(recs)
    assert res.labels[:2] == ["sports", "politics"]
    assert res.missing[1] == ["body"] and res.missing[2] == ["title", "body"]
    assert 2 in res.errors and "no usable field" in res.errors[2]
    # conflicting fields: the fused probabilities sit between the two fields' own
    p_t, p_b = res.per_field["title"][3], res.per_field["body"][3]
    assert min(p_t[2], p_b[2]) <= res.proba[3][2] <= max(p_t[2], p_b[2])


def test_early_fusion_learns_from_labelled_records() -> None:
    recs = [{"title": t, "body": b} for t, b in [("the striker", "goal"), ("budget", "senator vote"),
                                                  ("phone", "software chip"), ("team", "match")]] * 5
    y = ["sports", "politics", "technology", "sports"] * 5
    mm = _mm("early").fit(recs, y)
    assert list(mm.predict([{"title": "the team", "body": "a goal"}, {"title": "vote"}])) == ["sports", "politics"]
    with pytest.raises(InputError, match="labelled records"):
        _mm("early").fit()


def test_cli_multimodal_columns(tmp_path: Path, capsys) -> None:
    from PIL import Image

    img = tmp_path / "x.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(img)
    (tmp_path / "d.csv").write_text("title,photo,label\nthe striker scored a goal,x.png,sports\n"
                                    "parliament vote,,politics\n,x.png,technology\n")
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(tmp_path / "d.csv"), "--labels", LABELS, "--text-column", "title",
                        "--image-column", "photo", "--text-encoder", "test-keywords", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["fields"] == ["text", "image"] and r["n"] == 3
    assert r["n_missing_field"] == 2 and "row 2: scored without image" in err
    assert set(r["per_field"]) == {"text", "image"}


def test_multimodal_eval_fuses_per_field_pipeline_predictions() -> None:
    """The multimodal eval predicts each field through ClassifyPipeline and fuses: the same result as
    MultiModalClassifier.predict_batch, and as late fusion of the pipelines' probabilities computed here."""
    from transzero.data.text import ItemTable
    from transzero.evaluate import classification_report
    from transzero.pipeline import ClassifyPipeline
    from transzero.pipeline.jobs.multimodal import MultiModalJob

    mm = MultiModalClassifier({"title": ZeroShotClassifier(LABELS.split(","), encoder=KeywordEncoder()),
                               "body": ZeroShotClassifier(LABELS.split(","), encoder=KeywordEncoder("kw2"))},
                              weights={"title": 2.0}).fit()
    recs = [{"title": "the striker scored", "body": "a goal for the team"}, {"title": "the budget vote"},
            {"body": "   "}, {"title": "new phone chip", "body": "the match and the team"},
            {"title": "bad \udcff text", "body": "the senator"}, {"title": "a goal", "body": "new software"}]
    gold = ["sports", "politics", "sports", "technology", "politics", "sports"]
    direct = mm.predict_batch(recs)
    job = mm.fuse(*MultiModalJob.per_field(mm, recs))
    assert job.labels == direct.labels and job.errors == direct.errors
    assert job.missing == direct.missing and job.field_errors == direct.field_errors
    np.testing.assert_array_equal(job.proba, direct.proba)
    for f in ("title", "body"):
        np.testing.assert_array_equal(job.per_field[f], direct.per_field[f])
    # by hand: each field's ClassifyPipeline probabilities, log-linear pooling, the eval metrics
    logs = {}
    for f in ("title", "body"):
        rows = [i for i, r in enumerate(recs) if (r.get(f) or "").strip()]
        p = ClassifyPipeline(mm.classifiers[f]).run(ItemTable.from_items([recs[i][f] for i in rows]))
        L = np.full((len(recs), 3), np.nan)
        L[[rows[j] for j in p.positions]] = np.log(np.maximum(p.proba, 1e-300))
        logs[f] = L
    P = late_fusion(logs, {"title": 2.0})
    np.testing.assert_array_equal(P, job.proba)
    ok = [i for i in range(len(recs)) if i not in job.errors]
    classes = LABELS.split(",")
    want = classification_report([gold[i] for i in ok], [classes[int(np.argmax(P[i]))] for i in ok], classes, P[ok])
    got = classification_report([gold[i] for i in ok], [job.labels[i] for i in ok], classes, job.proba[ok])
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(want, sort_keys=True, default=str)
    assert 4 in job.field_errors and job.missing[1] == ["body"] and 2 in job.errors
