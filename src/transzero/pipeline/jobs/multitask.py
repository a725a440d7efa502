"""``eval --kind multitask --label-column a,b``: one model, every task scored."""

from __future__ import annotations

from typing import Any


from ...data.text import ItemTable
from ...errors import InputError
from ..stages import (
    CachedEncoder,
    EncodeStage,
    make_encoder,
)
from .base import Job, JobResult, is_media


class MultiTaskJob(Job):
    """``eval --method multitask --label-column a,b [--support S]``: one model, every task scored."""

    kind = "multitask"

    def run(self) -> JobResult:
        from ...data.text import read_text_table
        from ...evaluate import classification_report
        from ...multitask import MultiTaskClassifier

        s = self.spec
        if is_media(s.input.path):
            raise InputError("--method multitask reads several label columns of a CSV/TSV/JSONL text file; "
                             "images have one folder label")
        support = s.fewshot.support if s.fewshot is not None else None
        self.check_outputs(support.path if support else None)
        tasks = [c.strip() for c in (s.input.label_column or "label").split(",") if c.strip()]
        with self.timings.stage("read"):
            table = read_text_table(s.input.path, text_column=s.input.text_column)
            s_table = read_text_table(support.path, text_column=s.input.text_column) if support else None

        def column(tab: ItemTable, col: str) -> list[str | None]:
            if tab.records and not any(col in r for r in tab.records):
                raise InputError(f"{tab.path}: no column {col!r} (from --label-column); columns: {', '.join(tab.records[0])}")
            vals = [r.get(col) for r in tab.records]
            return [str(v).strip() if v is not None and str(v).strip() else None for v in vals]

        gold = {t: column(table, t) for t in tasks}
        sup = {t: column(s_table, t) for t in tasks} if s_table else None
        classes = {t: sorted({v for v in gold[t] + (sup[t] if sup else []) if v}) for t in tasks}
        for t, cs in classes.items():
            if len(cs) < 2:
                raise InputError(f"task {t!r}: fewer than 2 classes found in its column; check --label-column")
        enc = make_encoder("text", s.model.encoder, s.model.backend)
        cache = self.cache()
        mt = MultiTaskClassifier(classes, encoder=enc, cache=cache or False)
        source = CachedEncoder(enc, cache, s.model.batch_size)
        with self.timings.stage("fit"):
            mt.fit()
        if s_table is not None and sup is not None:
            tr = self.stage(EncodeStage).run(source, s_table, what="encode support")
            with self.timings.stage("fit"):
                mt.fit_encoded(tr.X, {t: [sup[t][i] for i in tr.positions] for t in tasks})
        te = self.stage(EncodeStage).run(source, table)
        with self.timings.stage("score"):
            proba = mt.predict_proba_encoded(te.X)
        metrics: dict[str, Any] = {"encoder": enc.name, "method": "multitask", "data": str(s.input.path),
                                   "support": str(support.path) if support else None, "tasks": {}}
        for t in tasks:
            keep = [j for j, i in enumerate(te.positions) if gold[t][i] is not None]
            pred = [classes[t][k] for k in proba[t][keep].argmax(1)]
            rep = classification_report([gold[t][te.positions[j]] for j in keep], pred, classes[t], proba[t][keep])
            rep["n_labelled_support"] = getattr(mt, "n_labelled_", {}).get(t, 0)
            metrics["tasks"][t] = rep
        n_bad = len(table.errors) + len(te.errors)
        metrics["n_skipped"] = n_bad
        self.report_bad(table.bad_lines(te.errors))
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(table), n_bad)
