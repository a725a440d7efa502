"""Read text items from .txt / .csv / .tsv / .jsonl files.

Bad rows (empty text, non-UTF-8 bytes, broken JSON, missing fields) are kept in the
table with an error message, so callers classify the good rows and report the rest.
Structural problems (missing file, empty file, unknown column) raise one-line
:class:`~transzero.errors.InputError`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._util import row_line
from ..errors import InputError

__all__ = ["ItemTable", "Row", "SUPPORTED_SUFFIXES", "TextTable", "check_label", "check_text", "iter_text_rows",
           "read_text_table", "rows_table"]

SUPPORTED_SUFFIXES = (".txt", ".csv", ".tsv", ".jsonl", ".ndjson")
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class ItemTable:
    """Rows of an input: the items (texts, or paths of images and audio clips), gold labels, bad rows.

    Attributes
    ----------
    path : str
        Where the rows came from (a file, a folder, or a name such as ``"request"``); bad rows are
        reported as ``"<path>: row <row>: <why>"``.
    texts : list of (str or None)
        Item of each row; ``None`` where the row is bad.
    labels : list of (str or None), optional
        Gold label per row when a label column was read.
    rows : list of int
        1-based row number of each item (data rows; for .txt/.jsonl this is the line).
    errors : dict int -> str
        Position in ``texts`` -> why the row is unusable.
    records : list of dict
        The raw fields of each row (for passing id columns through).
    modality : str
        ``"text"``, ``"image"`` or ``"audio"``.
    """

    path: str
    texts: list[str | None]
    rows: list[int]
    labels: list[str | None] | None = None
    errors: dict[int, str] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    modality: str = "text"

    @classmethod
    def from_items(
        cls, items: list[Any], *, source: str = "items", labels: list[Any] | None = None, modality: str = "text",
        first_row: int = 1,
    ) -> ItemTable:
        """A table of items already in memory (the service's requests, a Python list); nothing is checked here:
        bad items are reported when they are encoded."""
        return cls(source, list(items), list(range(first_row, first_row + len(items))),
                   labels=None if labels is None else [None if v is None else str(v) for v in labels],
                   modality=modality)

    def __len__(self) -> int:
        return len(self.texts)

    def slice(self, start: int, end: int) -> ItemTable:
        """Rows ``[start, end)`` as a table of their own (errors re-indexed)."""
        end = min(end, len(self.texts))
        return ItemTable(self.path, self.texts[start:end], self.rows[start:end],
                         None if self.labels is None else self.labels[start:end],
                         {i - start: m for i, m in self.errors.items() if start <= i < end},
                         self.records[start:end], self.modality)

    def bad_lines(self, extra: dict[int, str] | None = None) -> list[str]:
        """One line per bad row (``"<path>: row <row>: <why>"``), with ``extra`` errors found later (by position)."""
        errors = {**self.errors, **(extra or {})}
        return [row_line(self.path, self.rows[i], m) for i, m in sorted(errors.items())]

    def skipped(self, extra: dict[int, str] | None = None) -> list[dict[str, Any]]:
        """The eval JSON's ``skipped`` entries: ``{"row", "error"}`` per bad row."""
        errors = {**self.errors, **(extra or {})}
        return [{"row": self.rows[i], "error": m} for i, m in sorted(errors.items())]

    @property
    def good(self) -> list[int]:
        """Positions of usable rows."""
        return [i for i in range(len(self.texts)) if i not in self.errors]

    def raw_text(self, i: int, column: str = "text") -> str | None:
        """The row's original text, also for bad rows (undecodable bytes shown as U+FFFD)."""
        if self.texts[i] is not None:
            return self.texts[i]
        v = self.records[i].get(column) if i < len(self.records) else None
        if not isinstance(v, str):
            return None
        return v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def error_lines(self) -> list[str]:
        """One line per bad row: ``<path>: row N: why``."""
        return self.bad_lines()


#: the name of :class:`ItemTable` in transzero 0.1 (it holds every modality's items)
TextTable = ItemTable


def _bad_utf8(s: str) -> str | None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(s[exc.start]) - 0xDC00 if 0xDC80 <= ord(s[exc.start]) <= 0xDCFF else None
        what = f"byte 0x{byte:02x}" if byte is not None else "a character"
        return f"{what} at character {exc.start + 1} is not valid UTF-8; re-save the file as UTF-8"
    return None


def check_text(value: Any, column: str) -> tuple[str | None, str | None]:
    """``(text, None)`` for a usable item, ``(None, why)`` otherwise (missing, not text, not UTF-8, blank)."""
    if value is None:
        return None, f"no '{column}' field; fill it in"
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            return None, f"'{column}' is {type(value).__name__}, not text; make it a string"
    bad = _bad_utf8(value)
    if bad:
        return None, bad
    if not value.strip():
        return None, "text is empty or whitespace only; fill it in or delete the row"
    return value, None


@dataclass
class Row:
    """One row of an input: its 1-based number, the item (None when bad), gold label, error, raw fields."""

    number: int
    text: str | None
    label: str | None = None
    error: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


def read_text_table(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str | None = None,
) -> TextTable:
    """Read items (and optionally gold labels) from a .txt, .csv, .tsv or .jsonl file.

    Parameters
    ----------
    path : path
    text_column : str
        Column (CSV/TSV) or key (JSONL) holding the text. Ignored for .txt (one item a line).
    label_column : str, optional
        Column or key with gold labels (for evaluation).
    """
    rows = iter_text_rows(path, text_column=text_column, label_column=label_column)
    table = rows_table(str(path), rows, label_column is not None)
    if not table.texts:
        raise InputError(f"{path} has no rows; put one item per row")
    return table


def rows_table(name: str, rows: Iterable[Row], with_labels: bool, modality: str = "text") -> ItemTable:
    """An :class:`ItemTable` of ``rows``."""
    table = ItemTable(name, [], [], labels=[] if with_labels else None, modality=modality)
    for r in rows:
        i = len(table.texts)
        table.rows.append(r.number)
        table.texts.append(r.text if r.error is None else None)
        table.records.append(r.record)
        if table.labels is not None:
            table.labels.append(r.label)
        if r.error:
            table.errors[i] = r.error
    return table


def iter_text_rows(
    path: str | os.PathLike[str], *, text_column: str = "text", label_column: str | None = None
) -> Iterator[Row]:
    """The rows of a .txt, .csv, .tsv or .jsonl file, read as a stream (the file is never in memory whole).

    Structural problems (missing file, empty file, unknown column) raise one-line ``InputError``; bad rows
    come with their ``error``.
    """
    p = Path(path).expanduser()
    name = str(path)
    if not p.exists():
        raise InputError(f"{name}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{name} is a folder; pass a .txt, .csv, .tsv or .jsonl file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    if suffix == ".txt" and label_column:
        raise InputError(f"{name}: a .txt file has no '{label_column}' column; use a .csv or .jsonl with labels")
    return _rows(p, name, suffix, text_column, label_column)


def _lines(p: Path, newline: str | None) -> Iterator[str]:
    """Decoded lines (undecodable bytes kept as surrogates, reported per row), BOM stripped."""
    with p.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline=newline) as f:
        first = True
        for line in f:
            if first:
                line = line.removeprefix("\ufeff")
                first = False
            yield line


def _rows(p: Path, name: str, suffix: str, text_column: str, label_column: str | None) -> Iterator[Row]:
    n = 0
    if suffix == ".txt":
        it: Iterator[Row] = _txt_rows(_lines(p, None))
    elif suffix in (".jsonl", ".ndjson"):
        it = _jsonl_rows(name, _lines(p, None), text_column, label_column)
    else:
        it = _csv_rows(name, _lines(p, ""), "\t" if suffix == ".tsv" else ",", text_column, label_column)
    for row in it:
        n += 1
        yield row
    if n == 0:
        if not p.stat().st_size or not any(line.strip() for line in _lines(p, None)):
            raise InputError(f"{name} is empty; put one item per row")
        raise InputError(f"{name} has a header but no rows; add items below the header")


def _txt_rows(lines: Iterator[str]) -> Iterator[Row]:
    blanks: list[Row] = []  # blank lines are rows only when more text follows (trailing ones end the file)
    for i, line in enumerate(lines):
        line = line.rstrip("\n")
        value, err = check_text(line, "text")
        row = Row(i + 1, value, None, err, {"text": line})
        if not line.strip():
            blanks.append(row)
            continue
        yield from blanks
        blanks = []
        yield row


def _jsonl_rows(name: str, lines: Iterator[str], text_column: str, label_column: str | None) -> Iterator[Row]:
    seen_text_key = False
    any_good = False
    keys: set[str] = set()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        err: str | None = None
        value: str | None = None
        lab: str | None = None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            obj, err = None, f"invalid JSON at column {exc.colno} ({exc.msg}); fix the line"
        if obj is not None and not isinstance(obj, dict):
            obj, err = None, "expected a JSON object per line, like {\"text\": \"...\"}"
        if obj is not None:
            seen_text_key = seen_text_key or text_column in obj
            if len(keys) < 50:
                keys.update(obj)
            value, err = check_text(obj.get(text_column), text_column)
            if label_column is not None:
                lab, lerr = check_label(obj.get(label_column), label_column)
                err = err or lerr
        any_good = any_good or err is None
        yield Row(i + 1, value if err is None else None, lab, err, obj or {})
    if not seen_text_key and not any_good and keys:
        raise InputError(f"{name}: no key {text_column!r} in any line (keys: {', '.join(sorted(keys))}); "
                         "pass --text-column NAME")


def check_label(value: Any, column: str) -> tuple[str | None, str | None]:
    """``(label, None)`` for a gold label, ``(None, why)`` when it is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"gold label '{column}' is empty; fill it in or delete the row"
    return str(value).strip(), None


def _csv_records(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(first line index, fields, first raw line)`` per CSV record, read as a stream.

    ``fields`` is None for a record whose quoted field never closes: such a field swallows the rest of the file,
    so the record is reported on its own and reading starts again on the line after the one where it began (the
    rows after it are not lost). Only the last record can do that, so one record is held back until the next.
    """
    source: Iterator[str] = iter(lines)
    offset = 0
    while True:
        buf: list[str] = []

        def feed() -> Iterator[str]:
            for line in source:
                buf.append(line)
                yield line

        reader = csv.reader(feed(), delimiter=delimiter)
        held: tuple[int, list[str], list[str]] | None = None
        consumed = 0
        for fields in reader:
            raw = list(buf)
            buf.clear()
            if held is not None:
                yield held[0], held[1], held[2][0]
            held = (offset + consumed, fields, raw)
            consumed = reader.line_num
        if held is None:
            return
        first, fields, raw = held
        if len(raw) > 1 and "".join(raw).count('"') % 2 == 1:
            yield first, None, raw[0]
            offset = first + 1
            source = iter(raw[1:])  # the rest of the file was read into that one field: read it again as rows
            continue
        yield first, fields, raw[0]
        return


def _csv_rows(name: str, lines: Iterator[str], delimiter: str, text_column: str, label_column: str | None) -> Iterator[Row]:
    records = _csv_records(lines, delimiter)
    header: list[str] = []
    try:
        for _, fields, _raw in records:
            if fields is None:
                raise InputError(f"{name}: a quoted field in the header never closes; fix the quoting")
            if fields:
                header = [h.strip() for h in fields]
                break
        if not header:
            return
        for col, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
            if col is not None and col not in header:
                raise InputError(f"{name}: no column {col!r} (columns: {', '.join(map(str, header))}); pass {flag} NAME")
        n = 0
        for line, fields, raw in records:
            if fields == []:
                continue  # a blank line
            n += 1
            if fields is None:
                yield Row(n, None, None, f"a quoted field opens but never closes (line {line + 1} of the file); close the "
                                         "quote or double it (\"\"), the rows after it were read on their own",
                          {text_column: raw.rstrip("\r\n")})
                continue
            row = {h: (fields[j] if j < len(fields) else None) for j, h in enumerate(header)}
            value, err = check_text(row.get(text_column), text_column)
            if err is None and len(fields) > len(header):
                err = f"{len(fields)} fields but the header has {len(header)}; quote fields that contain '{delimiter}'"
            lab = None
            if label_column is not None:
                lab, lerr = check_label(row.get(label_column), label_column)
                err = err or lerr
            yield Row(n, value if err is None else None, lab, err, row)
    except csv.Error as exc:
        raise InputError(f"{name}: broken CSV ({exc}); fix the quoting") from None
