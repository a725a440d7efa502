"""Job kinds: what ``classify`` and every mode of ``eval`` do, as stages over a :class:`JobSpec`.

:func:`run_job` picks the job class of ``spec.kind`` and runs it. A job returns a :class:`JobResult`
whose ``metrics`` are exactly what ``--json`` writes; it never prints (its :class:`Reporter` does).
:func:`eval_kind` tells which kind an ``eval`` request is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.text import ItemTable
from ..errors import InputError, LabelError
from .report import Reporter, Timings
from .spec import InputSpec, JobSpec
from .stages import (
    AdaptStage,
    CachedEncoder,
    ClassifyPipeline,
    EncodeStage,
    FitStage,
    Predictions,
    ReadStage,
    Stage,
    WriteStage,
    build_label_space,
    check_adapt_supported,
    make_cache,
    make_encoder,
    resolve_templates,
)

__all__ = ["JOBS", "Job", "JobResult", "eval_kind", "item_column"]


@dataclass
class JobResult:
    """What a job did.

    Attributes
    ----------
    kind : str
    metrics : dict
        The job's JSON (what ``--json`` writes): metrics for eval kinds, a summary for ``classify``.
    n_rows, n_bad : int
        Input rows, and rows that could not be used.
    exit_code : int
        1 when ``strict`` and some rows were bad, else 0.
    predictions : Predictions, optional
        Per-row predictions (``classify`` and ``eval``).
    notes : list of str
    """

    kind: str
    metrics: dict[str, Any]
    n_rows: int = 0
    n_bad: int = 0
    exit_code: int = 0
    predictions: Predictions | None = None
    notes: list[str] = field(default_factory=list)


def eval_kind(data: InputSpec, *, method: str | None = None, fewshot: bool = False, gzsl: bool = False) -> str:
    """Which job an ``eval`` of ``data`` is: multimodal records, generalized zero-shot, multi-task, a
    few-shot learning curve, or a plain evaluation."""
    from ..data.readers import has_column
    from ..data.xlsa17 import looks_like_xlsa17

    if data.image_column is not None or (data.audio_column is not None and has_column(data.path, data.text_column)):
        return "multimodal"
    if gzsl or looks_like_xlsa17(data.path):
        return "gzsl"
    if method == "multitask":
        return "multitask"
    if fewshot:
        return "curve"
    return "eval"


class Job:
    """Base of the job kinds: the spec, one :class:`Timings`, one :class:`Reporter`, the stages."""

    kind = "job"
    #: the option that names this job's predictions file (in error messages)
    predictions_flag = "--predictions"

    def __init__(self, spec: JobSpec, reporter: Reporter | None = None) -> None:
        self.spec = spec
        self.reporter = reporter if reporter is not None else Reporter()
        self.timings = Timings()
        self.t0 = time.perf_counter()

    def stage(self, cls: type[Stage]) -> Any:
        return cls(self.timings, self.reporter)

    def run(self) -> JobResult:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ shared steps
    def check_outputs(self, *extra_inputs: Path | None) -> None:
        s = self.spec
        inputs = [s.input.path, *extra_inputs]
        self.stage(WriteStage).check(s.output, inputs, self.predictions_flag)

    def read(self, spec: InputSpec) -> ItemTable:
        return self.stage(ReadStage).run(spec)

    def cache(self) -> Any:
        return make_cache(self.spec.cache.enabled, self.spec.cache.folder, self.reporter)

    def report_bad(self, *lines: list[str]) -> None:
        flat = [line for group in lines for line in group]
        if flat:
            self.reporter.bad_items(flat)

    def finish(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """Add ``seconds`` and ``timings`` and write ``--json``."""
        metrics["seconds"] = round(time.perf_counter() - self.t0, 3)
        metrics["timings"] = self.timings.as_dict()
        self.stage(WriteStage).json(metrics, self.spec.output.json)
        return metrics

    def calibration(self, clf: Any, table: ItemTable) -> np.ndarray | None:
        """Fit the classifier's calibrator on ``--calibration`` examples; their rejection scores."""
        spec = self.spec.adapt
        if spec.calibration is None:
            return None
        cal_in = spec.calibration.with_labels(self.spec.input.label_column or "label")
        c_table = self.read(cal_in)
        self.stage(ReadStage).same_kind(table, c_table, "--calibration")
        enc = self.stage(EncodeStage).run(clf, c_table, what="encode calibration")
        self.report_bad(c_table.bad_lines(enc.errors))
        assert c_table.labels is not None
        y = [str(c_table.labels[i]) for i in enc.positions]
        classes = {str(c) for c in clf.classes_}
        in_scope = [j for j, v in enumerate(y) if v in classes]  # examples of other classes cannot calibrate
        if spec.calibration_shots:
            from ..curves import sample_shots

            picked = sample_shots([y[j] for j in in_scope], spec.calibration_shots, seed=0).indices
            in_scope = [in_scope[int(i)] for i in picked]
        if not in_scope:
            raise InputError(f"{spec.calibration.path}: no usable labelled examples of the classes to calibrate on")
        return self.stage(AdaptStage).calibrate(clf, enc.X[in_scope], [y[j] for j in in_scope])

    def unlabeled(self, clf: Any, table: ItemTable) -> np.ndarray | None:
        """Vectors of ``--unlabeled`` items (transduction adapts on them too)."""
        u_spec = self.spec.adapt.unlabeled
        if u_spec is None:
            return None
        u_table = self.read(u_spec.with_labels(None))
        self.stage(ReadStage).same_kind(table, u_table, "--unlabeled")
        enc = self.stage(EncodeStage).run(clf, u_table, what="encode unlabeled")
        self.report_bad(u_table.bad_lines(enc.errors))
        return enc.X


