"""Arrow tables of predictions or vectors, and the Parquet writer (the Arrow IPC one shares the table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io import flat_record

__all__ = ["prediction_table", "write_parquet"]


def prediction_table(records: list[dict[str, Any]], classes: Sequence[str], vectors: np.ndarray | None = None) -> Any:
    """A ``pyarrow.Table``: ``row``, [``id``], ``text``, ``label``, ``confidence``, ``error``, [``transcript``,
    ``labels``, ``score``, ``explanation``], ``p:<class>``...; with ``vectors``, ``row``, [``id``], ``text``,
    ``error`` and ``vector`` (a fixed-size list of float32, null for bad rows)."""
    import pyarrow as pa

    cols: dict[str, pa.Array] = {"row": pa.array([r["row"] for r in records], pa.int64())}
    if records and "id" in records[0]:
        cols["id"] = pa.array([None if r.get("id") is None else str(r["id"]) for r in records], pa.string())
    cols["text"] = pa.array([r.get("text") for r in records], pa.string())
    if vectors is None:
        cols["label"] = pa.array([r.get("label") for r in records], pa.string())
        cols["confidence"] = pa.array([r.get("confidence") for r in records], pa.float64())
    cols["error"] = pa.array([r.get("error") for r in records], pa.string())
    if vectors is not None:
        v = np.ascontiguousarray(vectors, dtype=np.float32)
        flat = pa.array(v.reshape(-1), pa.float32())
        arr = pa.FixedSizeListArray.from_arrays(flat, v.shape[1])
        mask = np.array([r.get("error") is not None for r in records])
        if mask.any():
            arr = pa.FixedSizeListArray.from_arrays(flat, v.shape[1], mask=pa.array(mask))
        cols["vector"] = arr
    else:
        extra = [k for k in ("labels", "score", "explanation", "transcript") if records and k in records[0]]
        if "transcript" in extra:
            cols["transcript"] = pa.array([r.get("transcript") for r in records], pa.string())
        if "labels" in extra:
            cols["labels"] = pa.array([r.get("labels") for r in records], pa.list_(pa.string()))
        if "score" in extra:
            cols["score"] = pa.array([r.get("score") for r in records], pa.float64())
        if "explanation" in extra:
            cols["explanation"] = pa.array([flat_record(r, [])["explanation"] or None for r in records], pa.string())
        for c in classes:
            cols[f"p:{c}"] = pa.array([None if r.get("probabilities") is None else r["probabilities"].get(c)
                                       for r in records], pa.float64())
    return pa.table(cols)


def write_parquet(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
                  vectors: np.ndarray | None = None) -> None:
    import pyarrow.parquet as pq

    pq.write_table(prediction_table(records, classes, vectors), path)
