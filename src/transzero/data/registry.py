"""The registry of item readers: file suffix -> reader, as a stream of rows and as a whole table.

:func:`~transzero.data.readers.read_items` (whole) and :func:`~transzero.data.stream.iter_shards` (a stream) and
``count_rows`` dispatch through :func:`reader_for`. The data layer's own readers are registered here (text files,
Parquet); every table format of the format registry (:mod:`transzero.formats`) that gives ``read`` is a reader too
(Arrow IPC), its record batches turned into rows by :func:`~transzero.data.parquet.table_rows`, so adding a table
format there makes it readable with no change here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..formats import Format, format_for_suffix
from .parquet import PARQUET_SUFFIXES, iter_parquet_rows, table_rows
from .text import SUPPORTED_SUFFIXES, ItemTable, Row, iter_text_rows, read_text_table, rows_table

__all__ = ["Reader", "get_reader", "reader_for", "readers", "register_reader", "unregister_reader"]


@dataclass(frozen=True)
class Reader:
    """How one kind of file is read.

    rows : ``rows(path, *, text_column, label_column) -> Iterator[Row]``: the rows as a stream (structural problems
        raise one-line ``InputError``; bad rows carry their error).
    whole : ``whole(path, *, text_column, label_column) -> ItemTable``; None: the stream, collected.
    count : ``count(path) -> int | None``: the number of rows without reading them (metadata); None when unknown.
    """

    name: str
    suffixes: tuple[str, ...]
    rows: Callable[..., Iterator[Row]]
    whole: Callable[..., ItemTable] | None = None
    count: Callable[[Path], int | None] | None = None

    def table(self, path: str | os.PathLike[str], *, text_column: str = "text",
              label_column: str | None = None) -> ItemTable:
        """The whole file as an :class:`ItemTable`."""
        if self.whole is not None:
            return self.whole(path, text_column=text_column, label_column=label_column)
        return rows_table(str(path), self.rows(path, text_column=text_column, label_column=label_column),
                          label_column is not None)


_READERS: dict[str, Reader] = {}


def register_reader(reader: Reader) -> Reader:
    """Add (or replace) a reader of the data layer; it wins over a format registry reader of the same suffix."""
    _READERS[reader.name] = reader
    return reader


def unregister_reader(name: str) -> None:
    _READERS.pop(name, None)


def _format_reader(fmt: Format) -> Reader:
    read = fmt.reader()
    assert read is not None

    def rows(path: str | os.PathLike[str], *, text_column: str = "text",
             label_column: str | None = None) -> Iterator[Row]:
        columns, batches = read(Path(path), [c for c in (text_column, label_column, "id") if c is not None])
        yield from table_rows(str(path), columns, batches, text_column=text_column, label_column=label_column)

    return Reader(fmt.name, fmt.suffixes, rows, count=fmt.counter())


def get_reader(name: str) -> Reader:
    """A data-layer reader by name (``text``: the reader of last resort, whose errors name the supported types)."""
    return _READERS[name]


def readers() -> list[Reader]:
    """The data layer's readers (the format registry's table readers are found by :func:`reader_for`)."""
    return list(_READERS.values())


def reader_for(path: str | os.PathLike[str]) -> Reader | None:
    """The reader of ``path``'s suffix: a data-layer reader, else a readable format of :mod:`transzero.formats`;
    None when no reader knows it."""
    suffix = Path(path).suffix.lower()
    for r in _READERS.values():
        if suffix in r.suffixes:
            return r
    fmt = format_for_suffix(suffix) if suffix else None
    if fmt is not None and fmt.read is not None:
        return _format_reader(fmt)
    return None


def _parquet_count(path: Path) -> int | None:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # (a damaged file: its reader reports it, row by row or as one line)
        return None


def _parquet_table(path: str | os.PathLike[str], *, text_column: str = "text", label_column: str | None = None,
                   **_: Any) -> ItemTable:
    return rows_table(str(path), iter_parquet_rows(Path(path), text_column=text_column, label_column=label_column),
                      label_column is not None)


register_reader(Reader("text", SUPPORTED_SUFFIXES, iter_text_rows, read_text_table))
register_reader(Reader("parquet", PARQUET_SUFFIXES, iter_parquet_rows, _parquet_table, _parquet_count))