# ---------------------------------------------------------------------- classify
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
                   "cache": _cache_stats(clf), **routing_metrics(clf)}
        if preds.transduction is not None:
            metrics["transduction"] = preds.transduction
        if preds.method_info is not None:
            metrics["method_decisions"] = [preds.method_info]
        self.finish(metrics)
        if n and len(preds.errors) == n:
            raise InputError(f"{s.input.path}: none of the {n} rows could be classified (first: {bad[0]})")
        return JobResult(self.kind, metrics, n, len(preds.errors), int(s.strict and bool(preds.errors)), preds)


def item_column(spec: InputSpec, table: ItemTable) -> str:
    """The record field holding a row's item (shown for bad rows too): ``text`` for images and ``.txt`` lists,
    the audio column for audio manifests, the text column otherwise."""
    if table.modality == "image" or spec.path.suffix.lower() == ".txt":
        return "text"
    if table.modality == "audio":
        return spec.audio_column or "audio"
    return spec.text_column


def routing_metrics(clf: Any) -> dict[str, Any]:
    """``preset`` and ``language`` of a job whose text encoder was chosen from the items (else nothing)."""
    r = getattr(clf, "routing_", None)
    return {"preset": r["preset"], "language": r["language"]} if r else {}


def _cache_stats(clf: Any) -> dict[str, int] | None:
    cache = getattr(clf, "cache_", None)
    return {"hits": cache.stats.hits, "misses": cache.stats.misses} if cache is not None else None


# ---------------------------------------------------------------------- eval
class EvalJob(Job):
    """Predict every row and score the predictions against the gold labels."""

    kind = "eval"

    def run(self) -> JobResult:
        from ..evaluate import classification_report

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
            "cache": _cache_stats(clf), **routing_metrics(clf),
        }
        if preds.method_info is not None:
            metrics["method_decisions"] = [preds.method_info]
            self.reporter.note(f"{clf.method_name} {preds.method_info['step']}: {preds.method_info['why']}")
        if s.output.predictions is not None:
            self.stage(WriteStage).predictions(preds.records(item_column(s.input, table), gold=True), classes,
                                               s.output.predictions)
        self.report_bad(preds.bad_lines())
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(table), len(preds.errors), 0, preds)

    def _extras(self, preds: Predictions, gold: list[str], in_scope: list[int], classes: list[str], clf: Any,
                unl: np.ndarray | None) -> dict[str, Any]:
        """``inductive`` (beside transductive), ``transduction``, ``calibration``, ``open_set``, ``reliability``."""
        from ..calibration import expected_calibration_error, plot_reliability
        from ..decisions import open_set_report
        from ..evaluate import classification_report

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
            out["transduction"] = {"steps": info.get("steps", []), "n_items": info.get("n_items", 0),
                                   "n_unlabeled_extra": 0 if unl is None else int(len(unl)),
                                   "fallback": info.get("fallback"), "decisions": info.get("decisions", [])}
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


