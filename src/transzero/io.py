"""Writing results safely: prediction files (any registered format: CSV / TSV / JSONL / JSON / Arrow), metrics, plots.

Every file is written to a temporary file in the target folder and renamed into place, so a
killed run leaves either the old file or the complete new one, never half of one.
:func:`check_output` refuses a prediction output before any work is done: an unsupported
suffix, a missing folder, the input file itself, or an existing file without ``overwrite``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._util import safe_text
from .errors import InputError
from .formats import Format, format_for_suffix, get_format, output_suffixes

if TYPE_CHECKING:
    import numpy as np

    OUTPUT_SUFFIXES: tuple[str, ...]  # (module __getattr__ below)

__all__ = [
    "FORMULA_STARTS", "OUTPUT_SUFFIXES", "atomic_path", "check_output", "check_writable_folder", "flat_record",
    "json_safe", "prediction_records", "write_jsonl_lines",
    "spreadsheet_safe", "write_json", "write_predictions", "write_records",
]


def __getattr__(name: str) -> Any:
    # OUTPUT_SUFFIXES: the suffixes of every registered format a predictions file may have (.csv, .tsv, .jsonl,
    # .ndjson, .json, .arrow, .feather, ...), read from the format registry each time (transzero.formats)
    if name == "OUTPUT_SUFFIXES":
        return output_suffixes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prediction_records(
    rows: list[int],
    texts: list[str | None],
    labels: list[str | None],
    proba: Any,
    classes: list[str],
    errors: dict[int, str],
    ids: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """One dict per input row: ``row``, [``id``], ``text``, ``label``, ``confidence``, ``error``, ``probabilities``."""
    out = []
    for i, row in enumerate(rows):
        rec: dict[str, Any] = {"row": row}
        if ids is not None:
            rec["id"] = ids[i]
        rec["text"] = texts[i]
        if i in errors:
            rec.update(label=None, confidence=None, error=errors[i], probabilities=None)
        else:
            p = [float(x) for x in proba[i]]
            rec.update(
                label=labels[i],
                confidence=round(max(p), 6),
                error=None,
                probabilities={c: round(v, 6) for c, v in zip(classes, p)},
            )
        out.append(rec)
    return out


#: a spreadsheet runs a cell starting with one of these as a formula (OWASP's CSV injection rule)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A string cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP); other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def flat_record(rec: dict[str, Any], classes: Sequence[str]) -> dict[str, Any]:
    """A prediction record as one flat row (CSV/TSV/Parquet): lists joined, explanations as text, ``p:<class>`` columns."""
    flat = {k: ("" if v is None else v) for k, v in rec.items() if k not in ("probabilities", "explanation", "labels")}
    if "labels" in rec:  # multi-label: "a;b"
        flat["labels"] = ";".join(rec["labels"] or [])
    if "explanation" in rec:  # CSV: "class (score): source (weight); ... | vs runner-up (score): ..."
        flat["explanation"] = explanation_text(rec["explanation"] or [])
    probs = rec.get("probabilities") or {}
    for c in classes:
        v = probs.get(c)
        flat[f"p:{c}"] = "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return flat


def explanation_text(sources: Sequence[dict[str, Any]]) -> str:
    """An explanation's sources as one line, grouped by class: the decided class first, then ``vs`` the
    runner-up (``sports 0.93: It was sports. (0.710); ... | vs music 0.05: It was music. (0.450)``)."""
    groups: list[tuple[Any, list[dict[str, Any]]]] = []
    for c in sources:
        if groups and groups[-1][0] == c.get("class"):
            groups[-1][1].append(c)
        else:
            groups.append((c.get("class"), [c]))
    parts = []
    for g, (cls, items) in enumerate(groups):
        score = items[0].get("class_score")
        head = "" if cls is None else (("vs " if g else "") + str(cls)
                                       + (f" {score:.3f}" if isinstance(score, (int, float)) else "") + ": ")
        parts.append(head + "; ".join(_source(c) for c in items))
    return " | ".join(parts)


def _source(c: dict[str, Any]) -> str:
    """One explanation source as ``"name (weight)"``: a concept, an attribute or a prompt."""
    name = c.get("concept", c.get("attribute", c.get("prompt", c.get("form", "?"))))
    weight = c.get("contribution", c.get("similarity", c.get("log_prob")))
    return f"{name} ({weight:.3f})" if isinstance(weight, (int, float)) else str(name)


def check_writable_folder(path: str | os.PathLike[str], flag: str) -> Path:
    """``path``'s folder must exist (a one-line error naming ``flag`` otherwise)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{flag} {p}: folder {parent} does not exist; create it first")
    if p.is_dir():
        raise InputError(f"{flag} {p} is a folder; give a file name")
    return p


