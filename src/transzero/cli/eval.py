"""``transzero eval``: score predictions against gold labels - plainly, as a few-shot learning curve, as
generalized zero-shot, per task, or over multimodal records (each a job kind of the pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..errors import InputError
from ..pipeline.spec import DecideSpec, FewShotSpec, GZSLSpec, InputSpec, JobSpec, MultiModalSpec, OutputSpec, with_options
from ._common import (
    AllowDownloadOpt, AudioColOpt, BackendOpt, BatchOpt, CacheDirOpt, CalibrationOpt, CliReporter, EncoderOpt, LanguageOpt, PresetOpt, LabelsFileOpt, LabelsOpt,
    MethodOpt, ModelOpt, NoCacheOpt, OverwriteOpt, QuietOpt, StepsOpt,
    TemplatesOpt, TextColOpt, TransductiveOpt, UnlabeledOpt, adapt_spec, cache_spec, fmt_pct, labels_spec,
    command_line, model_spec, out,
)

from ._spec_options import spec_options


@spec_options("eval")
def eval_(
    data: Path = typer.Argument(..., help="CSV/TSV/JSONL with a text and a gold-label column, or an image folder DIR/<class>/*."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    label_column: str = typer.Option("label", "--label-column", help="Column with the gold label."),
    text_column: str = TextColOpt,
    encoder: Optional[str] = EncoderOpt,
    preset: Optional[str] = PresetOpt,
    language: Optional[str] = LanguageOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    model: Optional[Path] = ModelOpt,
    allow_download: bool = AllowDownloadOpt,
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON to this file."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Also write per-row predictions (.csv/.jsonl)."),
    overwrite: bool = OverwriteOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: Optional[int] = BatchOpt,
    support: Optional[Path] = typer.Option(None, "--support", help="Labelled examples (same format as DATA) to draw K shots per class from."),
    shots: Optional[str] = typer.Option(None, "--shots", help="K examples per class from --support; a list (0,1,2,4,8,16) runs a learning curve."),
    seeds: int = typer.Option(3, "--seeds", help="Random K-shot samples per K (fixed seeds 0..N-1); mean ± std is reported."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="PNG of the learning curve (default: next to --json when several K)."),
    split: Optional[Path] = typer.Option(None, "--split", help='Generalized zero-shot: JSON {"seen": [...], "unseen": [...], "val": [...]}; training examples come from --support.'),
    seen_classes: Optional[Path] = typer.Option(None, "--seen-classes", help="Generalized zero-shot: file with the seen classes, one per line (with --unseen-classes)."),
    unseen_classes: Optional[Path] = typer.Option(None, "--unseen-classes", help="Generalized zero-shot: file with the unseen classes, one per line."),
    semantics: str = typer.Option("auto", "--semantics", help="Class semantics for zero-shot methods: text, attributes, gloss, or joined with + (text+gloss); auto = attributes when given, else text."),
    attributes: Optional[Path] = typer.Option(None, "--attributes", help="CSV/TSV class-attribute table (header; class name in the first column)."),
    gamma: str = typer.Option("auto", "--gamma", help="Calibrated stacking: a number subtracted from seen-class scores, or auto (chosen on validation classes)."),
    transductive: bool = TransductiveOpt,
    unlabeled: Optional[Path] = UnlabeledOpt,
    transduction_steps: Optional[str] = StepsOpt,
    calibration: Optional[Path] = CalibrationOpt,
    calibration_shots: Optional[int] = typer.Option(None, "--calibration-shots", help="Use only K examples per class of --calibration (seed 0)."),
    reliability: Optional[Path] = typer.Option(None, "--reliability", help="Write a reliability diagram (PNG) of the predictions."),
    audio_column: Optional[str] = AudioColOpt,
    image_column: Optional[str] = typer.Option(None, "--image-column", help="Column holding image paths; with a text (or audio) column too, rows are multimodal records."),
    text_encoder: Optional[str] = typer.Option(None, "--text-encoder", help="Multimodal records: encoder of the text field (default minilm-l6)."),
    fusion_weights: Optional[str] = typer.Option(None, "--fusion-weights", help='Multimodal late fusion weights, e.g. "text=1,image=2".'),
    kind: Optional[str] = typer.Option(None, "--kind", help="What to evaluate: eval (plain), curve (few-shot: --support, --shots), gzsl (seen/unseen classes), multitask (--label-column a,b), multimodal (records with --image-column/--audio-column); default: read from the other flags and the data."),
    quiet: bool = QuietOpt,
    options: Optional[dict] = None,
) -> None:
    """Evaluate against gold labels (CSV/JSONL texts, or image class folders DIR/<class>/*); few-shot with --support;
    generalized zero-shot with --split (or an xlsa17 folder: att_splits.mat + res101.mat)."""
    from ..curves import parse_shots

    source = InputSpec(data, text_column, label_column, audio_column, image_column)
    gzsl = split is not None or seen_classes is not None or unseen_classes is not None
    from ..pipeline import eval_kind, run_job  # the jobs load only when a command runs

    if method == "multitask":  # (the old spelling of --kind multitask: not a scoring method)
        kind, method = kind or "multitask", None
    if kind is None:
        kind = eval_kind(source, fewshot=support is not None or shots is not None, gzsl=gzsl)
    elif kind not in EVAL_KINDS:
        raise InputError(f"--kind must be one of {', '.join(EVAL_KINDS)}, got {kind!r}")
    s_spec = InputSpec(support, text_column, label_column, audio_column) if support is not None else None
    fewshot = None
    if kind == "curve":
        if support is None or shots is None:
            raise InputError("few-shot evaluation needs both --support DATA and --shots K (e.g. --shots 0,1,2,4,8,16)")
        assert s_spec is not None
        fewshot = FewShotSpec(s_spec, tuple(parse_shots(shots)), seeds)
    elif kind == "multitask" and s_spec is not None:
        fewshot = FewShotSpec(s_spec, (), 0)
    elif kind == "gzsl" and shots is not None:
        fewshot = FewShotSpec(s_spec or source, tuple(parse_shots(shots)), seeds)  # refused by the job
    multimodal = None
    if kind == "multimodal":
        fields = (("text", text_column),) + (("image", image_column),) * (image_column is not None) \
            + (("audio", audio_column),) * (audio_column is not None)
        multimodal = MultiModalSpec(tuple(fields), text_encoder, tuple(_weights(fusion_weights).items()))
    spec = JobSpec(
        kind, source, labels_spec(labels, labels_file, templates), model_spec(encoder, backend, method, model, batch_size, allow_download, preset=preset, language=language),
        cache_spec(cache_dir, no_cache),
        adapt_spec(transductive, unlabeled, transduction_steps, calibration, source, calibration_shots),
        DecideSpec(),
        OutputSpec(predictions=predictions, json=json_out, plot=plot, reliability=reliability, overwrite=overwrite),
        fewshot=fewshot,
        gzsl=GZSLSpec(s_spec, split, seen_classes, unseen_classes, semantics, attributes, gamma) if kind == "gzsl" else None,
        multimodal=multimodal, command=command_line(),
    )
    spec = with_options(spec, options or {})  # the options declared on the spec (--reject, ...)
    result = run_job(spec, CliReporter(quiet))
    PRINTERS[kind](result.metrics, spec)


#: the kinds of evaluation ``--kind`` names (each a job kind of the pipeline)
EVAL_KINDS = ("eval", "curve", "gzsl", "multitask", "multimodal")


def _weights(text: str | None) -> dict[str, float]:
    """``"text=1,image=2"`` -> ``{"text": 1.0, "image": 2.0}``."""
    weights: dict[str, float] = {}
    for part in (text or "").split(","):
        if part.strip():
            k, _, v = part.partition("=")
            try:
                weights[k.strip()] = float(v)
            except ValueError:
                raise InputError(f"--fusion-weights: {part!r} is not field=number") from None
    return weights


# ---------------------------------------------------------------------- printing, one table per job kind
def print_eval(r: dict[str, Any], spec: JobSpec) -> None:
    t = Table(title=f"{r['data']}  ·  {r['encoder']} + {r['method']}", show_header=True)
    t.add_column("metric")
    t.add_column("value", justify="right")
    for key in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece"):
        if key in r:
            t.add_row(key, fmt_pct(r[key]))
    if "inductive" in r:
        t.add_row("inductive accuracy", fmt_pct(r["inductive"]["accuracy"]))
    if "calibration" in r:
        t.add_row("ece before calibration", fmt_pct(r["calibration"]["ece_uncalibrated"]))
    if "open_set" in r:
        o = r["open_set"]
        t.add_row("rejection threshold", f"{o['threshold']:.4g}")
        for key in ("in_scope_accuracy", "out_of_scope_recall", "rejection_auroc", "rejection_rate"):
            if o[key] == o[key]:  # not NaN
                t.add_row(key, fmt_pct(o[key]))
    t.add_row("n", str(r["n"]))
    t.add_row("n_classes", str(r["n_classes"]))
    if r["n_skipped"]:
        t.add_row("skipped rows", str(r["n_skipped"]))
    t.add_row("seconds", f"{r['seconds']:.2f}")
    out.print(t)
    worst = sorted(r["per_class_accuracy"].items(), key=lambda kv: kv[1])[:5]
    if len(r["per_class_accuracy"]) > 5:
        out.print("weakest classes: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in worst), highlight=False)


def print_curve(r: dict[str, Any], spec: JobSpec) -> None:
    t = Table(title=f"{r['data']}  ·  {r['encoder']}  ·  accuracy (%) mean ± std over {r['seeds']} seeds")
    t.add_column("method")
    for k in r["shots"]:
        t.add_column(f"K={k}", justify="right")
    for m in r["methods"]:
        cells = [f"{100 * row['accuracy_mean']:.2f} ± {100 * row['accuracy_std']:.2f}" for row in r["curve"] if row["method"] == m]
        t.add_row(m, *cells)
    out.print(t)


def print_gzsl(r: dict[str, Any], spec: JobSpec) -> None:
    t = Table(title=f"{r['data']}  ·  {r['encoder']}  ·  {r['semantics']} semantics  ·  "
                    f"{r['n_seen']} seen / {r['n_unseen']} unseen classes")
    for col in ("method", "ZSL", "u γ=0", "s γ=0", "H γ=0", "γ", "u", "s", "H", "AUSUC", "fit s"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for m in r["results"]:
        u0 = m["uncalibrated"]
        t.add_row(m["method"], *(f"{100 * v:.1f}" for v in (m["zsl_accuracy"], u0["unseen_accuracy"], u0["seen_accuracy"],
                                                              u0["harmonic_mean"])),
                  f"{m['gamma']:.3g}", *(f"{100 * v:.1f}" for v in (m["unseen_accuracy"], m["seen_accuracy"],
                                                                     m["harmonic_mean"], m["ausuc"])),
                  f"{m['fit_seconds']:.1f}")
    out.print(t)


def print_multitask(r: dict[str, Any], spec: JobSpec) -> None:
    tab = Table(title=f"{r['data']}  ·  {r['encoder']} + multitask")
    for col in ("task", "accuracy", "macro_f1", "n"):
        tab.add_column(col)
    for t, m in r["tasks"].items():
        tab.add_row(t, fmt_pct(m["accuracy"]), fmt_pct(m["macro_f1"]), str(m["n"]))
    out.print(tab)


def print_multimodal(r: dict[str, Any], spec: JobSpec) -> None:
    tab = Table(title=f"{r['data']}  ·  late fusion of {', '.join(r['fields'])}")
    tab.add_column("predictor")
    tab.add_column("accuracy", justify="right")
    tab.add_column("n", justify="right")
    for f, m in r["per_field"].items():
        tab.add_row(f"{f} alone", fmt_pct(m["accuracy"]), str(m["n"]))
    tab.add_row("fused", fmt_pct(r["accuracy"]), str(r["n"]))
    out.print(tab)


PRINTERS = {"eval": print_eval, "curve": print_curve, "gzsl": print_gzsl, "multitask": print_multitask,
            "multimodal": print_multimodal}
