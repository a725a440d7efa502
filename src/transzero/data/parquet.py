"""Parquet tables of texts, read a record batch at a time (pyarrow)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..errors import InputError
from .text import Row, check_label, check_text

__all__ = ["PARQUET_SUFFIXES", "iter_parquet_rows", "table_rows"]

PARQUET_SUFFIXES = (".parquet", ".pq")


def iter_parquet_rows(path: str | os.PathLike[str], *, text_column: str = "text",
                      label_column: str | None = None, batch_rows: int = 8192) -> Iterator[Row]:
    """The rows of a Parquet file, a record batch at a time (only the columns needed, plus ``id``)."""
    import pyarrow.parquet as pq

    name = str(path)
    try:
        pf = pq.ParquetFile(str(path))
    except Exception as exc:  # not Parquet, truncated...
        raise InputError(f"{name}: not a readable Parquet file ({type(exc).__name__}: {exc}); check the file") from None
    cols = pf.schema_arrow.names
    wanted = [c for c in dict.fromkeys([text_column, label_column, "id"]) if c is not None and c in cols]
    batches = (batch.to_pydict() for batch in pf.iter_batches(batch_size=batch_rows, columns=wanted))
    yield from table_rows(name, cols, batches, text_column=text_column, label_column=label_column)


def table_rows(name: str, columns: Sequence[str], batches: Iterable[dict[str, list[Any]]], *, text_column: str = "text",
               label_column: str | None = None) -> Iterator[Row]:
    """The rows of a table read a batch at a time (Parquet, Arrow IPC, any registered table format): ``columns``
    are the table's column names, each batch maps the wanted ones (text, label, ``id``) to their values."""
    cols = list(columns)
    for col, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
        if col is not None and col not in cols:
            raise InputError(f"{name}: no column {col!r} (columns: {', '.join(cols)}); pass {flag} NAME")
    wanted = [c for c in dict.fromkeys([text_column, label_column, "id"]) if c is not None and c in cols]
    n = 0
    for data in batches:
        for j in range(len(data[wanted[0]]) if wanted else 0):
            n += 1
            rec = {c: data[c][j] for c in wanted}
            value, err = check_text(rec.get(text_column), text_column)
            lab = None
            if label_column is not None:
                lab, lerr = check_label(rec.get(label_column), label_column)
                err = err or lerr
            yield Row(n, value if err is None else None, lab, err, rec)
    if n == 0:
        raise InputError(f"{name} has no rows; put one item per row")
