"""``eval``: predictions scored against gold labels (report, calibration, reliability, transduction)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError, LabelError
from ..stages import (
    ClassifyPipeline,
    FitStage,
    Predictions,
    WriteStage,
    build_label_space,
    check_adapt_supported,
)
from .base import Job, JobResult, cache_stats, item_column, routing_metrics


class EvalJob(Job):
    """Predict every row and score the predictions against the gold labels."""

    kind = "eval"

    def run(self) -> JobResult:
        from ...evaluate import classification_report

        s = self.spec
        self.check_outputs(s.adapt.unlabeled.path if s.adapt.unlabeled else None,
                           s.adapt.calibration.path if s.adapt.calibration else None)
        table = self.read(s.input)
        assert table.labels is not None
        label_space = build_label_space(s.labels)
        if label_space is None and s.model.saved is None:
            gold = sorted({str(table.labels[i]) for i in table.good})
            if not gold:
                raise InputError(f"{s.input.path}: no usable rows to take the classes from")
            label_space = build_label_space(s.labels, gold)
        clf = self.stage(FitStage).build(s.model, label_space, self.cache(), table.modality, items=table.texts)
        check_adapt_supported(clf, s.adapt)
        classes = [str(c) for c in clf.classes_]
        unknown = sorted({str(table.labels[i]) for i in table.good} - set(classes))
        if unknown and s.decide.reject is None:
            raise LabelError(
                f"{s.input.path}: gold label(s) {', '.join(map(repr, unknown[:5]))}{' ...' if len(unknown) > 5 else ''} "
                f"are not among the {len(classes)} classes; add them to the labels (or omit --labels to use the gold "
                "labels; or --reject to score them as out of scope)")
        cal_scores = self.calibration(clf, table)
        unl = self.unlabeled(clf, table)
        preds = ClassifyPipeline(clf, s.adapt, s.decide, self.timings, self.reporter).run(
            table, unlabeled=unl, calibration_scores=cal_scores)
        gold = [str(table.labels[i]) for i in preds.positions]
        in_scope = [j for j, g in enumerate(gold) if g in set(classes)]
        report = classification_report([gold[j] for j in in_scope], [preds.labels[j] for j in in_scope], classes,
                                       preds.proba[in_scope] if in_scope else None)
        extra = self._extras(preds, gold, in_scope, classes, clf, unl)
        metrics: dict[str, Any] = {
            **report, **extra, "encoder": clf.encoder_.name, "method": clf.method_name, "data": str(s.input.path),
            "n_rows": len(table), "n_skipped": len(preds.errors), "skipped": table.skipped(preds.errors),
            "cache": cache_stats(clf), **routing_metrics(clf), "modality": table.modality, "classes": classes,
            "class_prompts": _class_prompts(clf),
        }
        if preds.method_info is not None:
            metrics["method_decisions"] = [preds.method_info]
            self.reporter.note(f"{clf.method_name} {preds.method_info['step']}: {preds.method_info['why']}")
        records = None
        if s.output.predictions is not None or s.output.report is not None:
            records = preds.records(item_column(s.input, table), gold=True)
        if s.output.predictions is not None:
            assert records is not None
            self.stage(WriteStage).predictions(records, classes, s.output.predictions)
            metrics["predictions_file"] = str(s.output.predictions)
        self.report_bad(preds.bad_lines())
        if records is not None and s.output.report is not None:
            from ...evalreport.records import normalise_record

            records = [normalise_record(r) for r in records]
        self.finish(metrics, records if s.output.report is not None else None)
        return JobResult(self.kind, metrics, len(table), len(preds.errors), 0, preds)

    def _extras(self, preds: Predictions, gold: list[str], in_scope: list[int], classes: list[str], clf: Any,
                unl: np.ndarray | None) -> dict[str, Any]:
        """``inductive`` (beside transductive), ``transduction``, ``calibration``, ``open_set``, ``reliability``."""
        from ...calibration import expected_calibration_error, plot_reliability
        from ...decisions import open_set_report
        from ...evaluate import classification_report

        s = self.spec
        out: dict[str, Any] = {}
        index = {c: i for i, c in enumerate(classes)}
        y_in = np.asarray([index[gold[j]] for j in in_scope], dtype=np.int64)
        others: dict[str, np.ndarray] = {}
        if preds.inductive_proba is not None:
            ind = preds.inductive_proba[in_scope]
            rep = classification_report([gold[j] for j in in_scope], [classes[k] for k in ind.argmax(1)], classes, ind)
            out["inductive"] = {k: rep[k] for k in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece") if k in rep}
            info = preds.transduction or {}
            before = [classes[k] for k in ind.argmax(1)]
            after = [preds.argmax_labels[j] for j in in_scope]
            truth = [gold[j] for j in in_scope]
            changed = [i for i, (b, a) in enumerate(zip(before, after)) if b != a]
            out["transduction"] = {"steps": info.get("steps", []), "n_items": info.get("n_items", 0),
                                   "n_unlabeled_extra": 0 if unl is None else int(len(unl)),
                                   "fallback": info.get("fallback"), "decisions": info.get("decisions", []),
                                   "changed": len(changed),
                                   "fixed": sum(after[i] == truth[i] for i in changed),
                                   "broken": sum(before[i] == truth[i] for i in changed)}
            others["inductive"] = ind
        cal = getattr(clf, "calibrator_", None)
        if cal is not None and preds.uncalibrated_proba is not None:
            unc = preds.uncalibrated_proba[in_scope]
            out["calibration"] = {"temperature": cal.temperature_, "n_examples": cal.n_examples_,
                                  "ece_uncalibrated": expected_calibration_error(unc, y_in) if len(y_in) else float("nan")}
            others["uncalibrated"] = unc
        if preds.threshold is not None:
            assert preds.scores is not None
            out["open_set"] = {
                **open_set_report(gold, preds.labels, preds.scores, classes, s.decide.none_label),
                "threshold": preds.threshold, "threshold_from": preds.threshold_source,
                "accuracy_without_rejection": float(np.mean([preds.argmax_labels[j] == gold[j] for j in in_scope]))
                if in_scope else float("nan")}
        reliability = s.output.reliability
        if reliability is None and s.output.json is not None and (preds.inductive_proba is not None or "calibration" in out):
            reliability = s.output.json.with_suffix(".reliability.png")
        if reliability is not None and len(y_in):
            data = s.input.path
            title = f"{data.parent.name}/{data.name} · {clf.encoder_.name}"
            with self.timings.stage("write"):
                out["reliability"] = str(plot_reliability(preds.proba[in_scope], y_in, reliability, title=title,
                                                          others=others))
        return out


def _class_prompts(clf: Any, per_class: int = 3) -> dict[str, list[str]]:
    """Each class's first prompts (or its description), for reports."""
    ce = getattr(clf, "class_embeddings_", None)
    if ce is None or not getattr(ce, "prompts", None):
        return {}
    out: dict[str, list[str]] = {}
    names = [str(c) for c in ce.classes]
    for prompt, k in zip(ce.prompts, np.asarray(ce.prompt_labels).tolist()):
        if 0 <= int(k) < len(names):
            got = out.setdefault(names[int(k)], [])
            if len(got) < per_class:
                got.append(str(prompt))
    return out
