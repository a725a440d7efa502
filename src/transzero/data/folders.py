"""Listing media files: ``DIR/<class>/*`` class folders, flat folders, and ``.txt`` lists of paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from .text import TextTable

__all__ = ["class_folder_files", "files_table", "list_files"]


def list_files(p: Path, name: str, kind: str, with_labels: bool, example: str) -> list[tuple[int, Path, str | None]]:
    """``(row, path, gold label or None)`` from a ``.txt`` list (relative to it) or a folder.

    ``kind`` ("image", "audio") and ``example`` ("*.jpg") word the errors: a list has no gold labels,
    and a flat folder cannot be evaluated.
    """
    if p.is_file():
        if with_labels:
            raise InputError(f"{name}: a list of {kind} paths has no gold labels; use DIR/<class>/ folders to evaluate")
        lines = [ln.strip() for ln in p.read_text(encoding="utf-8", errors="replace").splitlines()]
        return [(i + 1, (p.parent / ln) if not Path(ln).is_absolute() else Path(ln), None) for i, ln in enumerate(lines) if ln]
    return class_folder_files(p, name, kind, with_labels, example)


def class_folder_files(p: Path, name: str, kind: str, with_labels: bool, example: str) -> list[tuple[int, Path, str | None]]:
    """Files of ``DIR/<class>/*`` (the folder name is the label) or of a flat folder (no labels)."""
    subdirs = sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
    if subdirs:
        files = [(f, d.name) for d in subdirs for f in sorted(d.iterdir()) if f.is_file() and not f.name.startswith(".")]
    else:
        if with_labels:
            raise InputError(f"{name}: {kind} files are not in class folders (DIR/<class>/{example}); cannot evaluate")
        files = [(f, None) for f in sorted(p.iterdir()) if f.is_file() and not f.name.startswith(".")]
    return [(i + 1, f, lab) for i, (f, lab) in enumerate(files)]


def files_table(
    name: str, files: list[tuple[int, Path, str | None]], with_labels: bool, key: str, file_error: Callable[[Path], str | None]
) -> TextTable:
    """A :class:`TextTable` of file paths: unusable files (``file_error`` says why) are kept as reported rows."""
    table = TextTable(name, [], [], labels=[] if with_labels else None)
    for i, (row, f, label) in enumerate(files):
        table.rows.append(row)
        table.records.append({key: str(f)})
        err = file_error(f)
        table.texts.append(str(f) if err is None else None)
        if table.labels is not None:
            table.labels.append(label)
        if err:
            table.errors[i] = err
    return table
