"""``transzero report RESULT.json -o report.html``: the HTML report of a saved eval (metrics + its predictions)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from ._common import OverwriteOpt, QuietOpt, err


def report(
    result: Path = typer.Argument(..., help="The JSON an eval wrote with --json (saved with --predictions, for a plain eval)."),
    output: Path = typer.Option(..., "--output", "-o", help="The HTML report to write (one self-contained file)."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="The eval's predictions file (default: the one the JSON names)."),
    overwrite: bool = OverwriteOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Write the self-contained HTML report of an evaluation saved with --json (and --predictions)."""
    import json

    from ..evalreport import read_predictions, write_report
    from ..io import check_output

    try:
        metrics = json.loads(result.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{result}: no such file; give the JSON `transzero eval --json` wrote") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{result}: not an eval result ({type(exc).__name__}); give the JSON `transzero eval "
                         "--json` wrote") from None
    if not isinstance(metrics, dict) or not ({"accuracy", "curve", "results"} & set(metrics)):
        raise InputError(f"{result}: not an eval result (no accuracy, curve or GZSL results); give the JSON "
                         "`transzero eval --json` wrote")
    if output.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"-o {output}: a report is an HTML file; name it report.html")
    check_output(output, inputs=[p for p in (result, predictions) if p is not None], overwrite=overwrite,
                 flag="--output", suffixes=(".html", ".htm"))
    kind = metrics.get("kind") or ("curve" if "curve" in metrics else "gzsl" if "results" in metrics else "eval")
    records = None
    source = predictions
    if source is None and metrics.get("predictions_file"):
        named = Path(str(metrics["predictions_file"]))
        source = named if named.is_absolute() or named.exists() else result.parent / named
    if source is not None:
        records = read_predictions(source)
    elif kind == "eval":
        raise InputError(f"{result} was saved without predictions; rerun eval with --predictions FILE --json "
                         f"{result.name} (or give --predictions)")
    write_report(output, metrics, records)
    if not quiet:
        err.print(f"report -> {output} ({output.stat().st_size / 1024:.0f} KB)", highlight=False)
