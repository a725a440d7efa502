"""The registry of file formats: format name -> how its files are written (and, for tables, read).

One :class:`Format` per format, registered once with :func:`register_format`. Its writer serves every output:
single prediction files (``-o preds.csv``: :func:`transzero.io.write_predictions`), shard folders
(``--format``: :func:`transzero.shards.write_shard`) and vector files (``embed``). A writer writes ``records`` (and
``vectors``, one row each) to the path it is given; :func:`transzero.io.write_records`, the one caller, hands it a
temporary file and renames it into place, so every format is written atomically. A format that can also be read
gives ``read``: record batches of a table (the data layer turns them into items: ``transzero.data.formats``).

Writers and readers are named ``"module:function"`` and imported on first use, so the registry itself is light
(the CLI's ``--help`` lists formats without importing pyarrow). Adding a format: one module in this package (its
``write`` and, if it reads, ``read``/``count``) and one :func:`register_format` call below; ``io.OUTPUT_SUFFIXES``,
``shards.FORMATS``, the shard manifest's allowed formats and the readers follow from it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Format", "RecordBatches", "format_for_suffix", "formats", "get_format", "output_suffixes",
           "read_suffixes", "register_format", "shard_formats", "unregister_format"]

#: a table reader's answer: its column names and an iterator of batches (column name -> list of values)
RecordBatches = tuple[list[str], Iterator[dict[str, list[Any]]]]


def _resolve(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Format:
    """A file format.

    name : the ``--format`` name and a shard file's suffix (``part-00000.<name>``).
    suffixes : the file suffixes it is chosen by (``-o preds.<suffix>``; reading), the first one its own.
    write : ``write(path, records, classes, vectors)``: ``records`` are prediction records (``row``, [``id``],
        ``text``, ``label``, ``confidence``, ``error``, ``probabilities``, ...) or, with ``vectors`` (an (n, d)
        float32 array), ``row``, [``id``], ``text``, ``error`` records; a callable or ``"module:function"``.
    predictions : a single predictions file may have this format (``-o preds.<suffix>``).
    shards : a shard folder (``--format``) and ``embed`` may use it (its writer takes ``vectors``).
    read : ``read(path, columns) -> (column names, batches)`` for formats that hold tables of items (``columns``:
        the ones wanted, those missing are skipped); None for write-only formats.
    count : ``count(path) -> int | None``: the rows of a file without reading them (metadata), optional.
    label : what the format is called in one-line errors (``not a readable <label> file``).
    """

    name: str
    suffixes: tuple[str, ...]
    write: str | Callable[..., None]
    predictions: bool = True
    shards: bool = True
    read: str | Callable[..., RecordBatches] | None = None
    count: str | Callable[[Path], int | None] | None = None
    label: str = ""

    def writer(self) -> Callable[..., None]:
        return _resolve(self.write)

    def reader(self) -> Callable[..., RecordBatches] | None:
        return None if self.read is None else _resolve(self.read)

    def counter(self) -> Callable[[Path], int | None] | None:
        return None if self.count is None else _resolve(self.count)


_FORMATS: dict[str, Format] = {}


def register_format(fmt: Format, *, replace: bool = False) -> Format:
    """Add ``fmt`` to the registry (after the ones already there: listings keep registration order)."""
    if (not re.fullmatch(r"[a-z0-9]+", fmt.name) or not fmt.suffixes
            or any(not re.fullmatch(r"\.[a-z0-9]+", s) for s in fmt.suffixes)):
        raise ValueError(f"format {fmt.name!r}: a lower-case name and lower-case suffixes (.abc) are required")
    if fmt.name in _FORMATS and not replace:
        raise ValueError(f"format {fmt.name!r} is already registered")
    taken = {s: f.name for f in _FORMATS.values() if f.name != fmt.name for s in f.suffixes}
    clash = [s for s in fmt.suffixes if s in taken]
    if clash:
        raise ValueError(f"format {fmt.name!r}: suffix {clash[0]} already belongs to {taken[clash[0]]!r}")
    _FORMATS[fmt.name] = fmt
    return fmt


def unregister_format(name: str) -> None:
    """Remove a format (tests, plugins); unknown names are ignored."""
    _FORMATS.pop(name, None)


def formats() -> list[Format]:
    """Every registered format, in registration order."""
    return list(_FORMATS.values())


def get_format(name: str) -> Format | None:
    return _FORMATS.get(name.lower())


def format_for_suffix(suffix: str) -> Format | None:
    """The format a file suffix (``.csv``; any case) names; None when none does."""
    s = suffix.lower()
    return next((f for f in _FORMATS.values() if s in f.suffixes), None)


def output_suffixes() -> tuple[str, ...]:
    """The suffixes a single predictions file may have (``io.OUTPUT_SUFFIXES``)."""
    return tuple(s for f in _FORMATS.values() if f.predictions for s in f.suffixes)


def shard_formats() -> tuple[str, ...]:
    """The names ``--format`` takes (``shards.FORMATS``): formats whose writer takes vectors."""
    return tuple(f.name for f in _FORMATS.values() if f.shards)


def read_suffixes() -> tuple[str, ...]:
    """The suffixes of the table formats that can be read as items."""
    return tuple(s for f in _FORMATS.values() if f.read is not None for s in f.suffixes)


def _builtin(formats_: Sequence[Format]) -> None:
    for f in formats_:
        register_format(f)


# The built-in formats. Order matters: shards.FORMATS (parquet, csv, jsonl, ...) and io.OUTPUT_SUFFIXES (.csv, .tsv,
# .jsonl, .ndjson, .json, ...) list them in this order.
_builtin([
    Format("parquet", (".parquet",), "transzero.formats.tables:write_parquet", predictions=False, label="Parquet"),
    Format("csv", (".csv",), "transzero.formats.text:write_csv", label="CSV"),
    Format("tsv", (".tsv",), "transzero.formats.text:write_tsv", shards=False, label="TSV"),
    Format("jsonl", (".jsonl", ".ndjson"), "transzero.formats.text:write_jsonl", label="JSONL"),
    Format("json", (".json",), "transzero.formats.text:write_json_array", shards=False, label="JSON"),
    Format("arrow", (".arrow", ".feather"), "transzero.formats.arrow:write_arrow", read="transzero.formats.arrow:read_arrow",
           count="transzero.formats.arrow:count_arrow", label="Arrow IPC"),
])