# ---------------------------------------------------------------------- few-shot learning curves
class CurveJob(Job):
    """``eval --support S --shots K[,K...]``: K-shot fits over seeds, mean ± std, curve JSON + PNG.

    Only the sampled support rows are encoded (the union over every K and seed), not the whole pool.
    """

    kind = "curve"

    def run(self) -> JobResult:
        from ..classifier import ZeroShotClassifier
        from ..curves import learning_curve, plot_curve
        from ..methods import curve_methods, method_info

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
            from ..transductive import Transduction, default_transduction

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
        from ..curves import sample_shots

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


# ---------------------------------------------------------------------- generalized zero-shot
class GZSLJob(Job):
    """Train classical ZSL methods on seen classes, evaluate on seen + unseen (ZSL, s, u, H, AUSUC, gamma)."""

    kind = "gzsl"

    def run(self) -> JobResult:
        from ..data.xlsa17 import load_xlsa17, looks_like_xlsa17
        from ..defaults import text_side_encoder
        from ..encoders import create_encoder
        from ..gzsl import GZSLSplit, evaluate_gzsl, read_split
        from ..labels import LabelSpace, read_attributes
        from ..methods import ZSL_METHODS, create_method, method_info

        s = self.spec
        g = s.gzsl
        assert g is not None
        if s.fewshot is not None or s.model.saved is not None:
            raise InputError("generalized zero-shot evaluation takes neither --shots nor --model; drop them")
        methods = s.model.methods or ["eszsl"]
        for m in methods:
            method_info(m)
            if m not in ZSL_METHODS:
                raise InputError(f"method {m!r} does not learn from seen classes; use one of {', '.join(ZSL_METHODS)}")
        gamma: Any = "auto"
        if g.gamma.strip().lower() != "auto":
            try:
                gamma = float(g.gamma)
            except ValueError:
                raise InputError(f"--gamma must be a number or auto, got {g.gamma!r}") from None
        self.check_outputs(g.support.path if g.support else None)
        cache = self.cache()
        data = s.input.path
        info: dict[str, Any] = {"data": str(data)}
        bad: list[str] = []
        if looks_like_xlsa17(data):
            if g.support is not None or g.split or g.seen_classes or g.unseen_classes or g.attributes is not None:
                raise InputError(f"{data} is an xlsa17 folder: its splits and attributes come from att_splits.mat; "
                                 "drop --support/--split/--seen-classes/--unseen-classes/--attributes")
            with self.timings.stage("read"):
                ds = load_xlsa17(data)
                X_train, y_train = ds.items("trainval")
                Xs, ys = ds.items("test_seen")
                Xu, yu = ds.items("test_unseen")
            X_test, y_test = np.concatenate([Xs, Xu]), list(ys) + list(yu)
            split = GZSLSplit(ds.seen_classes, ds.unseen_classes, ds.val_classes or None)
            space = LabelSpace.from_attributes(ds.class_names, ds.attributes,
                                               semantics="attributes" if g.semantics == "auto" else g.semantics)
            with self.timings.stage("fit"):
                ce = space.embed(create_encoder(text_side_encoder()) if space.semantic_kind != "attributes" else None,
                                 cache)
            info.update(encoder="res101 (xlsa17 features)", semantics=space.semantic_kind, dataset=ds.name)
            n_skipped, skipped = 0, []
        else:
            if g.support is None:
                raise InputError("generalized zero-shot evaluation needs training examples of the seen classes: --support DATA")
            split = read_split(g.split, seen=g.seen_classes, unseen=g.unseen_classes)
            table = self.read(s.input)
            s_table = self.read(g.support)
            self.stage(ReadStage).same_kind(table, s_table, "--support", str(data))
            enc = make_encoder(table.modality, s.model.encoder, s.model.backend)
            names = split.classes
            attr = attr_names = None
            if g.attributes is not None:
                a_names, A, attr_names = read_attributes(g.attributes)
                row = {n: i for i, n in enumerate(a_names)}
                missing = [n for n in names if n not in row]
                if missing:
                    raise LabelError(f"class {missing[0]!r} has no row in {g.attributes.name}; every seen and unseen "
                                     "class needs semantics")
                attr = A[[row[n] for n in names]]
            desc = None
            if s.labels.file is not None:
                ls_file = LabelSpace.from_file(s.labels.file)
                unknown = [n for n in names if n not in ls_file.names]
                if unknown:
                    raise LabelError(f"class {unknown[0]!r} of the split is not in {s.labels.file.name}; describe every class")
                desc = {n: ls_file.descriptions[n] for n in names if n in ls_file.descriptions}
            space = LabelSpace(names, descriptions=desc, templates=resolve_templates(s.labels.templates),
                               attributes=attr, attribute_names=attr_names, semantics=g.semantics)
            label_enc = None
            if space.semantic_kind != "attributes":
                label_enc = enc if enc.modality == "text" else create_encoder(text_side_encoder())
            with self.timings.stage("fit"):
                ce = space.embed(label_enc, cache)
            source = CachedEncoder(enc, cache, s.model.batch_size)
            te = self.stage(EncodeStage).run(source, table, what="encode test items")
            tr = self.stage(EncodeStage).run(source, s_table, what="encode support")
            X_test, y_test = te.X, [str(table.labels[i]) for i in te.positions]  # type: ignore[index]
            X_train, y_train = tr.X, [str(s_table.labels[i]) for i in tr.positions]  # type: ignore[index]
            bad = table.bad_lines(te.errors) + s_table.bad_lines(tr.errors)
            n_skipped, skipped = len(bad), bad[:100]
            info.update(support=str(g.support.path), encoder=enc.name, semantics=space.semantic_kind,
                        semantic_encoder=label_enc.name if label_enc is not None else None)
        self.report_bad(bad)
        results = []
        with self.timings.stage("fit"):
            for m in methods:
                results.append({"method": m, **evaluate_gzsl(create_method(m), X_train, y_train, X_test, y_test, ce,
                                                            split, gamma=gamma)})
        metrics: dict[str, Any] = {**info, "methods": methods, "n_test": len(y_test), "n_skipped": n_skipped,
                                   "skipped": skipped, "results": results, "n_seen": len(split.seen),
                                   "n_unseen": len(split.unseen)}
        if len(results) == 1:
            metrics.update({k: v for k, v in results[0].items() if k != "method"}, method=methods[0])
        if results and results[0]["n_ignored_unseen_support"]:
            self.reporter.note(f"{results[0]['n_ignored_unseen_support']} training example(s) of unseen classes were ignored")
        self.finish(metrics)
        return JobResult(self.kind, metrics, len(y_test) + n_skipped, n_skipped)


