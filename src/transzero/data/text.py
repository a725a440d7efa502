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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._util import row_line
from ..errors import InputError

__all__ = ["ItemTable", "TextTable", "read_text_table", "SUPPORTED_SUFFIXES"]

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


def _check_text(value: Any, column: str) -> tuple[str | None, str | None]:
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
    p = Path(path).expanduser()
    name = str(path)
    if not p.exists():
        raise InputError(f"{name}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{name} is a folder; pass a .txt, .csv, .tsv or .jsonl file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    raw = p.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="surrogateescape")
    if not text.strip():
        raise InputError(f"{name} is empty; put one item per row")
    if suffix == ".txt":
        if label_column:
            raise InputError(f"{name}: a .txt file has no '{label_column}' column; use a .csv or .jsonl with labels")
        return _read_txt(name, text)
    if suffix == ".jsonl" or suffix == ".ndjson":
        return _read_jsonl(name, text, text_column, label_column)
    return _read_csv(name, text, "\t" if suffix == ".tsv" else ",", text_column, label_column)


def _read_txt(name: str, text: str) -> TextTable:
    table = TextTable(name, [], [])
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines are the end of the file, not rows
    for i, line in enumerate(lines):
        value, err = _check_text(line, "text")
        table.texts.append(value)
        table.rows.append(i + 1)
        table.records.append({"text": line})
        if err:
            table.errors[i] = err
    return table


def _label(value: Any, column: str) -> tuple[str | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"gold label '{column}' is empty; fill it in or delete the row"
    return str(value).strip(), None


def _csv_records(lines: list[str], delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """``(first line index, fields)`` per CSV record; ``fields`` is None for a record whose quoted field never
    closes. Such a field swallows the rest of the file, so the record is reported on its own and reading
    starts again on the line after the one where it began (the rows after it are not lost)."""
    start = 0
    while start < len(lines):
        reader = csv.reader(lines[start:], delimiter=delimiter)
        records: list[tuple[int, int, list[str]]] = []
        prev = 0
        for fields in reader:
            records.append((start + prev, start + reader.line_num, fields))
            prev = reader.line_num
        if records:
            first, last, _ = records[-1]
            if last - first > 1 and last == len(lines) and "".join(lines[first:last]).count('"') % 2 == 1:
                yield from ((f, r) for f, _, r in records[:-1])
                yield first, None
                start = first + 1
                continue
        yield from ((f, r) for f, _, r in records)
        return


def _read_csv(name: str, text: str, delimiter: str, text_column: str, label_column: str | None) -> TextTable:
    lines = io.StringIO(text, newline="").readlines()
    records = _csv_records(lines, delimiter)
    table = TextTable(name, [], [], labels=[] if label_column else None)
    try:
        header: list[str] = []
        for _, fields in records:
            if fields is None:
                raise InputError(f"{name}: a quoted field in the header never closes; fix the quoting")
            if fields:
                header = [h.strip() for h in fields]
                break
        for col, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
            if col is not None and col not in header:
                raise InputError(f"{name}: no column {col!r} (columns: {', '.join(map(str, header))}); pass {flag} NAME")
        for line, fields in records:
            if fields == []:
                continue  # a blank line
            i = len(table.rows)
            table.rows.append(i + 1)
            if fields is None:
                raw = lines[line].rstrip("\r\n")
                table.records.append({text_column: raw})
                err: str | None = (f"a quoted field opens but never closes (line {line + 1} of the file); "
                                   "close the quote or double it (\"\"), the rows after it were read on their own")
                if label_column is not None:
                    table.labels.append(None)  # type: ignore[union-attr]
            else:
                row = {h: (fields[j] if j < len(fields) else None) for j, h in enumerate(header)}
                table.records.append(row)
                value, err = _check_text(row.get(text_column), text_column)
                if err is None and len(fields) > len(header):
                    err = f"{len(fields)} fields but the header has {len(header)}; quote fields that contain '{delimiter}'"
                if label_column is not None:
                    lab, lerr = _label(row.get(label_column), label_column)
                    table.labels.append(lab)  # type: ignore[union-attr]
                    err = err or lerr
            table.texts.append(value if fields is not None and err is None else None)
            if err:
                table.errors[i] = err
    except csv.Error as exc:
        raise InputError(f"{name}: row {len(table.rows) + 1}: broken CSV ({exc}); fix the quoting") from None
    if not table.texts:
        raise InputError(f"{name} has a header but no rows; add items below the header")
    return table


def _read_jsonl(name: str, text: str, text_column: str, label_column: str | None) -> TextTable:
    table = TextTable(name, [], [], labels=[] if label_column else None)
    seen_text_key = False
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        table.rows.append(i + 1)
        n = len(table.texts)
        err: str | None = None
        value: str | None = None
        lab: str | None = None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            obj, err = None, f"invalid JSON at column {exc.colno} ({exc.msg}); fix the line"
        if obj is not None and not isinstance(obj, dict):
            obj, err = None, "expected a JSON object per line, like {\"text\": \"...\"}"
        table.records.append(obj or {})
        if obj is not None:
            seen_text_key = seen_text_key or text_column in obj
            value, err = _check_text(obj.get(text_column), text_column)
            if label_column is not None:
                lab, lerr = _label(obj.get(label_column), label_column)
                err = err or lerr
        if table.labels is not None:
            table.labels.append(lab)
        table.texts.append(value if err is None else None)
        if err:
            table.errors[n] = err
    if table.texts and not seen_text_key and len(table.errors) == len(table.texts):
        keys = sorted({k for r in table.records for k in r})
        if keys:
            raise InputError(f"{name}: no key {text_column!r} in any line (keys: {', '.join(keys)}); pass --text-column NAME")
    return table
