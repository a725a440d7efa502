"""``transzero classify``: predict every item of a file or folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..pipeline.spec import DecideSpec, InputSpec, JobSpec, with_options
from ._common import (
    AllowDownloadOpt, AudioColOpt, BackendOpt, BatchOpt, CacheDirOpt, CalibrationOpt, CliReporter, EncoderOpt, LanguageOpt, PresetOpt, LabelsFileOpt, LabelsOpt,
    MethodOpt, ModelOpt, NoCacheOpt, OverwriteOpt, QuietOpt, StepsOpt,
    TemplatesOpt, TextColOpt, TransductiveOpt, UnlabeledOpt, adapt_spec, cache_spec, err, labels_spec,
    model_spec, plural, output_spec, engine_spec, FormatOpt, ShardSizeOpt, EngineOpt, RayAddressOpt, WorkersOpt,
    IndexOpt, SummaryOpt,
)

from ._spec_options import spec_options


@spec_options("classify")
def classify(
    input: Path = typer.Argument(..., help="Items: .txt (one per line), .csv/.tsv, .jsonl; or images: a folder or a .txt of image paths."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    encoder: Optional[str] = EncoderOpt,
    preset: Optional[str] = PresetOpt,
    language: Optional[str] = LanguageOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Predictions file (.csv, .tsv, .jsonl, .json; default JSONL "
                                         "on stdout), or a folder of resumable shards (OUT_DIR/, or with --format/--shard-size)."),
    overwrite: bool = OverwriteOpt,
    fmt: Optional[str] = FormatOpt,
    shard_size: Optional[int] = ShardSizeOpt,
    engine: str = EngineOpt,
    ray_address: Optional[str] = RayAddressOpt,
    workers: Optional[int] = WorkersOpt,
    index: str = IndexOpt,
    summary: Optional[Path] = SummaryOpt,
    text_column: str = TextColOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    model: Optional[Path] = ModelOpt,
    allow_download: bool = AllowDownloadOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: Optional[int] = BatchOpt,
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any row is bad (they are still reported)."),
    transductive: bool = TransductiveOpt,
    unlabeled: Optional[Path] = UnlabeledOpt,
    transduction_steps: Optional[str] = StepsOpt,
    calibration: Optional[Path] = CalibrationOpt,
    multi_label: bool = typer.Option(False, "--multi-label", help="Independent per-label decisions: output every label over --threshold."),
    threshold: float = typer.Option(0.5, "--threshold", help="With --multi-label: per-label score threshold in [0, 1]."),
    audio_column: Optional[str] = AudioColOpt,
    quiet: bool = QuietOpt,
    options: Optional[dict] = None,
) -> None:
    """Classify every item of INPUT (texts; images: a folder or a list of image paths; audio: a folder, a list, or --audio-column)."""
    source = InputSpec(input, text_column, None, audio_column)
    spec = JobSpec(
        "classify", source, labels_spec(labels, labels_file, templates),
        model_spec(encoder, backend, method, model, batch_size, allow_download, index, preset, language), cache_spec(cache_dir, no_cache),
        adapt_spec(transductive, unlabeled, transduction_steps, calibration, source.with_labels("label"), index=index),
        DecideSpec(multi_label=threshold if multi_label else None),
        output_spec(output, overwrite, fmt, shard_size, summary), engine=engine_spec(engine, ray_address, workers),
        strict=strict,
    )
    spec = with_options(spec, options or {})  # the options declared on the spec (--reject, --explain, ...)
    from ..pipeline import run_job  # the jobs load only when a command runs

    result = run_job(spec, CliReporter(quiet))
    if not quiet:
        m = result.metrics
        dest = f" -> {output}" if output else ""
        bad = f"; {plural(result.n_bad, 'bad row')} reported" if result.n_bad else ""
        shards = f" in {plural(m['n_shards'], 'shard')} ({m['n_shards_reused']} reused, {m['engine']} engine)" \
            if m.get("n_shards", 1) > 1 or m.get("n_shards_reused") else ""
        err.print(f"classified {result.n_rows - result.n_bad}/{result.n_rows} rows with {m['encoder']} + {m['method']} "
                  f"in {m['seconds']:.1f}s{shards}{dest}{bad}", highlight=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
