"""The base of every job kind: :class:`Job` (spec, timings, reporter, shared steps), :class:`JobResult`,
and what several kinds share (:func:`eval_kind`, the item column, routing and cache metrics)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...data.text import ItemTable
from ...errors import InputError
from ..report import Reporter, Timings
from ..spec import InputSpec, JobSpec
from ..stages import (
    AdaptStage,
    EncodeStage,
    Predictions,
    ReadStage,
    Stage,
    WriteStage,
    make_cache,
)


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
    from ...data.readers import has_column
    from ...data.xlsa17 import looks_like_xlsa17

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

    def finish(self, metrics: dict[str, Any], records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Add ``seconds``, ``timings``, the command and the versions; write ``--json`` and ``--report`` (the HTML
        report of these metrics and, for a plain eval, its prediction ``records`` with gold labels)."""
        metrics.setdefault("kind", self.kind)
        if self.spec.command:
            metrics.setdefault("command", self.spec.command)
        metrics.setdefault("versions", versions())
        metrics["seconds"] = round(time.perf_counter() - self.t0, 3)
        metrics["timings"] = self.timings.as_dict()
        self.stage(WriteStage).json(metrics, self.spec.output.json)
        if self.spec.output.report is not None:
            self.stage(WriteStage).report(metrics, records, self.spec.output.report)
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
            from ...curves import sample_shots

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


def cache_stats(clf: Any) -> dict[str, int] | None:
    cache = getattr(clf, "cache_", None)
    return {"hits": cache.stats.hits, "misses": cache.stats.misses} if cache is not None else None


def is_media(path: Path) -> bool:
    from ...data.image_folder import looks_like_images

    return looks_like_images(path)


def versions() -> dict[str, str]:
    """The versions a result depends on (recorded in eval JSON and reports)."""
    import platform
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("transzero")
    except PackageNotFoundError:  # (run from a source tree that is not installed)
        ours = "unknown"
    out = {"transzero": ours, "python": platform.python_version(), "numpy": np.__version__}

    for name in ("onnxruntime", "torch", "ctranslate2"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__version__", None):
            out[name] = str(mod.__version__)
    return out