def check_output(
    path: str | os.PathLike[str] | None,
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
    flag: str = "--output",
    suffixes: Sequence[str] | None = None,
) -> Path | None:
    """Refuse an output file before any work: bad suffix or folder, an input file, an existing file.

    Returns the path (None for standard output). ``suffixes``: the file types this output may have
    (those of predictions by default: ``OUTPUT_SUFFIXES``).
    """
    if path is None or str(path) == "-":
        return None
    p = check_writable_folder(path, flag)
    suffix = p.suffix.lower()
    if suffixes is None:
        suffixes = output_suffixes()
    if suffix not in suffixes:
        raise InputError(f"{flag} {p.name}: unsupported type {suffix or '(none)'}; use {', '.join(suffixes)}")
    for src in inputs:
        s = Path(src)
        same = (p.exists() and s.exists() and os.path.samefile(p, s)) or p.resolve() == s.resolve()
        if same:
            raise InputError(f"{flag} {p} is the input file {s}; write the predictions to another file")
    if p.exists() and not overwrite:
        raise InputError(f"{flag} {p} already exists; pass --overwrite to replace it, or choose another name")
    return p


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it is renamed to ``path`` (atomic on POSIX)."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results get the usual permissions
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (NaN written as null: the file stays valid JSON)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(obj), indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return Path(path)


def json_safe(o: Any) -> Any:
    """JSON-safe: NaN/inf as null, undecodable bytes in strings as U+FFFD."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, str):
        return safe_text(o)
    if isinstance(o, dict):
        return {k: json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_safe(v) for v in o]
    return o


def write_records(path: str | os.PathLike[str], fmt: str | Format, records: list[dict[str, Any]],
                  classes: Sequence[str], vectors: np.ndarray | None = None) -> None:
    """Write ``records`` (and ``vectors``) to ``path`` in the registered format ``fmt``, atomically: the one place
    every output file (predictions, shards, vectors) is written through its format's writer."""
    f = get_format(fmt) if isinstance(fmt, str) else fmt
    if f is None:
        raise InputError(f"unknown output format {fmt!r}")
    with atomic_path(path) as tmp:
        f.writer()(tmp, records, classes, vectors)


def write_predictions(
    records: Iterable[dict[str, Any]], classes: list[str], output: str | os.PathLike[str] | None
) -> None:
    """Write records to ``output`` (format by suffix, atomically) or JSONL on stdout when ``output`` is None or ``-``.

    Call :func:`check_output` first to refuse existing files and inputs; this function replaces.
    """
    records = list(records)
    if output is None or str(output) == "-":
        write_jsonl_lines(records, sys.stdout)
        sys.stdout.flush()
        return
    p = check_writable_folder(output, "--output")
    suffix = p.suffix.lower()
    fmt = format_for_suffix(suffix)
    if fmt is None or not fmt.predictions:
        raise InputError(f"--output {p.name}: unsupported type {suffix or '(none)'}; use {', '.join(output_suffixes())}")
    write_records(p, fmt, records, classes)


def write_jsonl_lines(records: list[dict[str, Any]], f: TextIO) -> None:
    """Prediction records as JSON lines on an open text stream (standard output, a ``.jsonl`` file)."""
    for r in records:
        f.write(json.dumps(json_safe(r), ensure_ascii=False, allow_nan=False) + "\n")
