"""Prediction records back from a predictions file (what ``eval --predictions`` wrote), in one shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["normalise_record", "read_predictions"]


def _float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v)
    return s[1:] if s.startswith("'") and s[1:2] in ("=", "+", "-", "@", "\t", "\r") else s  # spreadsheet-safe prefix


def normalise_record(r: dict[str, Any]) -> dict[str, Any]:
    """``row``, ``text``, ``gold``, ``label``, ``confidence``, ``error``, ``probabilities`` (class -> float or None),
    whichever file (flat ``p:<class>`` columns or nested) it came from."""
    probs = r.get("probabilities")
    if not isinstance(probs, dict):
        flat = {k[2:]: _float(v) for k, v in r.items() if isinstance(k, str) and k.startswith("p:")}
        probs = flat if flat and any(v is not None for v in flat.values()) else None
    return {"row": r.get("row"), "text": _text(r.get("text")), "gold": _text(r.get("gold")) or None,
            "label": _text(r.get("label")) or None, "confidence": _float(r.get("confidence")),
            "error": _text(r.get("error")) or None, "probabilities": probs}


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """The records of a predictions file written by ``eval --predictions`` (a one-line error for anything else)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such predictions file; give the file `eval --predictions` wrote")
    suffix = p.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            with p.open(encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        elif suffix == ".json":
            rows = json.loads(p.read_text(encoding="utf-8"))
        elif suffix in (".csv", ".tsv"):
            with p.open(encoding="utf-8", newline="") as f:
                rows = list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","))
        else:
            raise InputError(f"{p}: predictions must be .jsonl, .json, .csv or .tsv, not {suffix or 'no suffix'}")
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: not a predictions file ({type(exc).__name__}: {exc}); give the file `eval "
                         "--predictions` wrote") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{p}: not a list of prediction records; give the file `eval --predictions` wrote")
    out = [normalise_record(r) for r in rows]
    if out and not any(r["gold"] is not None for r in out):
        raise InputError(f"{p}: the predictions have no gold labels (a `classify` output?); give the file `eval "
                         "--predictions` wrote")
    return out
