"""``eval`` over multimodal records (text + image or audio fields): late fusion of one classifier per field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...data.text import ItemTable
from ...errors import InputError
from ..report import Reporter, Timings
from ..stages import ClassifyPipeline, Predictions, build_label_space
from .base import Job, JobResult

if TYPE_CHECKING:  # pragma: no cover
    from ...multimodal import MultiModalClassifier


class MultiModalJob(Job):
    """Rows with several fields (text + image, text + audio): one classifier per field, late fusion."""

    kind = "multimodal"

    def run(self) -> JobResult:
        from ...classifier import ZeroShotClassifier
        from ...data.text import read_text_table
        from ...defaults import default_encoder, default_method, text_side_encoder
        from ...encoders import create_encoder
        from ...evaluate import classification_report
        from ...multimodal import MultiModalClassifier

        s = self.spec
        mm_spec = s.multimodal
        assert mm_spec is not None
        self.check_outputs()
        data = s.input.path
        label_column = s.input.label_column or "label"
        with self.timings.stage("read"):
            t = read_text_table(data, text_column=label_column, label_column=label_column)
        fields = dict(mm_spec.fields)
        if "text" in fields and not any(fields["text"] in r for r in t.records[:50]):
            del fields["text"]
        for f, col in fields.items():
            if t.records and not any(col in r for r in t.records):
                raise InputError(f"{data}: no column {col!r} (from --{f}-column); columns: {', '.join(t.records[0])}")
        if len(fields) < 2:
            raise InputError(f"{data}: multimodal records need two of --text-column, --image-column, --audio-column")
        gold = [None if g is None else str(g) for g in (t.labels or [])]
        space = build_label_space(s.labels, sorted({g for g in gold if g}))
        weights = dict(mm_spec.weights)
        cache = self.cache() or False
        clfs = {}
        for f in fields:
            enc = create_encoder(mm_spec.text_encoder or text_side_encoder()) if f == "text" else create_encoder(default_encoder(f))
            clfs[f] = ZeroShotClassifier(space, encoder=enc, method=default_method(f), cache=cache)
        with self.timings.stage("fit"):
            mm = MultiModalClassifier(clfs, weights=weights).fit()

        def item(f: str, v: Any) -> Any:
            if v is None or (isinstance(v, str) and not v.strip()):
                return None
            return v if f == "text" else str(v if Path(str(v)).is_absolute() else data.parent / str(v))

        records = [{f: item(f, r.get(col)) for f, col in fields.items()} for r in t.records]
        with self.timings.stage("encode"):
            res = mm.fuse(*self.per_field(mm, records))
        classes = [str(c) for c in mm.classes_]
        ok = [i for i in range(len(records)) if i not in res.errors and gold[i] in set(classes)]
        report = classification_report([gold[i] for i in ok], [res.labels[i] for i in ok], classes,
                                        res.proba[ok] if ok else None)
        per_field = {}
        for f in fields:
            rows = [i for i in ok if np.all(np.isfinite(res.per_field[f][i]))]
            acc = float(np.mean([classes[int(np.argmax(res.per_field[f][i]))] == gold[i] for i in rows])) if rows else float("nan")
            per_field[f] = {"n": len(rows), "accuracy": acc}
        notes = [f"{t.path}: row {t.rows[i]}: scored without {', '.join(m)}" for i, m in sorted(res.missing.items())
                 if i not in res.errors]
        self.report_bad(notes + t.bad_lines(res.errors))
        metrics = {**report, "encoder": {f: c.encoder_.name for f, c in clfs.items()}, "method": "late-fusion",
                   "fields": list(fields), "weights": {f: weights.get(f, 1.0) for f in fields}, "per_field": per_field,
                   "data": str(data), "n_rows": len(records),
                   "n_missing_field": sum(1 for i in res.missing if i not in res.errors),
                   "n_skipped": len(res.errors), "skipped": t.skipped(res.errors)}
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(records), len(res.errors))

    @staticmethod
    def per_field(mm: MultiModalClassifier, records: list[dict[str, Any]]) -> tuple[dict[str, np.ndarray], dict[str, dict[int, str]]]:
        """Each field predicted by its own :class:`ClassifyPipeline` (the one prediction path), ready for
        :meth:`MultiModalClassifier.fuse`. The pipelines report nothing and keep their own timings (the job times
        the whole as ``encode``)."""
        def through_pipeline(clf: Any, items: list[Any], field: str) -> Predictions:
            table = ItemTable.from_items(items, source=field, modality=clf.encoder_.modality)
            return ClassifyPipeline(clf, timings=Timings(), reporter=Reporter()).run(table)

        return mm.per_field(records, through_pipeline)
