"""The pipeline's public API driven from Python, not through the CLI: a ``JobSpec`` per job kind through
``run_job``, and ``ClassifyPipeline`` over items in memory. The results match the CLI's (same stages)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero.data import ItemTable
from transzero.pipeline import (
    AdaptSpec, CacheSpec, ClassifyPipeline, CollectingReporter, DecideSpec, FewShotSpec, InputSpec, JobSpec,
    LabelsSpec, ModelSpec, OutputSpec, run_job,
)
from transzero.pipeline.stages import FitStage, build_label_space

from ..test_cli import ENC, LABELS, run
from .test_safety import labelled_csv

NAMES = tuple(LABELS.split(","))
MODEL = ModelSpec(encoder="test-keywords")
NO_CACHE = CacheSpec(enabled=False)


def test_classify_from_python_matches_the_cli(tmp_path: Path, capsys) -> None:
    data = labelled_csv(tmp_path / "d.csv", 30)
    out = tmp_path / "p.jsonl"
    spec = JobSpec("classify", InputSpec(data), labels=LabelsSpec(names=NAMES), model=MODEL, cache=NO_CACHE,
                   output=OutputSpec(predictions=out))
    reporter = CollectingReporter()
    result = run_job(spec, reporter)
    assert result.n_rows == 30 and result.n_bad == 0 and result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in rows] == list(range(1, 31))
    code, _, err = run(["classify", str(data), "--labels", LABELS, *ENC, "--no-cache", "-o", str(tmp_path / "c.jsonl")],
                       capsys)
    assert code == 0, err
    assert rows == [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]


def test_eval_from_python_reports_the_accuracy_of_its_predictions(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 60)
    preds = tmp_path / "p.jsonl"
    spec = JobSpec("eval", InputSpec(data, label_column="label"), labels=LabelsSpec(names=NAMES), model=MODEL,
                   cache=NO_CACHE, output=OutputSpec(predictions=preds, json=tmp_path / "m.json"))
    m = run_job(spec).metrics
    gold = [line.split(",")[1] for line in data.read_text().splitlines()[1:]]
    got = [json.loads(line)["label"] for line in preds.read_text().splitlines()]
    assert m["n"] == 60 and m["accuracy"] == pytest.approx(np.mean([g == y for g, y in zip(got, gold)]))
    assert m["accuracy"] > 0.9  # the keyword topics are easy for the keyword encoder
    assert json.loads((tmp_path / "m.json").read_text())["accuracy"] == pytest.approx(m["accuracy"])
    assert {"encode", "score", "total"} <= set(m["timings"])


def test_a_learning_curve_from_python(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 60)
    support = labelled_csv(tmp_path / "s.csv", 60, seed=1)
    spec = JobSpec("curve", InputSpec(data, label_column="label"), labels=LabelsSpec(names=NAMES),
                   model=ModelSpec(encoder="test-keywords", method="prototype"), cache=NO_CACHE,
                   fewshot=FewShotSpec(InputSpec(support, label_column="label"), shots=(0, 2), seeds=2))
    rows = run_job(spec).metrics["curve"]
    assert [(r["method"], r["shots"]) for r in rows] == [("prototype", 0), ("prototype", 2)]
    assert len(rows[0]["runs"]) == 1 and len(rows[1]["runs"]) == 2  # 0 shots: one run; K shots: one per seed
    assert all(0.5 < r["accuracy_mean"] <= 1.0 for r in rows)


def test_sharded_embed_from_python(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from ..conftest import KeywordEncoder

    data = labelled_csv(tmp_path / "d.csv", 25)
    out = tmp_path / "v"
    spec = JobSpec("embed", InputSpec(data), model=MODEL, cache=NO_CACHE,
                   output=OutputSpec(predictions=out, shards=True, shard_size=10))
    m = run_job(spec).metrics
    assert m["n_items"] == 25 and m["n_shards"] == 3 and m["dim"] == 16
    rows = [r for f in sorted(out.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    np.testing.assert_allclose(np.array([r["vector"] for r in rows]), KeywordEncoder().encode([r["text"] for r in rows]),
                               rtol=1e-6)


def test_classify_pipeline_over_items_in_memory() -> None:
    """What the service does: a fitted classifier, a table of items, the pipeline's stages - bad items reported."""
    clf = FitStage().build(MODEL, build_label_space(LabelsSpec(names=NAMES)), None, "text")
    table = ItemTable.from_items(["a goal for the team", "   ", "the budget vote"], source="request")
    pipe = ClassifyPipeline(clf, AdaptSpec(), DecideSpec(explain=1))
    preds = pipe.run(table)
    recs = preds.records("text")
    assert [r["label"] for r in recs] == ["sports", None, "politics"] and recs[1]["error"]
    assert recs[0]["explanation"][0]["class"] == "sports"
    P = clf.predict_proba_encoded(clf.encode(["a goal for the team", "the budget vote"]))
    np.testing.assert_allclose(preds.proba, P, rtol=1e-6)
