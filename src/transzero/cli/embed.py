"""``transzero embed``: the vectors of every item, into resumable shards (or one file)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..pipeline.spec import InputSpec, JobSpec
from ._common import (
    AudioColOpt, BackendOpt, BatchOpt, CacheDirOpt, CliReporter, EncoderOpt, EngineOpt, FormatOpt, NoCacheOpt,
    OverwriteOpt, QuietOpt, RayAddressOpt, ShardSizeOpt, SummaryOpt, TextColOpt, WorkersOpt, cache_spec, engine_spec,
    err, model_spec, output_spec, plural,
)


def embed(
    input: Path = typer.Argument(..., help="Items: .txt, .csv/.tsv, .jsonl, .parquet; or a folder / list of images or audio."),
    output: str = typer.Option(..., "--output", "-o", help="A folder of part-NNNNN files (vectors in a 'vector' column; "
                                                           "resumable), or one .parquet/.csv/.jsonl/.arrow file."),
    encoder: Optional[str] = EncoderOpt,
    backend: Optional[str] = BackendOpt,
    fmt: Optional[str] = FormatOpt,
    shard_size: Optional[int] = ShardSizeOpt,
    overwrite: bool = OverwriteOpt,
    text_column: str = TextColOpt,
    audio_column: Optional[str] = AudioColOpt,
    engine: str = EngineOpt,
    ray_address: Optional[str] = RayAddressOpt,
    workers: Optional[int] = WorkersOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    batch_size: Optional[int] = BatchOpt,
    summary: Optional[Path] = SummaryOpt,
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any row is bad (they are still reported)."),
    quiet: bool = QuietOpt,
) -> None:
    """Write the vector of every item of INPUT (for downstream use, and as the input of later jobs)."""
    out = output_spec(output, overwrite, fmt, shard_size, summary)
    if not out.shards:  # one file: its format from its suffix (.feather is arrow)
        from ..formats import format_for_suffix

        suffix = Path(output).suffix.lower()
        known = format_for_suffix(suffix)
        out = type(out)(**{**out.__dict__, "format": known.name if known is not None else suffix.lstrip(".")})
    spec = JobSpec("embed", InputSpec(input, text_column, None, audio_column), model=model_spec(encoder, backend, None,
                   batch_size=batch_size), cache=cache_spec(cache_dir, no_cache), output=out,
                   engine=engine_spec(engine, ray_address, workers), strict=strict)
    from ..pipeline import run_job  # the jobs load only when a command runs

    result = run_job(spec, CliReporter(quiet))
    if not quiet:
        m = result.metrics
        bad = f"; {plural(result.n_bad, 'bad row')} reported" if result.n_bad else ""
        err.print(f"embedded {result.n_rows - result.n_bad}/{result.n_rows} rows with {m['encoder']} ({m['dim']}-d) in "
                  f"{m['seconds']:.1f}s, {plural(m['n_shards'], 'shard')} ({m['n_shards_reused']} reused, {m['engine']} "
                  f"engine) -> {output}{bad}", highlight=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
