"""Text formats: CSV and TSV (flat rows, spreadsheet-safe cells), JSONL and JSON (records as they are)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._util import safe_text
from ..errors import InputError
from ..io import flat_record, json_safe, spreadsheet_safe, write_jsonl_lines

__all__ = ["write_csv", "write_json_array", "write_jsonl", "write_tsv"]


def _open(path: Path) -> TextIO:
    return path.open("w", encoding="utf-8", newline="")


def _delimited(path: Path, records: list[dict[str, Any]], classes: Sequence[str], delimiter: str) -> None:
    flat = [{k: spreadsheet_safe(safe_text(v) if isinstance(v, str) else v) for k, v in flat_record(r, classes).items()}
            for r in records]
    fields = list(flat[0]) if flat else ["row", "text", "label", "confidence", "error"]
    with _open(path) as f:
        w = csv.DictWriter(f, fieldnames=fields, delimiter=delimiter)
        w.writeheader()
        w.writerows(flat)


def write_csv(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
              vectors: np.ndarray | None = None) -> None:
    """Predictions as flat rows (``p:<class>`` columns); with ``vectors``, a ``vector`` column of numbers."""
    if vectors is None:
        _delimited(path, records, classes, ",")
        return
    with _open(path) as f:
        w = csv.writer(f)
        head = [k for k in ("row", "id", "text", "error") if records and k in records[0]]
        w.writerow(head + ["vector"])
        for r, v in zip(records, vectors):
            vec = "" if r.get("error") else " ".join(f"{x:.7g}" for x in v)
            w.writerow([spreadsheet_safe("" if r.get(k) is None else r.get(k)) for k in head] + [vec])


def write_tsv(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
              vectors: np.ndarray | None = None) -> None:
    if vectors is not None:
        raise InputError(f"{path.name}: TSV files do not hold vectors; use parquet, csv, jsonl or arrow")
    _delimited(path, records, classes, "\t")


def write_jsonl(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
                vectors: np.ndarray | None = None) -> None:
    """A JSON object per line; with ``vectors``, ``row``, [``id``], ``text``, ``error``, ``vector`` (null if bad)."""
    with _open(path) as f:
        if vectors is None:
            write_jsonl_lines(records, f)
            return
        for r, v in zip(records, vectors):
            rec = {k: r[k] for k in ("row", "id", "text", "error") if k in r}
            rec["vector"] = None if r.get("error") else [float(x) for x in v]
            f.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")


def write_json_array(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
                     vectors: np.ndarray | None = None) -> None:
    if vectors is not None:
        raise InputError(f"{path.name}: .json files do not hold vectors; use parquet, csv, jsonl or arrow")
    with _open(path) as f:
        json.dump(json_safe(records), f, ensure_ascii=False, indent=1, allow_nan=False)
