"""``classify`` to one file (or stdout): predict every row and write the predictions."""

from __future__ import annotations

from ...errors import InputError
from ..stages import (
    ClassifyPipeline,
    FitStage,
    WriteStage,
    build_label_space,
    check_adapt_supported,
)
from .base import Job, JobResult, cache_stats, item_column, routing_metrics


class ClassifyJob(Job):
    """Predict every row of the input and write the predictions (JSONL on stdout without an output)."""

    kind = "classify"
    predictions_flag = "--output"

    def run(self) -> JobResult:
        s = self.spec
        self.check_outputs(s.adapt.unlabeled.path if s.adapt.unlabeled else None,
                           s.adapt.calibration.path if s.adapt.calibration else None)
        table = self.read(s.input.with_labels(None))
        clf = self.stage(FitStage).build(s.model, build_label_space(s.labels), self.cache(), table.modality,
                                         items=table.texts)
        check_adapt_supported(clf, s.adapt)
        cal_scores = self.calibration(clf, table)
        unl = self.unlabeled(clf, table)
        pipe = ClassifyPipeline(clf, s.adapt, s.decide, self.timings, self.reporter)
        preds = pipe.run(table, unlabeled=unl, calibration_scores=cal_scores)
        self.stage(WriteStage).predictions(preds.records(item_column(s.input, table)), preds.classes,
                                           s.output.predictions)
        bad = preds.bad_lines()
        self.report_bad(bad)
        if preds.transduction and preds.transduction.get("fallback"):
            self.reporter.note(str(preds.transduction["fallback"]))
        for d in (preds.transduction or {}).get("decisions", []):
            self.reporter.note(f"transduction {d['step']}: {d['why']}")
        n = len(table)
        metrics = {"kind": self.kind, "n_items": n, "n_bad": len(preds.errors), "n_shards": 1, "n_shards_reused": 0,
                   "engine": "local", "encoder": clf.encoder_.name,
                   "method": clf.method_name, "classes": preds.classes,
                   "output": str(s.output.predictions) if s.output.predictions else None,
                   "cache": cache_stats(clf), **routing_metrics(clf)}
        if preds.transduction is not None:
            metrics["transduction"] = preds.transduction
        if preds.method_info is not None:
            metrics["method_decisions"] = [preds.method_info]
        self.finish(metrics)
        if n and len(preds.errors) == n:
            raise InputError(f"{s.input.path}: none of the {n} rows could be classified (first: {bad[0]})")
        return JobResult(self.kind, metrics, n, len(preds.errors), int(s.strict and bool(preds.errors)), preds)
