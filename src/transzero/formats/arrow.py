"""Arrow IPC files (``.arrow``; ``.feather`` is the same format: Feather V2): written as one table, read a record
batch at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .tables import prediction_table

__all__ = ["count_arrow", "read_arrow", "write_arrow"]


def write_arrow(path: Path, records: list[dict[str, Any]], classes: Sequence[str],
                vectors: np.ndarray | None = None) -> None:
    """The Parquet output's table (predictions, or a ``vector`` column) as an uncompressed Arrow IPC file."""
    import pyarrow as pa

    table = prediction_table(records, classes, vectors)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _open(path: Path) -> Any:
    import pyarrow as pa

    try:
        return pa.ipc.open_file(pa.memory_map(str(path), "r"))
    except Exception as exc:  # not Arrow IPC, truncated, Feather V1...
        raise InputError(f"{path}: not a readable Arrow IPC file ({type(exc).__name__}: {exc}); check the file "
                         "(Feather V1 files: re-save them with pyarrow.feather.write_feather)") from None


def read_arrow(path: Path, columns: Sequence[str]) -> tuple[list[str], Iterator[dict[str, list[Any]]]]:
    """The file's column names, and its record batches (only ``columns`` that exist) one at a time."""
    reader = _open(path)
    names = list(reader.schema.names)
    wanted = [c for c in columns if c in names]

    def batches() -> Iterator[dict[str, list[Any]]]:
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            yield {c: batch.column(c).to_pylist() for c in wanted}

    return names, batches()


def count_arrow(path: Path) -> int | None:
    try:
        reader = _open(path)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except InputError:
        return None