# ---------------------------------------------------------------------- multi-task
class MultiTaskJob(Job):
    """``eval --method multitask --label-column a,b [--support S]``: one model, every task scored."""

    kind = "multitask"

    def run(self) -> JobResult:
        from ..data.text import read_text_table
        from ..evaluate import classification_report
        from ..multitask import MultiTaskClassifier

        s = self.spec
        if _is_media(s.input.path):
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


def _is_media(path: Path) -> bool:
    from ..data.image_folder import looks_like_images

    return looks_like_images(path)


# ---------------------------------------------------------------------- multimodal records
class MultiModalJob(Job):
    """Rows with several fields (text + image, text + audio): one classifier per field, late fusion."""

    kind = "multimodal"

    def run(self) -> JobResult:
        from ..classifier import ZeroShotClassifier
        from ..data.text import read_text_table
        from ..defaults import default_encoder, default_method, text_side_encoder
        from ..encoders import create_encoder
        from ..evaluate import classification_report
        from ..multimodal import MultiModalClassifier

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
            res = mm.predict_batch(records)
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


#: job kind -> job class (the sharded ``classify`` and ``embed`` live in :mod:`.batch`; :func:`.run.run_job` picks)
JOBS: dict[str, type[Job]] = {
    "classify": ClassifyJob, "eval": EvalJob, "curve": CurveJob, "gzsl": GZSLJob, "multitask": MultiTaskJob,
    "multimodal": MultiModalJob,
}

