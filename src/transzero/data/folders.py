"""Listing media files: ``DIR/<class>/*`` class folders, flat folders, and ``.txt`` lists of paths."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["class_folder_files", "list_files"]


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
