"""Command-line interface: ``transzero classify | eval | models | demo | save``.

The commands, flags and JSON keys here are a public contract used by scripts: extend
them, never rename them. User mistakes print one ``error: ...`` line and exit 2.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import InputError, LabelError, TranszeroError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Classify items into classes described only in words, standing on pretrained encoders.",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console()

EXIT_USER_ERROR = 2

LabelsOpt = typer.Option(None, "--labels", "-l", help='Comma-separated class names, e.g. "sports,politics,tech".')
LabelsFileOpt = typer.Option(
    None, "--labels-file", "-f", help="JSON/YAML/TXT labels file: names, or name -> description(s)."
)
EncoderOpt = typer.Option(
    None, "--encoder", "-e", help="Encoder name or scheme:path (see `transzero models`). Default: minilm-l6 for text, efficientnet-lite0 for images."
)
BackendOpt = typer.Option(
    None, "--backend", help="Inference backend of the encoder: torch, onnx (fused fp32, exported once) or int8 (minilm-l6)."
)
MethodOpt = typer.Option(
    None, "--method", "-m",
    help="Scoring method: similarity (text default), knn, conse, wordnet (image default); few-shot: prototype, linear, "
         "zs-linear, tip-adapter, tip-adapter-f (a comma list with eval --support).",
)
TemplatesOpt = typer.Option(
    None, "--templates", help="Prompt templates: a set name (name, default, topic, sentiment, intent) or one template with {}. Repeatable."
)
TextColOpt = typer.Option("text", "--text-column", help="Column (CSV/TSV) or key (JSONL) holding the text.")
CacheDirOpt = typer.Option(None, "--cache-dir", help="Embedding cache folder (default: $TRANSZERO_CACHE_DIR or ~/.cache/transzero).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache.")
BatchOpt = typer.Option(None, "--batch-size", help="Items per forward pass.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar or summary on stderr.")
TransductiveOpt = typer.Option(False, "--transductive", help="Adapt to the input items themselves (neighbour-graph propagation + class balancing).")
UnlabeledOpt = typer.Option(None, "--unlabeled", help="More unlabelled items (same kind as the input) to adapt on; implies --transductive.")
StepsOpt = typer.Option("propagate,balance", "--transduction-steps", help="Transductive steps in order: center, prior, propagate, balance, self-train.")
RejectOpt = typer.Option(None, "--reject", help='"None of these": a probability threshold in [0, 1], or auto (from --target-frr on the --calibration examples, else on the items\' own scores).')
TargetFrrOpt = typer.Option(0.05, "--target-frr", help="With --reject auto: fraction of in-scope items that may be rejected.")
NoneLabelOpt = typer.Option("none", "--none-label", help="Label given to rejected items.")
CalibrationOpt = typer.Option(None, "--calibration", help="Labelled examples (same format as the input) used only to fit a temperature and class biases.")
AudioColOpt = typer.Option(None, "--audio-column", help="Column (CSV/TSV) or key (JSONL) holding audio file paths (relative to the file).")
ModelOpt = typer.Option(None, "--model", help="A classifier folder written by `transzero save` (replaces --labels/--encoder/--method).")


@contextmanager
def _progress(total: int, label: str, quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a callback ``advance(n)``."""
    if quiet or total < 64 or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as p:
        task = p.add_task(label, total=total)
        yield lambda n: p.advance(task, n)


def _label_space(labels: Optional[str], labels_file: Optional[Path], templates: Optional[list[str]]) -> Any:
    from .labels import LabelSpace, parse_label_list
    from .templates import resolve_templates

    if labels and labels_file:
        raise LabelError("give either --labels or --labels-file, not both")
    tmpl: Any = None
    if templates:
        tmpl = resolve_templates(templates[0]) if len(templates) == 1 else resolve_templates(list(templates))
    if labels_file:
        return LabelSpace.from_file(labels_file, templates=tmpl)
    if labels is not None:
        return LabelSpace(parse_label_list(labels), templates=tmpl)
    return None


def _cache(cache_dir: Optional[Path], no_cache: bool) -> Any:
    from .store import EmbeddingCache

    return False if no_cache else EmbeddingCache(cache_dir)


def _read_items(
    path: Path, text_column: str, label_column: Optional[str], audio_column: Optional[str] = None
) -> tuple[str, Any]:
    """Detect the input's modality and read it: ``("audio" | "image" | "text", table)``.

    ``audio_column`` (``--audio-column``): a CSV/TSV/JSONL manifest whose items are audio paths in that column.
    """
    from .data import read_text_table
    from .data.audio import looks_like_audio, read_audio_table
    from .data.image_folder import looks_like_images, read_image_table

    if audio_column is not None and path.is_file() and path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json"):
        return "audio", read_audio_table(path, with_labels=label_column is not None, audio_column=audio_column,
                                         label_column=label_column)
    if looks_like_audio(path):
        return "audio", read_audio_table(path, with_labels=label_column is not None)
    if looks_like_images(path):
        return "image", read_image_table(path, with_labels=label_column is not None)
    return "text", read_text_table(path, text_column=text_column, label_column=label_column)


def _build(
    model: Optional[Path],
    label_space: Any,
    encoder: Optional[str],
    method: Optional[str],
    cache: Any,
    batch_size: Optional[int],
    backend: Optional[str] = None,
    modality: str = "text",
) -> Any:
    from .classifier import ZeroShotClassifier
    from .defaults import default_method

    if model is not None:
        if label_space is not None or encoder or method or backend:
            raise InputError("--model already fixes labels, encoder and method; drop --labels/--encoder/--method/--backend")
        clf = ZeroShotClassifier.load(model, cache=cache)
        if batch_size:
            clf.batch_size = batch_size
        return clf
    if label_space is None:
        raise LabelError('no classes given; pass --labels "a,b,c" or --labels-file FILE')
    return ZeroShotClassifier(
        label_space, encoder=_encoder_for(modality, encoder, backend), method=method or default_method(modality), cache=cache, batch_size=batch_size
    ).fit()


def _encoder_for(modality: str, encoder: Optional[str], backend: Optional[str]) -> Any:
    """``--encoder`` (or the modality's default) with ``--backend``; refused when it encodes another modality."""
    from .defaults import default_encoder
    from .encoders import create_encoder

    enc = create_encoder(encoder or default_encoder(modality), **({"backend": backend} if backend else {}))
    if enc.modality != modality:
        raise InputError(
            f"the input holds {modality} items but encoder {enc.name} encodes {enc.modality}; "
            f"pass --encoder {default_encoder(modality)} (see `transzero models`)"
        )
    return enc


