"""What every command shares: consoles, option definitions, the stderr reporter, spec builders.

Nothing here classifies: commands parse flags into a :class:`~transzero.pipeline.JobSpec`, call
:func:`~transzero.pipeline.run_job`, and print what it returns.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .._strings import safe_text
from ..defaults import DEFAULT_ENCODERS
from ..methods.registry import methods_help
from ..pipeline.report import LineProgress, ProgressFn, Reporter
from ..pipeline.spec import AdaptSpec, CacheSpec, EngineSpec, InputSpec, LabelsSpec, ModelSpec, OutputSpec

#: the arguments of the command being run (``main`` sets them): eval results and reports record the command
_ARGV: list[str] = []


def set_command(argv: list[str]) -> None:
    _ARGV[:] = [str(a) for a in argv]


def command_line() -> str:
    """The command being run, as a shell line (``transzero eval data.csv --report r.html``)."""
    import shlex

    return shlex.join(["transzero", *_ARGV])

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

EXIT_USER_ERROR = 2


def _encoder_help() -> str:
    from ..encoders.registry import list_encoders, list_schemes

    names = ", ".join(list_encoders())
    schemes = ", ".join(f"{s}:PATH" for s in list_schemes())
    defaults = ", ".join(f"{m} {e}" for m, e in DEFAULT_ENCODERS.items())
    return f"Encoder: {names}; or {schemes} (see `transzero models`). Default: {defaults}."


# ---------------------------------------------------------------------- shared options
LabelsOpt = typer.Option(None, "--labels", "-l", help='Comma-separated class names, e.g. "sports,politics,tech".')
LabelsFileOpt = typer.Option(None, "--labels-file", "-f", help="JSON/YAML/TXT labels file: names, or name -> description(s).")
EncoderOpt = typer.Option(None, "--encoder", "-e", help=_encoder_help())
BackendOpt = typer.Option(None, "--backend", help="Inference backend of the encoder: onnx-int8 (minilm-l6's default; int8 build made once), onnx (fused fp32, exported once), torch, or int8 (minilm-l6-int8's file).")
PresetOpt = typer.Option(None, "--preset", help="Text encoder when --encoder is not given: fast (MiniLM int8 for English, "
                                                 "~3x sentence-transformers) or accurate (the default; see `transzero models`). "
                                                 "Non-English items get the multilingual e5-small under both.")
LanguageOpt = typer.Option(None, "--language", help="The texts' language (en, de, zh, ...; mul for a mix) when --encoder is not "
                                                    "given; default: detected from the items.")
MethodOpt = typer.Option(None, "--method", "-m", help=f"Scoring method ({methods_help()}); a comma list with eval --support or a split. "
                                                     "Default: similarity (text), wordnet (images), whisper-fused (audio).")
TemplatesOpt = typer.Option(None, "--templates", help="Prompt templates: a set name (name, default, topic, sentiment, intent) or one template with {}. Repeatable.")
TextColOpt = typer.Option("text", "--text-column", help="Column (CSV/TSV) or key (JSONL) holding the text.")
CacheDirOpt = typer.Option(None, "--cache-dir", help="Embedding cache folder (default: $TRANSZERO_CACHE_DIR or ~/.cache/transzero).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache.")
BatchOpt = typer.Option(None, "--batch-size", help="Items per forward pass.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress, bad-row lines or summary on stderr.")
OverwriteOpt = typer.Option(False, "--overwrite", help="Replace an existing predictions file (it is refused otherwise).")
TransductiveOpt = typer.Option(False, "--transductive", help="Adapt to the input items themselves (neighbour-graph propagation + class balancing).")
UnlabeledOpt = typer.Option(None, "--unlabeled", help="More unlabelled items (same kind as the input) to adapt on; implies --transductive.")
StepsOpt = typer.Option(None, "--transduction-steps", help="Transductive steps in order: center, prior, propagate, balance, "
                                                          "self-train. Default: text balance,self-train (kept only when it keeps "
                                                          "the method's surest labels); images and audio propagate,balance.")
CalibrationOpt = typer.Option(None, "--calibration", help="Labelled examples (same format as the input) used only to fit a temperature and class biases.")
AudioColOpt = typer.Option(None, "--audio-column", help="Column (CSV/TSV) or key (JSONL) holding audio file paths (relative to the file).")
ModelOpt = typer.Option(None, "--model", help="A classifier folder written by `transzero save` (replaces --labels/--method; "
                                              "--encoder then names its encoder when it lives outside the folder).")
FormatOpt = typer.Option(None, "--format", help="Sharded output: parquet (default), csv, jsonl or arrow (Arrow IPC) files in the -o folder.")
ShardSizeOpt = typer.Option(None, "--shard-size", help="Sharded output: items per part-NNNNN file (default 10000).")
EngineOpt = typer.Option("local", "--engine", help="Where a sharded job encodes: local (this process) or ray (Ray Data).")
RayAddressOpt = typer.Option(None, "--ray-address", help="With --engine ray: a cluster to join (auto, or host:port); "
                                                         "default a local Ray instance on loopback.")
WorkersOpt = typer.Option(None, "--workers", help="With --engine ray: encoder actors (single-threaded; default: the CPUs).")
IndexOpt = typer.Option("auto", "--index", help="Nearest-neighbour search of the transductive graph and of the knn / "
                                                "tip-adapter methods: exact, ann (an HNSW index) or auto (ann above ~50k).")
SummaryOpt = typer.Option(None, "--json", help="Write a JSON summary (n_items, n_bad, n_shards, n_shards_reused, seconds, "
                                               "timings, engine).")
AllowDownloadOpt = typer.Option(False, "--allow-download", help="Let a --model folder that names a hub: encoder download it "
                                                               "(refused by default: loading never reaches the network).")


# ---------------------------------------------------------------------- spec builders
def labels_spec(labels: str | None, labels_file: Path | None, templates: list[str] | None) -> LabelsSpec:
    from ..labels import parse_label_list

    names = tuple(parse_label_list(labels)) if labels is not None else None
    return LabelsSpec(names=names, file=labels_file, templates=tuple(templates) if templates else None)


def model_spec(encoder: str | None, backend: str | None, method: str | None, model: Path | None = None,
               batch_size: int | None = None, allow_download: bool = False, index: str = "auto",
               preset: str | None = None, language: str | None = None) -> ModelSpec:
    return ModelSpec(encoder=encoder, backend=backend, method=method, saved=model, batch_size=batch_size,
                     allow_download=allow_download, index=index, preset=preset, language=language)


def cache_spec(cache_dir: Path | None, no_cache: bool) -> CacheSpec:
    return CacheSpec(enabled=not no_cache, folder=cache_dir)


def adapt_spec(transductive: bool, unlabeled: Path | None, steps: str | None, calibration: Path | None, like: InputSpec,
               calibration_shots: int | None = None, index: str = "auto") -> AdaptSpec:
    """Unlabelled and calibration files are read like the input (same columns)."""
    return AdaptSpec(index=index,
        transductive=transductive,
        unlabeled=InputSpec(unlabeled, like.text_column, None, like.audio_column) if unlabeled is not None else None,
        steps=tuple(s.strip() for s in (steps or "").split(",") if s.strip()),
        calibration=InputSpec(calibration, like.text_column, like.label_column or "label", like.audio_column)
        if calibration is not None else None,
        calibration_shots=calibration_shots,
    )


def output_spec(output: str | None, overwrite: bool, fmt: str | None, shard_size: int | None,
                summary: Path | None) -> OutputSpec:
    """``-o``: a shard folder when --format or --shard-size is given, or the path ends in /, has no suffix or is
    an existing folder; otherwise one file (``None``: standard output)."""
    from ..shards import is_shard_output

    shards = is_shard_output(output, fmt, shard_size)
    return OutputSpec(predictions=Path(output) if output else None, json=summary, overwrite=overwrite, shards=shards,
                      format=fmt, shard_size=shard_size)


def engine_spec(engine: str, address: str | None, workers: int | None) -> EngineSpec:
    return EngineSpec(engine, address, workers)


# ---------------------------------------------------------------------- the stderr reporter
class _BarAdvance:
    """``advance(n)`` of a rich progress bar, with ``relabel(what)``."""

    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def __call__(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def relabel(self, what: str) -> None:
        self.progress.update(self.task, description=what)


class CliReporter(Reporter):
    """Progress, bad rows, warnings and notes as lines on stderr (a progress bar on a terminal); ``quiet`` silences them."""

    def __init__(self, quiet: bool = False, max_bad: int = 20) -> None:
        self.quiet = quiet
        self.max_bad = max_bad

    @contextmanager
    def progress(self, what: str, total: int, unit: str = "items") -> Iterator[ProgressFn | None]:
        if self.quiet or total <= 0:
            yield None
            return
        if err.is_terminal:
            if total < 64:
                yield None
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=err, transient=True) as p:
                yield _BarAdvance(p, p.add_task(what, total=total))
            return
        line = LineProgress(what, total, sys.stderr, unit=unit).start()
        try:
            yield line
        finally:
            line.close()

    def bad_items(self, lines: list[str]) -> None:
        if self.quiet or not lines:
            return
        for line in lines[: self.max_bad]:
            err.print(f"[yellow]skipped[/] {_escape(line)}", highlight=False, soft_wrap=True)
        if len(lines) > self.max_bad:
            err.print(f"[yellow]... and {plural(len(lines) - self.max_bad, 'more bad row')}[/]")

    def warning(self, message: str) -> None:
        err.print(f"[yellow]warning:[/] {_escape(message)}", highlight=False)

    def note(self, message: str) -> None:
        if not self.quiet:
            err.print(f"note: {_escape(message)}", highlight=False)

    def info(self, message: str) -> None:
        if not self.quiet:
            err.print(_escape(message), highlight=False)


def _escape(text: str) -> str:
    """Text for the console: rich markup escaped, undecodable bytes (surrogates) shown as U+FFFD."""
    from rich.markup import escape

    return escape(printable(text))


#: text made safe to print (undecodable bytes as U+FFFD)
printable = safe_text


def plural(n: int, noun: str) -> str:
    """``"1 bad row"``, ``"3 bad rows"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fmt_pct(v: Any) -> str:
    """A fraction as a percentage with two decimals ("-" for missing values)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else f"{100 * f:.2f}"
