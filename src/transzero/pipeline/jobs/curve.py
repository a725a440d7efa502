"""``eval --support --shots``: few-shot learning curves, K shots per class over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...data.text import ItemTable
from ...errors import InputError, LabelError
from ..stages import (
    EncodeStage,
    ReadStage,
    build_label_space,
    make_encoder,
)
from .base import Job, JobResult


class CurveJob(Job):
    """``eval --support S --shots K[,K...]``: K-shot fits over seeds, mean ± std, curve JSON + PNG.

    Only the sampled support rows are encoded (the union over every K and seed), not the whole pool.
    """

    kind = "curve"

    def run(self) -> JobResult:
        from ...classifier import ZeroShotClassifier
        from ...curves import learning_curve, plot_curve
        from ...methods import curve_methods, method_info

        s = self.spec
        fs = s.fewshot
        assert fs is not None
        if s.model.saved is not None:
            raise InputError("--model cannot be combined with --support; name --encoder/--method instead")
        if s.adapt.unlabeled is not None or s.adapt.calibration is not None or s.decide.reject is not None:
            raise InputError("learning curves take --transductive, but not --unlabeled, --calibration or --reject")
        methods = s.model.methods or curve_methods()
        for m in methods:
            method_info(m)  # unknown names: a one-line error listing the methods
        self.check_outputs(fs.support.path)
        table = self.read(s.input)
        s_table = self.read(fs.support)
        self.stage(ReadStage).same_kind(table, s_table, "--support", str(s.input.path))
        assert table.labels is not None and s_table.labels is not None
        label_space = build_label_space(s.labels, sorted({str(table.labels[i]) for i in table.good}))
        # the classifier every fit shares its encoder, label encoder and cache with; encoding needs no fitted method
        base = ZeroShotClassifier(label_space, encoder=make_encoder(table.modality, s.model.encoder, s.model.backend),
                                  method="prototype", cache=self.cache() or False, batch_size=s.model.batch_size)
        with self.timings.stage("fit"):
            base.prepare()
        classes = [str(c) for c in base.label_space_.names]
        unknown_gold = sorted({str(table.labels[i]) for i in table.good} - set(classes))
        if unknown_gold:
            raise LabelError(f"{s.input.path}: gold label {unknown_gold[0]!r} is not among the classes; add it to the labels")
        extra = sorted({str(s_table.labels[i]) for i in s_table.good} - set(classes))
        if extra:
            raise InputError(f"support label {extra[0]!r} is not among the {len(classes)} classes; "
                             "add it to the labels or drop those rows")
        sup_X, sup_pool, sup_errors = self._encode_support(base, s_table, classes, fs.shots, fs.seeds, len(table.good))
        ev = self.stage(EncodeStage).run(base, table, what="encode eval items")
        if not len(ev) or not sup_pool:
            raise InputError(f"{s.input.path if not len(ev) else fs.support.path}: no usable rows")
        y_eval = [str(table.labels[i]) for i in ev.positions]
        y_sup = [str(s_table.labels[i]) for i in sup_pool]

        def make(name: str) -> Any:
            return ZeroShotClassifier(base.label_space_, encoder=base.encoder_, method=name, cache=base.cache_ or False,
                                      batch_size=s.model.batch_size, label_encoder=base.label_encoder_)

        def show(row: dict[str, Any]) -> None:
            short = row["short_classes"]
            note = f" (fewer than K: {', '.join(f'{c} {n}' for c, n in short.items())})" if short else ""
            if row.get("chosen"):
                note += f" (chose {', '.join(dict.fromkeys(row['chosen']))})"
            self.reporter.info(f"{row['method']:>14} K={row['shots']:<3} {100 * row['accuracy_mean']:6.2f} ± "
                               f"{100 * row['accuracy_std']:.2f}{note}")

        trans = None
        if s.adapt.transductive:
            from ...transductive import Transduction, default_transduction

            trans = (Transduction(steps=tuple(s.adapt.steps)) if s.adapt.steps
                     else default_transduction(base.encoder_.modality))
        with self.timings.stage("fit"):
            rows = learning_curve(make, methods, sup_X, y_sup, ev.X, y_eval, list(fs.shots), seeds=fs.seeds, on_row=show,
                                  items_support=[s_table.texts[i] for i in sup_pool],
                                  items_eval=[table.texts[i] for i in ev.positions], transduction=trans)
        metrics: dict[str, Any] = {
            "encoder": base.encoder_.name, "methods": methods, "data": str(s.input.path), "support": str(fs.support.path),
            "shots": list(fs.shots), "seeds": fs.seeds, "n": len(y_eval), "n_support_pool": len(y_sup),
            "n_support_encoded": int(np.isfinite(sup_X).all(axis=1).sum()) if len(sup_X) else 0,
            "n_classes": len(classes), "curve": rows, "transductive": trans is not None,
            "n_skipped": len(table.errors) + len(ev.errors), "skipped": table.skipped(ev.errors),
            "support_skipped": s_table.skipped(sup_errors),
        }
        if len(methods) == 1 and len(fs.shots) == 1:
            metrics["accuracy"] = rows[0]["accuracy_mean"]
            metrics["accuracy_std"] = rows[0]["accuracy_std"]
            if rows[0].get("chosen"):  # --method auto: the method it chose (the most frequent over seeds)
                picks = rows[0]["chosen"]
                metrics["chosen_method"] = max(dict.fromkeys(picks), key=picks.count)
        plot = s.output.plot
        if plot is None and s.output.json is not None and len(fs.shots) > 1:
            plot = s.output.json.with_suffix(".png")
        if plot is not None:
            data = s.input.path
            with self.timings.stage("write"):
                metrics["plot"] = str(plot_curve(rows, plot, title=f"{data.parent.name}/{data.name} · {base.encoder_.name}"))
        self.report_bad(table.bad_lines(ev.errors), s_table.bad_lines(sup_errors))
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(table), len(table.errors) + len(ev.errors))

    def _encode_support(self, base: Any, s_table: ItemTable, classes: list[str], shots: tuple[int, ...], seeds: int,
                        n_eval: int) -> tuple[np.ndarray, list[int], dict[int, str]]:
        """Encode the support rows some (K, seed) sample draws - nothing else of the pool.

        Returns the pool's vectors (NaN rows where a row was never drawn), the pool (table positions of the
        usable rows, in order) and the errors of drawn rows that could not be encoded (such rows leave the
        pool and the samples are drawn again, so every sample still holds K usable examples per class).
        """
        from ...curves import sample_shots

        assert s_table.labels is not None
        errors: dict[int, str] = {}
        vecs: dict[int, np.ndarray] = {}
        dim: int | None = None
        announced = False
        while True:
            pool = [i for i in s_table.good if i not in errors]
            y = [str(s_table.labels[i]) for i in pool]
            wanted: set[int] = set()
            for k in shots:
                for seed in range(seeds if k > 0 else 0):
                    wanted.update(pool[int(j)] for j in sample_shots(y, k, seed, classes=classes).indices)
            todo = sorted(wanted - set(vecs))
            if not announced:
                self.reporter.info(f"few-shot: encoding {n_eval} evaluation items and {len(todo)} of the {len(pool)} "
                                   f"support items (the examples drawn for K = {', '.join(map(str, shots))} over "
                                   f"{seeds} seed{'s' if seeds != 1 else ''})")
                announced = True
            if not todo:
                break
            enc = self.stage(EncodeStage).run(base, s_table, todo, what="encode support")
            for j, i in enumerate(enc.positions):
                vecs[i] = enc.X[j]
            dim = enc.X.shape[1] if enc.X.ndim == 2 and len(enc.X) else dim
            errors.update(enc.errors)
            if not enc.errors:
                break
        pool = [i for i in s_table.good if i not in errors]
        if dim is None:
            dim = int(getattr(base.encoder_, "dim", 0))
        X = np.full((len(pool), dim), np.nan, dtype=np.float32)
        for r, i in enumerate(pool):
            if i in vecs:
                X[r] = vecs[i]
        return X, pool, errors