def _report_bad_rows(lines: list[str], quiet: bool, limit: int = 20) -> None:
    if not lines or quiet:
        return
    for line in lines[:limit]:
        err.print(f"[yellow]skipped[/] {line}", highlight=False, soft_wrap=True)
    if len(lines) > limit:
        err.print(f"[yellow]... and {len(lines) - limit} more bad rows[/]")


@app.command()
def classify(
    input: Path = typer.Argument(..., help="Items: .txt (one per line), .csv/.tsv, .jsonl; or images: a folder or a .txt of image paths."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    encoder: Optional[str] = EncoderOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Predictions file (.csv, .tsv, .jsonl, .json); default JSONL on stdout."),
    text_column: str = TextColOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    model: Optional[Path] = ModelOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: Optional[int] = BatchOpt,
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any row is bad (they are still reported)."),
    explain: int = typer.Option(0, "--explain", help="Add each prediction's top N sources (concepts) to the output (conse, wordnet)."),
    transductive: bool = TransductiveOpt,
    unlabeled: Optional[Path] = UnlabeledOpt,
    transduction_steps: str = StepsOpt,
    calibration: Optional[Path] = CalibrationOpt,
    reject: Optional[str] = RejectOpt,
    target_frr: float = TargetFrrOpt,
    none_label: str = NoneLabelOpt,
    multi_label: bool = typer.Option(False, "--multi-label", help="Independent per-label decisions: output every label over --threshold."),
    threshold: float = typer.Option(0.5, "--threshold", help="With --multi-label: per-label score threshold in [0, 1]."),
    audio_column: Optional[str] = AudioColOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Classify every item of INPUT (texts; images: a folder or a list of image paths; audio: a folder, a list, or --audio-column)."""
    from .io import prediction_records, write_predictions

    t0 = time.perf_counter()
    modality, table = _read_items(input, text_column, None, audio_column)
    clf = _build(model, _label_space(labels, labels_file, templates), encoder, method, _cache(cache_dir, no_cache),
                 batch_size, backend, modality)
    cal_scores = _calibrate(clf, calibration, modality, text_column, "label", None, quiet, audio_column)
    good = table.good
    trans, unl = _transduction(clf, transductive, unlabeled, transduction_steps, modality, text_column, quiet,
                               audio_column)
    with _progress(len(good), "encoding", quiet) as cb:
        res = clf.predict_batch([table.texts[i] for i in good], progress=cb, explain=explain, transduction=trans,
                                unlabeled=unl, multi_label=threshold if multi_label else None)
    thr = _apply_reject(res, reject, target_frr, none_label, cal_scores, quiet)
    n = len(table.texts)
    import numpy as np

    proba = np.full((n, len(res.classes)), np.nan)
    preds: list[Optional[str]] = [None] * n
    errors = dict(table.errors)
    for j, i in enumerate(good):
        if j in res.errors:
            errors[i] = res.errors[j]
        else:
            proba[i] = res.proba[j]
            preds[i] = res.labels[j]
    ids = [r.get("id") for r in table.records] if any("id" in r for r in table.records) else None
    col = "text" if input.suffix.lower() == ".txt" or modality == "image" else text_column
    texts = [table.raw_text(i, col) for i in range(n)]
    records = prediction_records(table.rows, texts, preds, proba, res.classes, errors, ids)
    if res.explanations is not None:
        for j, i in enumerate(good):
            e = res.explanations[j]
            records[i]["explanation"] = None if e is None else e.get("concepts", e.get("attributes"))
    if res.multi_labels is not None:
        for j, i in enumerate(good):
            records[i]["labels"] = res.multi_labels[j]
    if thr is not None and res.scores is not None:
        for j, i in enumerate(good):
            if res.labels[j] is not None:
                records[i]["score"] = float(res.scores[j])
    write_predictions(records, res.classes, output)
    bad = [f"{table.path}: row {table.rows[i]}: {m}" for i, m in sorted(errors.items())]
    _report_bad_rows(bad, quiet)
    if not quiet and res.transduction_info and res.transduction_info.get("fallback"):
        err.print(f"note: {res.transduction_info['fallback']}", highlight=False)
    if not quiet:
        dest = f" -> {output}" if output else ""
        err.print(
            f"classified {n - len(errors)}/{n} rows with {clf.encoder_.name} + {type(clf.method_).__name__} "
            f"in {time.perf_counter() - t0:.1f}s{dest}" + (f"; {len(errors)} bad rows reported" if errors else ""),
            highlight=False,
        )
    if strict and errors:
        raise typer.Exit(1)
    if n and len(errors) == n:
        raise InputError(f"{input}: none of the {n} rows could be classified (first: {bad[0]})")


def _transduction(clf: Any, transductive: bool, unlabeled: Optional[Path], steps: str, modality: str,
                  text_column: str, quiet: bool, audio_column: Optional[str] = None) -> tuple[Any, Any]:
    """The Transduction recipe and the encoded extra unlabelled items (None, None when not asked for)."""
    from .transductive import Transduction

    if not transductive and unlabeled is None:
        return None, None
    trans = Transduction(steps=tuple(s.strip() for s in steps.split(",") if s.strip()))
    if unlabeled is None:
        return trans, None
    u_modality, u_table = _read_items(unlabeled, text_column, None, audio_column)
    if u_modality != modality:
        raise InputError(f"--unlabeled holds {u_modality} items but the input holds {modality} items; give the same kind")
    X, errs = clf._encode_report([u_table.texts[i] for i in u_table.good], None)
    bad = [f"{u_table.path}: row {u_table.rows[i]}: {m}" for i, m in sorted(u_table.errors.items())]
    bad += [f"{u_table.path}: row {u_table.rows[u_table.good[j]]}: {m}" for j, m in sorted(errs.items())]
    _report_bad_rows(bad, quiet)
    keep = [j for j in range(len(u_table.good)) if j not in errs]
    return trans, X[keep]


def _calibrate(clf: Any, calibration: Optional[Path], modality: str, text_column: str, label_column: str,
               shots: Optional[int], quiet: bool, audio_column: Optional[str] = None) -> Any:
    """Fit the classifier's temperature/biases on labelled calibration examples; their rejection scores."""
    if calibration is None:
        return None
    import numpy as np
    from scipy.special import softmax

    c_modality, c_table = _read_items(calibration, text_column, label_column, audio_column)
    if c_modality != modality:
        raise InputError(f"--calibration holds {c_modality} items but the input holds {modality} items; give the same kind")
    X, errs = clf._encode_report([c_table.texts[i] for i in c_table.good], None)
    keep = [j for j in range(len(c_table.good)) if j not in errs]
    y = [c_table.labels[c_table.good[j]] for j in keep]
    bad = [f"{c_table.path}: row {c_table.rows[i]}: {m}" for i, m in sorted(c_table.errors.items())]
    bad += [f"{c_table.path}: row {c_table.rows[c_table.good[j]]}: {m}" for j, m in sorted(errs.items())]
    _report_bad_rows(bad, quiet)
    classes = {str(c) for c in clf.classes_}
    in_scope = [j for j, v in enumerate(y) if str(v) in classes]  # examples of other classes cannot calibrate
    if shots:
        from .curves import sample_shots

        picked = sample_shots([str(y[j]) for j in in_scope], shots, seed=0).indices
        in_scope = [in_scope[int(i)] for i in picked]
    if not in_scope:
        raise InputError(f"{calibration}: no usable labelled examples of the classes to calibrate on")
    Xc = np.asarray(X[keep])[in_scope]
    clf.calibrate_encoded(Xc, [y[j] for j in in_scope])
    return softmax(clf._logits(Xc).astype(np.float64), axis=1).max(axis=1)


def _apply_reject(res: Any, reject: Optional[str], target_frr: float, none_label: str, cal_scores: Any,
                  quiet: bool) -> Optional[float]:
    """Relabel items below the rejection threshold (given, or from --target-frr); the threshold used."""
    import numpy as np

    from .decisions import check_threshold, rejection_scores, threshold_for_frr

    if reject is None:
        return None
    good = [j for j, label in enumerate(res.labels) if label is not None]
    P = np.asarray(res.proba)[good]
    scores = np.full(len(res.labels), np.nan)
    if good:
        scores[good] = rejection_scores(P)
    res.scores = scores
    if reject.strip().lower() == "auto":
        pool = cal_scores if cal_scores is not None else scores[good]
        thr = threshold_for_frr(np.asarray(pool), target_frr)
        res.threshold_source = "calibration examples" if cal_scores is not None else "the items' own scores"
    else:
        thr = check_threshold(reject)
        res.threshold_source = "given"
    for j in good:
        if scores[j] < thr:
            res.labels[j] = none_label
    return float(thr)


@app.command(name="eval")
def eval_(
    data: Path = typer.Argument(..., help="CSV/TSV/JSONL with a text and a gold-label column, or an image folder DIR/<class>/*."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    label_column: str = typer.Option("label", "--label-column", help="Column with the gold label."),
    text_column: str = TextColOpt,
    encoder: Optional[str] = EncoderOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    model: Optional[Path] = ModelOpt,
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON to this file."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Also write per-row predictions (.csv/.jsonl)."),
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
    transduction_steps: str = StepsOpt,
    calibration: Optional[Path] = CalibrationOpt,
    calibration_shots: Optional[int] = typer.Option(None, "--calibration-shots", help="Use only K examples per class of --calibration (seed 0)."),
    reject: Optional[str] = RejectOpt,
    target_frr: float = TargetFrrOpt,
    none_label: str = NoneLabelOpt,
    reliability: Optional[Path] = typer.Option(None, "--reliability", help="Write a reliability diagram (PNG) of the predictions."),
    audio_column: Optional[str] = AudioColOpt,
    image_column: Optional[str] = typer.Option(None, "--image-column", help="Column holding image paths; with a text (or audio) column too, rows are multimodal records."),
    text_encoder: Optional[str] = typer.Option(None, "--text-encoder", help="Multimodal records: encoder of the text field (default minilm-l6)."),
    fusion_weights: Optional[str] = typer.Option(None, "--fusion-weights", help='Multimodal late fusion weights, e.g. "text=1,image=2".'),
    quiet: bool = QuietOpt,
) -> None:
    """Evaluate against gold labels (CSV/JSONL texts, or image class folders DIR/<class>/*); few-shot with --support;
    generalized zero-shot with --split (or an xlsa17 folder: att_splits.mat + res101.mat)."""
    from .data.xlsa17 import looks_like_xlsa17
    from .evaluate import classification_report
    from .io import prediction_records, write_predictions

    t0 = time.perf_counter()
    if image_column is not None or (audio_column is not None and _has_column(data, text_column)):
        _eval_multimodal(data, labels, labels_file, templates, text_column, image_column, audio_column, label_column,
                         text_encoder, fusion_weights, json_out, _cache(cache_dir, no_cache), quiet, t0)
        return
    if split is not None or seen_classes is not None or unseen_classes is not None or looks_like_xlsa17(data):
        if shots is not None or model is not None:
            raise InputError("generalized zero-shot evaluation takes neither --shots nor --model; drop them")
        _eval_gzsl(data, support, split, seen_classes, unseen_classes, method, semantics, attributes, gamma,
                   labels_file, templates, encoder, backend, text_column, label_column, json_out,
                   _cache(cache_dir, no_cache), batch_size, quiet, t0, audio_column)
        return
    if method == "multitask":
        _eval_multitask(data, support, label_column, text_column, encoder, backend, json_out,
                        _cache(cache_dir, no_cache), quiet, t0)
        return
    modality, table = _read_items(data, text_column, label_column, audio_column)
    assert table.labels is not None
    label_space = _label_space(labels, labels_file, templates)
    good = table.good
    gold_good = [table.labels[i] for i in good]
    if label_space is None and model is None:
        from .labels import LabelSpace

        if not gold_good:
            raise InputError(f"{data}: no usable rows to take the classes from")
        label_space = LabelSpace(sorted(set(gold_good)))  # type: ignore[arg-type]
    if support is not None or shots is not None:
        if support is None or shots is None:  # (multitask took --support above, without --shots)
            raise InputError("few-shot evaluation needs both --support DATA and --shots K (e.g. --shots 0,1,2,4,8,16)")
        if model is not None:
            raise InputError("--model cannot be combined with --support; name --encoder/--method instead")
        if unlabeled is not None or calibration is not None or reject is not None:
            raise InputError("learning curves take --transductive, but not --unlabeled, --calibration or --reject")
        _eval_fewshot(data, table, modality, label_space, support, shots, seeds, plot, json_out, encoder, method,
                      backend, text_column, label_column, _cache(cache_dir, no_cache), batch_size, quiet, t0,
                      transduction_steps if transductive else None, audio_column)
        return
    clf = _build(model, label_space, encoder, method, _cache(cache_dir, no_cache), batch_size, backend, modality)
    classes = [str(c) for c in clf.classes_]
    unknown = sorted(set(gold_good) - set(classes))  # type: ignore[arg-type]
    if unknown and reject is None:
        raise LabelError(
            f"{data}: gold label(s) {', '.join(map(repr, unknown[:5]))}{' ...' if len(unknown) > 5 else ''} are not among "
            f"the {len(classes)} classes; add them to the labels (or omit --labels to use the gold labels; "
            "or --reject to score them as out of scope)"
        )
    cal_scores = _calibrate(clf, calibration, modality, text_column, label_column, calibration_shots, quiet, audio_column)
    trans, unl = _transduction(clf, transductive, unlabeled, transduction_steps, modality, text_column, quiet,
                               audio_column)
    with _progress(len(good), "encoding", quiet) as cb:
        res = clf.predict_batch([table.texts[i] for i in good], progress=cb, transduction=trans, unlabeled=unl)
    argmax_labels = list(res.labels)
    thr = _apply_reject(res, reject, target_frr, none_label, cal_scores, quiet)
    ok = [j for j in range(len(good)) if j not in res.errors]
    in_scope = [j for j in ok if gold_good[j] in set(classes)]
    report = classification_report(
        [gold_good[j] for j in in_scope], [res.labels[j] for j in in_scope], classes,
        res.proba[in_scope] if in_scope else None
    )
    extra = _eval_extras(res, ok, in_scope, gold_good, argmax_labels, classes, thr, none_label, clf, trans, unl,
                         reliability, json_out, data)
    errors = dict(table.errors)
    errors.update({good[j]: m for j, m in res.errors.items()})
    cache = getattr(clf, "cache_", None)
    result: dict[str, Any] = {
        **report,
        **extra,
        "encoder": clf.encoder_.name,
        "method": _method_name(clf),
        "seconds": round(time.perf_counter() - t0, 3),
        "data": str(data),
        "n_rows": len(table.texts),
        "n_skipped": len(errors),
        "skipped": [{"row": table.rows[i], "error": m} for i, m in sorted(errors.items())],
        "cache": {"hits": cache.stats.hits, "misses": cache.stats.misses} if cache else None,
    }
    if predictions:
        n = len(table.texts)
        import numpy as np

        proba = np.full((n, len(classes)), np.nan)
        preds: list[Optional[str]] = [None] * n
        for j, i in enumerate(good):
            if j not in res.errors:
                proba[i], preds[i] = res.proba[j], res.labels[j]
        recs = prediction_records(table.rows, table.texts, preds, proba, classes, errors)
        for r, g in zip(recs, table.labels):
            r["gold"] = g
        write_predictions(recs, classes, predictions)
    _report_bad_rows([f"{table.path}: row {table.rows[i]}: {m}" for i, m in sorted(errors.items())], quiet)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    _print_report(result)


def _eval_extras(res: Any, ok: list[int], in_scope: list[int], gold: list[Any], argmax_labels: list[Any],
                 classes: list[str], thr: Optional[float], none_label: str, clf: Any, trans: Any, unl: Any,
                 reliability: Optional[Path], json_out: Optional[Path], data: Path) -> dict[str, Any]:
    """The eval JSON blocks of issue 6: ``inductive`` (beside transductive), ``calibration``, ``open_set``, ``reliability``."""
    import numpy as np

    from .calibration import expected_calibration_error, plot_reliability
    from .decisions import open_set_report
    from .evaluate import classification_report

    out: dict[str, Any] = {}
    index = {c: i for i, c in enumerate(classes)}
    y_in = np.asarray([index[gold[j]] for j in in_scope], dtype=np.int64)
    others: dict[str, np.ndarray] = {}
    if trans is not None:
        ind = res.inductive_proba[in_scope]
        rep = classification_report([gold[j] for j in in_scope], [classes[k] for k in ind.argmax(1)], classes, ind)
        out["inductive"] = {k: rep[k] for k in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece") if k in rep}
        info = res.transduction_info or {}
        out["transduction"] = {"steps": info.get("steps", []), "n_items": info.get("n_items", 0),
                               "n_unlabeled_extra": 0 if unl is None else int(len(unl)),
                               "fallback": info.get("fallback")}
        others["inductive"] = ind
    if getattr(clf, "calibrator_", None) is not None and res.uncalibrated_proba is not None:
        unc = res.uncalibrated_proba[in_scope]
        out["calibration"] = {"temperature": clf.calibrator_.temperature_, "n_examples": clf.calibrator_.n_examples_,
                              "ece_uncalibrated": expected_calibration_error(unc, y_in) if len(y_in) else float("nan")}
        others["uncalibrated"] = unc
    if thr is not None:
        out["open_set"] = {**open_set_report([gold[j] for j in ok], [res.labels[j] for j in ok], res.scores[ok], classes,
                                             none_label),
                           "threshold": thr, "threshold_from": getattr(res, "threshold_source", None),
                           "accuracy_without_rejection": float(np.mean([argmax_labels[j] == gold[j] for j in in_scope]))
                           if in_scope else float("nan")}
    if reliability is None and json_out is not None and (trans is not None or "calibration" in out):
        reliability = json_out.with_suffix(".reliability.png")
    if reliability is not None and len(y_in):
        title = f"{data.parent.name}/{data.name} · {clf.encoder_.name}"
        out["reliability"] = str(plot_reliability(res.proba[in_scope], y_in, reliability, title=title, others=others))
    return out


#: methods of a learning curve when --method is not given (one line each in the plot)
CURVE_METHODS = ["prototype", "linear", "zs-linear", "tip-adapter", "tip-adapter-f"]  # finetune: name it (slow)


def _eval_fewshot(
    data: Path, table: Any, modality: str, label_space: Any, support: Path, shots_text: str, seeds: int,
    plot: Optional[Path], json_out: Optional[Path], encoder: Optional[str], method: Optional[str],
    backend: Optional[str], text_column: str, label_column: str, cache: Any, batch_size: Optional[int],
    quiet: bool, t0: float, transduction_steps: Optional[str] = None, audio_column: Optional[str] = None,
) -> None:
    """``eval --support S --shots K[,K...]``: K-shot fits over seeds, mean ± std, curve JSON + PNG."""
    from .classifier import ZeroShotClassifier
    from .curves import learning_curve, parse_shots, plot_curve
    from .methods import list_methods

    shots = parse_shots(shots_text)
    methods = [m.strip() for m in method.split(",") if m.strip()] if method else list(CURVE_METHODS)
    unknown = [m for m in methods if m not in list_methods()]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; choose from {', '.join(list_methods())}")
    s_modality, s_table = _read_items(support, text_column, label_column, audio_column)
    if s_modality != modality:
        raise InputError(f"--support holds {s_modality} items but {data} holds {modality} items; give the same kind")
    # the classifier every fit shares its encoder, label encoder and cache with; encoding needs no fitted method
    base = ZeroShotClassifier(label_space, encoder=_encoder_for(modality, encoder, backend), method="prototype",
                              cache=cache, batch_size=batch_size)
    base._prepare()

    def encode(tab: Any, what: str) -> tuple[Any, list[str], dict[int, str], list[Any]]:
        import numpy as np

        with _progress(len(tab.good), f"encoding {what}", quiet) as cb:
            X, errs = base._encode_report([tab.texts[i] for i in tab.good], cb)
        keep = [j for j in range(len(tab.good)) if j not in errs]
        errors = dict(tab.errors)
        errors.update({tab.good[j]: m for j, m in errs.items()})
        return (np.asarray(X[keep]), [tab.labels[tab.good[j]] for j in keep], errors,
                [tab.texts[tab.good[j]] for j in keep])

    X_eval, y_eval, eval_errors, items_eval = encode(table, "eval items")
    X_sup, y_sup, sup_errors, items_sup = encode(s_table, "support")
    if not len(y_eval) or not len(y_sup):
        raise InputError(f"{data if not len(y_eval) else support}: no usable rows")
    classes = [str(c) for c in base.label_space_.names]
    unknown_gold = sorted(set(map(str, y_eval)) - set(classes))
    if unknown_gold:
        raise LabelError(f"{data}: gold label {unknown_gold[0]!r} is not among the classes; add it to the labels")

    def make(name: str) -> Any:
        return ZeroShotClassifier(base.label_space_, encoder=base.encoder_, method=name, cache=base.cache_,
                                  batch_size=batch_size, label_encoder=base.label_encoder_)

    def show(row: dict[str, Any]) -> None:
        if not quiet:
            note = f" (fewer than K: {', '.join(f'{c} {n}' for c, n in row['short_classes'].items())})" if row["short_classes"] else ""
            err.print(f"{row['method']:>14} K={row['shots']:<3} {100 * row['accuracy_mean']:6.2f} ± {100 * row['accuracy_std']:.2f}{note}",
                      highlight=False)

    trans = None
    if transduction_steps is not None:
        from .transductive import Transduction

        trans = Transduction(steps=tuple(x.strip() for x in transduction_steps.split(",") if x.strip()))
    rows = learning_curve(make, methods, X_sup, y_sup, X_eval, y_eval, shots, seeds=seeds, on_row=show,
                          items_support=items_sup, items_eval=items_eval, transduction=trans)
    result: dict[str, Any] = {
        "encoder": base.encoder_.name,
        "methods": methods,
        "data": str(data),
        "support": str(support),
        "shots": shots,
        "seeds": seeds,
        "n": len(y_eval),
        "n_support_pool": len(y_sup),
        "n_classes": len(classes),
        "curve": rows,
        "transductive": trans is not None,
        "seconds": round(time.perf_counter() - t0, 3),
        "n_skipped": len(eval_errors),
        "skipped": [{"row": table.rows[i], "error": m} for i, m in sorted(eval_errors.items())],
        "support_skipped": [{"row": s_table.rows[i], "error": m} for i, m in sorted(sup_errors.items())],
    }
    if len(methods) == 1 and len(shots) == 1:
        result["accuracy"] = rows[0]["accuracy_mean"]
        result["accuracy_std"] = rows[0]["accuracy_std"]
    if plot is None and json_out is not None and len(shots) > 1:
        plot = json_out.with_suffix(".png")
    if plot is not None:
        result["plot"] = str(plot_curve(rows, plot, title=f"{data.parent.name}/{data.name} · {base.encoder_.name}"))
    bad = [f"{table.path}: row {table.rows[i]}: {m}" for i, m in sorted(eval_errors.items())]
    bad += [f"{s_table.path}: row {s_table.rows[i]}: {m}" for i, m in sorted(sup_errors.items())]
    _report_bad_rows(bad, quiet)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    t = Table(title=f"{data}  ·  {base.encoder_.name}  ·  accuracy (%) mean ± std over {seeds} seeds")
    t.add_column("method")
    for k in shots:
        t.add_column(f"K={k}", justify="right")
    for m in methods:
        cells = [f"{100 * r['accuracy_mean']:.2f} ± {100 * r['accuracy_std']:.2f}" for r in rows if r["method"] == m]
        t.add_row(m, *cells)
    out.print(t)


def _eval_multitask(
    data: Path, support: Optional[Path], label_column: str, text_column: str, encoder: Optional[str],
    backend: Optional[str], json_out: Optional[Path], cache: Any, quiet: bool, t0: float,
) -> None:
    """``eval --method multitask --label-column a,b [--support S]``: one model, every task scored."""
    from .data import read_text_table
    from .data.image_folder import looks_like_images
    from .encoders import create_encoder
    from .evaluate import classification_report
    from .multitask import MultiTaskClassifier

    if looks_like_images(data):
        raise InputError("--method multitask reads several label columns of a CSV/TSV/JSONL text file; images have one folder label")
    tasks = [c.strip() for c in label_column.split(",") if c.strip()]
    table = read_text_table(data, text_column=text_column)
    s_table = read_text_table(support, text_column=text_column) if support else None

    def column(tab: Any, col: str) -> list[Optional[str]]:
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
    enc = create_encoder(encoder or "minilm-l6", **({"backend": backend} if backend else {}))
    mt = MultiTaskClassifier(classes, encoder=enc, cache=cache)
    if s_table is not None and sup is not None:
        good = s_table.good
        mt.fit([s_table.texts[i] for i in good], {t: [sup[t][i] for i in good] for t in tasks})
    else:
        mt.fit()
    good = table.good
    proba = mt.predict_proba([table.texts[i] for i in good])
    result: dict[str, Any] = {"encoder": enc.name, "method": "multitask", "data": str(data),
                              "support": str(support) if support else None, "tasks": {}}
    for t in tasks:
        keep = [j for j, i in enumerate(good) if gold[t][i] is not None]
        pred = [classes[t][k] for k in proba[t][keep].argmax(1)]
        rep = classification_report([gold[t][good[j]] for j in keep], pred, classes[t], proba[t][keep])
        rep["n_labelled_support"] = mt.n_labelled_.get(t, 0) if hasattr(mt, "n_labelled_") else 0
        result["tasks"][t] = rep
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["n_skipped"] = len(table.errors)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    tab = Table(title=f"{data}  ·  {enc.name} + multitask")
    for col in ("task", "accuracy", "macro_f1", "n"):
        tab.add_column(col)
    for t, r in result["tasks"].items():
        tab.add_row(t, f"{100 * r['accuracy']:.2f}", f"{100 * r['macro_f1']:.2f}", str(r["n"]))
    out.print(tab)


def _eval_gzsl(
    data: Path, support: Optional[Path], split_file: Optional[Path], seen_file: Optional[Path],
    unseen_file: Optional[Path], method: Optional[str], semantics: str, attributes: Optional[Path], gamma_text: str,
    labels_file: Optional[Path], templates: Optional[list[str]], encoder: Optional[str], backend: Optional[str],
    text_column: str, label_column: str, json_out: Optional[Path], cache: Any, batch_size: Optional[int],
    quiet: bool, t0: float, audio_column: Optional[str] = None,
) -> None:
    """``eval --split S --support TRAIN --method eszsl,...``: ZSL + GZSL metrics (u, s, H, AUSUC, gamma)."""
    import numpy as np

    from .data.xlsa17 import load_xlsa17, looks_like_xlsa17
    from .defaults import default_encoder
    from .encoders import create_encoder
    from .gzsl import GZSLSplit, evaluate_gzsl, read_split
    from .labels import LabelSpace, read_attributes
    from .methods import ZSL_METHODS, create_method, list_methods

    methods = [m.strip() for m in method.split(",") if m.strip()] if method else ["eszsl"]
    for m in methods:
        if m not in list_methods():
            raise InputError(f"unknown method {m!r}; choose from {', '.join(list_methods())}")
        if m not in ZSL_METHODS:
            raise InputError(f"method {m!r} does not learn from seen classes; use one of {', '.join(ZSL_METHODS)}")
    if gamma_text.strip().lower() == "auto":
        gamma: Any = "auto"
    else:
        try:
            gamma = float(gamma_text)
        except ValueError:
            raise InputError(f"--gamma must be a number or auto, got {gamma_text!r}") from None
    info: dict[str, Any] = {"data": str(data)}
    if looks_like_xlsa17(data):
        if support is not None or split_file or seen_file or unseen_file or attributes is not None:
            raise InputError(f"{data} is an xlsa17 folder: its splits and attributes come from att_splits.mat; "
                             "drop --support/--split/--seen-classes/--unseen-classes/--attributes")
        ds = load_xlsa17(data)
        X_train, y_train = ds.items("trainval")
        Xs, ys = ds.items("test_seen")
        Xu, yu = ds.items("test_unseen")
        X_test, y_test = np.concatenate([Xs, Xu]), list(ys) + list(yu)
        split = GZSLSplit(ds.seen_classes, ds.unseen_classes, ds.val_classes or None)
        space = LabelSpace.from_attributes(ds.class_names, ds.attributes, semantics="attributes" if semantics == "auto" else semantics)
        ce = space.embed(create_encoder(default_encoder("text")) if space.semantic_kind != "attributes" else None, cache or None)
        info.update(encoder="res101 (xlsa17 features)", semantics=space.semantic_kind, dataset=ds.name)
        skipped: list[str] = []
    else:
        if support is None:
            raise InputError("generalized zero-shot evaluation needs training examples of the seen classes: --support DATA")
        split = read_split(split_file, seen=seen_file, unseen=unseen_file)
        modality, table = _read_items(data, text_column, label_column, audio_column)
        s_modality, s_table = _read_items(support, text_column, label_column, audio_column)
        if s_modality != modality:
            raise InputError(f"--support holds {s_modality} items but {data} holds {modality} items; give the same kind")
        enc = create_encoder(encoder or default_encoder(modality), **({"backend": backend} if backend else {}))
        if enc.modality != modality:
            raise InputError(f"the input holds {modality} items but encoder {enc.name} encodes {enc.modality}; "
                             f"pass --encoder {default_encoder(modality)}")
        names = split.classes
        attr = attr_names = None
        if attributes is not None:
            a_names, A, attr_names = read_attributes(attributes)
            row = {n: i for i, n in enumerate(a_names)}
            missing = [n for n in names if n not in row]
            if missing:
                raise LabelError(f"class {missing[0]!r} has no row in {attributes.name}; every seen and unseen class needs semantics")
            attr = A[[row[n] for n in names]]
        desc = None
        if labels_file is not None:
            ls_file = LabelSpace.from_file(labels_file)
            unknown = [n for n in names if n not in ls_file.names]
            if unknown:
                raise LabelError(f"class {unknown[0]!r} of the split is not in {labels_file.name}; describe every class")
            desc = {n: ls_file.descriptions[n] for n in names if n in ls_file.descriptions}
        tmpl: Any = None
        if templates:
            from .templates import resolve_templates

            tmpl = resolve_templates(templates[0]) if len(templates) == 1 else resolve_templates(list(templates))
        space = LabelSpace(names, descriptions=desc, templates=tmpl, attributes=attr, attribute_names=attr_names,
                           semantics=semantics)
        label_enc = None
        if space.semantic_kind != "attributes":
            label_enc = enc if enc.modality == "text" else create_encoder(default_encoder("text"))
        ce = space.embed(label_enc, cache or None)

        def encode(tab: Any, what: str) -> tuple[Any, list[str], list[str]]:
            with _progress(len(tab.good), f"encoding {what}", quiet) as cb:
                X, errs = (cache.encode_report(enc, [tab.texts[i] for i in tab.good], batch_size=batch_size, progress=cb)
                           if cache else enc.encode_report([tab.texts[i] for i in tab.good], batch_size=batch_size, progress=cb))
            keep = [j for j in range(len(tab.good)) if j not in errs]
            bad = [f"{tab.path}: row {tab.rows[i]}: {m}" for i, m in sorted(tab.errors.items())]
            bad += [f"{tab.path}: row {tab.rows[tab.good[j]]}: {m}" for j, m in sorted(errs.items())]
            return np.asarray(X[keep]), [str(tab.labels[tab.good[j]]) for j in keep], bad

        X_test, y_test, bad_test = encode(table, "test items")
        X_train, y_train, bad_train = encode(s_table, "support")
        skipped = bad_test + bad_train
        info.update(support=str(support), encoder=enc.name, semantics=space.semantic_kind,
                    semantic_encoder=label_enc.name if label_enc is not None else None)
        _report_bad_rows(skipped, quiet)
    results = []
    for m in methods:
        r = evaluate_gzsl(create_method(m), X_train, y_train, X_test, y_test, ce, split, gamma=gamma)
        results.append({"method": m, **r})
    result: dict[str, Any] = {**info, "methods": methods, "n_test": len(y_test), "n_skipped": len(skipped),
                              "skipped": skipped[:100], "results": results}
    if len(results) == 1:
        result.update({k: v for k, v in results[0].items() if k != "method"}, method=methods[0])
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    t = Table(title=f"{data}  ·  {info['encoder']}  ·  {info['semantics']} semantics  ·  "
                    f"{len(split.seen)} seen / {len(split.unseen)} unseen classes")
    for col in ("method", "ZSL", "u γ=0", "s γ=0", "H γ=0", "γ", "u", "s", "H", "AUSUC", "fit s"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for r in results:
        u0 = r["uncalibrated"]
        t.add_row(r["method"], *(f"{100 * v:.1f}" for v in (r["zsl_accuracy"], u0["unseen_accuracy"], u0["seen_accuracy"],
                                                              u0["harmonic_mean"])),
                  f"{r['gamma']:.3g}", *(f"{100 * v:.1f}" for v in (r["unseen_accuracy"], r["seen_accuracy"],
                                                                     r["harmonic_mean"], r["ausuc"])),
                  f"{r['fit_seconds']:.1f}")
    out.print(t)
    if results and results[0]["n_ignored_unseen_support"] and not quiet:
        err.print(f"note: {results[0]['n_ignored_unseen_support']} training example(s) of unseen classes were ignored")


def _has_column(path: Path, column: str) -> bool:
    """True when a CSV/TSV/JSONL file has ``column`` (used to detect multimodal records)."""
    if not path.is_file() or path.suffix.lower() not in (".csv", ".tsv", ".jsonl", ".json"):
        return False
    from .data import read_text_table

    try:
        t = read_text_table(path, text_column=column)
    except TranszeroError:
        return False
    return any(column in r for r in t.records[:50])


def _eval_multimodal(
    data: Path, labels: Optional[str], labels_file: Optional[Path], templates: Optional[list[str]], text_column: str,
    image_column: Optional[str], audio_column: Optional[str], label_column: str, text_encoder: Optional[str],
    fusion_weights: Optional[str], json_out: Optional[Path], cache: Any, quiet: bool, t0: float,
) -> None:
    """Rows with several fields (text + image, text + audio): one classifier per field, late fusion."""
    import numpy as np

    from .classifier import ZeroShotClassifier
    from .data import read_text_table
    from .defaults import default_encoder, default_method
    from .encoders import create_encoder
    from .evaluate import classification_report
    from .labels import LabelSpace
    from .multimodal import MultiModalClassifier

    t = read_text_table(data, text_column=label_column, label_column=label_column)
    base = data.parent
    fields: dict[str, str] = {}
    if any(text_column in r for r in t.records[:50]):  # the file is already read: no second pass as in _has_column
        fields["text"] = text_column
    if image_column:
        fields["image"] = image_column
    if audio_column:
        fields["audio"] = audio_column
    for f, col in fields.items():
        if t.records and not any(col in r for r in t.records):
            raise InputError(f"{data}: no column {col!r} (from --{f}-column); columns: {', '.join(t.records[0])}")
    if len(fields) < 2:
        raise InputError(f"{data}: multimodal records need two of --text-column, --image-column, --audio-column")
    gold = [None if g is None else str(g) for g in (t.labels or [])]
    space = _label_space(labels, labels_file, templates) or LabelSpace(sorted({g for g in gold if g}))
    weights: dict[str, float] = {}
    for part in (fusion_weights or "").split(","):
        if part.strip():
            k, _, v = part.partition("=")
            try:
                weights[k.strip()] = float(v)
            except ValueError:
                raise InputError(f"--fusion-weights: {part!r} is not field=number") from None
    clfs = {}
    for f in fields:
        enc = create_encoder(text_encoder or default_encoder("text")) if f == "text" else create_encoder(default_encoder(f))
        clfs[f] = ZeroShotClassifier(space, encoder=enc, method=default_method(f), cache=cache)
    mm = MultiModalClassifier(clfs, weights=weights).fit()

    def item(f: str, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        return v if f == "text" else str(v if Path(str(v)).is_absolute() else base / str(v))

    records = [{f: item(f, r.get(col)) for f, col in fields.items()} for r in t.records]
    res = mm.predict_batch(records)
    classes = [str(c) for c in mm.classes_]
    ok = [i for i in range(len(records)) if i not in res.errors and gold[i] in set(classes)]
    report = classification_report([gold[i] for i in ok], [res.labels[i] for i in ok], classes, res.proba[ok] if ok else None)
    per_field = {}
    for f in fields:
        rows = [i for i in ok if np.all(np.isfinite(res.per_field[f][i]))]
        per_field[f] = {"n": len(rows), "accuracy": float(np.mean([classes[int(np.argmax(res.per_field[f][i]))] == gold[i]
                                                                  for i in rows])) if rows else float("nan")}
    notes = [f"{t.path}: row {t.rows[i]}: scored without {', '.join(m)}" for i, m in sorted(res.missing.items())
             if i not in res.errors]
    notes += [f"{t.path}: row {t.rows[i]}: {m}" for i, m in sorted(res.errors.items())]
    _report_bad_rows(notes, quiet)
    result = {**report, "encoder": {f: c.encoder_.name for f, c in clfs.items()}, "method": "late-fusion",
              "fields": list(fields), "weights": {f: weights.get(f, 1.0) for f in fields}, "per_field": per_field,
              "data": str(data), "n_rows": len(records), "n_missing_field": sum(1 for i in res.missing if i not in res.errors),
              "n_skipped": len(res.errors), "skipped": [{"row": t.rows[i], "error": m} for i, m in sorted(res.errors.items())],
              "seconds": round(time.perf_counter() - t0, 3)}
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    tab = Table(title=f"{data}  ·  late fusion of {', '.join(fields)}")
    tab.add_column("predictor")
    tab.add_column("accuracy", justify="right")
    tab.add_column("n", justify="right")
    for f, r in per_field.items():
        tab.add_row(f"{f} alone", f"{100 * r['accuracy']:.2f}", str(r["n"]))
    tab.add_row("fused", f"{100 * report['accuracy']:.2f}", str(report["n"]))
    out.print(tab)


def _method_name(clf: Any) -> str:
    from .classifier import _method_name as name

    return name(clf.method_)


def _print_report(r: dict[str, Any]) -> None:
    t = Table(title=f"{r['data']}  ·  {r['encoder']} + {r['method']}", show_header=True)
    t.add_column("metric")
    t.add_column("value", justify="right")
    for key in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece"):
        if key in r:
            t.add_row(key, f"{100 * r[key]:.2f}")
    if "inductive" in r:
        t.add_row("inductive accuracy", f"{100 * r['inductive']['accuracy']:.2f}")
    if "calibration" in r:
        t.add_row("ece before calibration", f"{100 * r['calibration']['ece_uncalibrated']:.2f}")
    if "open_set" in r:
        o = r["open_set"]
        t.add_row("rejection threshold", f"{o['threshold']:.4g}")
        for key in ("in_scope_accuracy", "out_of_scope_recall", "rejection_auroc", "rejection_rate"):
            if o[key] == o[key]:  # not NaN
                t.add_row(key, f"{100 * o[key]:.2f}")
    t.add_row("n", str(r["n"]))
    t.add_row("n_classes", str(r["n_classes"]))
    if r["n_skipped"]:
        t.add_row("skipped rows", str(r["n_skipped"]))
    t.add_row("seconds", f"{r['seconds']:.2f}")
    out.print(t)
    worst = sorted(r["per_class_accuracy"].items(), key=lambda kv: kv[1])[:5]
    if len(r["per_class_accuracy"]) > 5:
        out.print("weakest classes: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in worst), highlight=False)


@app.command()
def models(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the encoders available offline, their size and what they are."""
    from .encoders import encoder_info, list_encoders, list_schemes
    from .defaults import DEFAULT_ENCODERS, DEFAULT_METHODS

    infos = [encoder_info(n) for n in list_encoders()]
    defaults = set(DEFAULT_ENCODERS.values())
    if as_json:
        out.print_json(json.dumps({"encoders": infos, "schemes": list_schemes(), "defaults": DEFAULT_ENCODERS,
                                   "default_methods": DEFAULT_METHODS}))
        return
    t = Table(title="transzero encoders")
    for col in ("name", "modality", "available", "size (MB)", "description"):
        t.add_column(col)
    for i in infos:
        name = i["name"] + (" (default)" if i["name"] in defaults else "")
        t.add_row(name, i["modality"], "yes" if i["available"] else "no: pip install", str(i["size_mb"] or "-"), i["description"])
    out.print(t)
    out.print("Local models: " + ", ".join(f"{s}:<path>" for s in list_schemes()) + " (hub:<repo id> is the only one that downloads).", highlight=False)


DEMO_LABELS = ["sports", "politics", "technology", "business", "health"]
DEMO_TEXTS = [
    "The striker scored twice as United won the derby 3-1.",
    "Parliament passed the budget after a long night of debate.",
    "The new phone ships with a faster chip and a better camera.",
    "Shares of the retailer fell 8% after weak quarterly earnings.",
    "Doctors recommend thirty minutes of exercise a day to lower blood pressure.",
    "The senator announced she will run for governor next year.",
    "Engineers released an open-source compiler that runs on GPUs.",
    "The tennis champion withdrew from the tournament with a wrist injury.",
]


@app.command()
def demo(encoder: Optional[str] = EncoderOpt) -> None:
    """Classify a few bundled example texts into labels it prints (no arguments needed)."""
    from .classifier import ZeroShotClassifier

    t0 = time.perf_counter()
    out.print(f"labels: {', '.join(DEMO_LABELS)}", highlight=False)
    clf = ZeroShotClassifier(DEMO_LABELS, encoder=encoder)
    clf.fit()
    proba = clf.predict_proba(DEMO_TEXTS)
    t = Table(title=f"zero-shot with {clf.encoder_.name} (no training examples)")
    t.add_column("text")
    t.add_column("label")
    t.add_column("confidence", justify="right")
    for text, p in zip(DEMO_TEXTS, proba):
        k = int(p.argmax())
        t.add_row(text, str(clf.classes_[k]), f"{p[k]:.2f}")
    out.print(t)
    out.print(f"done in {time.perf_counter() - t0:.1f}s. Try: transzero classify my.txt --labels \"a,b,c\"", highlight=False)


@app.command()
def save(
    directory: Path = typer.Argument(..., help="Folder to write (JSON + .npy)."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    encoder: Optional[str] = EncoderOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    templates: Optional[list[str]] = TemplatesOpt,
) -> None:
    """Save a configured classifier (labels embedded once) for `--model DIR` or load_classifier()."""
    clf = _build(None, _label_space(labels, labels_file, templates), encoder, method, False, None, backend)
    path = clf.save(directory)
    out.print(f"saved {len(clf.classes_)} classes, {clf.encoder_.name} + {_method_name(clf)} -> {path}", highlight=False)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: runs the app, turning user errors into one line on stderr and exit status 2."""
    try:
        rc = app(args=argv, prog_name="transzero", standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except TranszeroError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_USER_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # click usage errors (typer vendors its own click): print the usage line, no traceback
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
