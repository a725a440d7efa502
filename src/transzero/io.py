"""Writers for prediction files (CSV / TSV / JSONL / JSON)."""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from .errors import InputError

__all__ = ["prediction_records", "write_predictions", "OUTPUT_SUFFIXES"]

OUTPUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")


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


def _flat(rec: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    flat = {k: ("" if v is None else v) for k, v in rec.items() if k not in ("probabilities", "explanation", "labels")}
    if "labels" in rec:  # multi-label: "a;b"
        flat["labels"] = ";".join(rec["labels"] or [])
    if "explanation" in rec:  # CSV: "concept (contribution); ..."
        flat["explanation"] = "; ".join(f"{c['concept']} ({c['contribution']:.3f})" for c in rec["explanation"] or [])
    probs = rec.get("probabilities") or {}
    for c in classes:
        v = probs.get(c)
        flat[f"p:{c}"] = "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return flat


def write_predictions(records: Iterable[dict[str, Any]], classes: list[str], output: str | os.PathLike[str] | None) -> None:
    """Write records to ``output`` (format by suffix) or JSONL on stdout when ``output`` is None or ``-``."""
    records = list(records)
    if output is None or str(output) == "-":
        _write_jsonl(records, sys.stdout)
        return
    p = Path(output)
    suffix = p.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"--output {p.name}: unsupported type {suffix or '(none)'}; use {', '.join(OUTPUT_SUFFIXES)}")
    if p.parent and not p.parent.exists():
        raise InputError(f"--output {p}: folder {p.parent} does not exist; create it first")
    with p.open("w", encoding="utf-8", newline="") as f:
        if suffix in (".jsonl", ".ndjson"):
            _write_jsonl(records, f)
        elif suffix == ".json":
            json.dump(records, f, ensure_ascii=False, indent=1)
        else:
            flat = [_flat(r, classes) for r in records]
            fields = list(flat[0]) if flat else ["row", "text", "label", "confidence", "error"]
            w = csv.DictWriter(f, fieldnames=fields, delimiter="\t" if suffix == ".tsv" else ",")
            w.writeheader()
            w.writerows(flat)


def _write_jsonl(records: list[dict[str, Any]], f: TextIO) -> None:
    for r in records:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
