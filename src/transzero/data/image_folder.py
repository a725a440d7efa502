"""Image inputs: class folders, flat folders, lists of paths, Tiny-ImageNet annotation files.

Returns the same :class:`~transzero.data.text.TextTable` the text readers return, with
image paths as the items, so ``classify`` and ``eval`` treat both modalities alike.
Files that are not images (by suffix) inside a folder are reported, not dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .folders import files_table, list_files
from .images import IMAGE_SUFFIXES
from .text import TextTable

__all__ = ["read_image_table", "looks_like_images"]

def _is_image_path(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES


def looks_like_images(path: str | os.PathLike[str]) -> bool:
    """True for a folder, or a .txt file whose lines are all image paths."""
    p = Path(path)
    if p.is_dir():
        return True
    if p.suffix.lower() == ".txt" and p.is_file():
        lines = [ln.strip() for ln in p.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        return bool(lines) and all(_is_image_path(Path(ln)) for ln in lines)
    return False


def _annotations(root: Path) -> Path | None:
    for cand in (root / "val_annotations.txt", root / "annotations.txt"):
        if cand.is_file():
            return cand
    return None


def read_image_table(path: str | os.PathLike[str], *, with_labels: bool = False) -> TextTable:
    """Read image items.

    * ``DIR/<class>/*.jpg`` - one subfolder per class: the folder name is the gold label;
    * ``DIR/*.jpg`` - a flat folder of images (no labels);
    * ``DIR/val_annotations.txt`` + ``DIR/images/`` - Tiny-ImageNet style (file, label per line);
    * ``list.txt`` - one image path per line (relative paths are relative to the list).
    """
    p = Path(path).expanduser()
    name = str(path)
    if not p.exists():
        raise InputError(f"{name}: no such file or folder; check the path")
    ann = _annotations(p) if p.is_dir() else None
    if ann is not None:
        files = []
        for i, line in enumerate(ann.read_text(encoding="utf-8").splitlines()):
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) >= 2:
                img_dir = p / "images" if (p / "images").is_dir() else p
                files.append((i + 1, img_dir / parts[0], parts[1]))
    else:
        files = list_files(p, name, "image", with_labels, "*.jpg")
    if not files:
        raise InputError(f"{name}: no images found; put them in DIR/<class>/*.jpg or list their paths in a .txt")
    return files_table(name, files, with_labels, "text", _file_error)


def _file_error(f: Path) -> str | None:
    if not _is_image_path(f):
        return f"{f.name}: not an image file (suffix {f.suffix or 'none'}); remove it or convert it"
    if not f.is_file():
        return f"{f}: no such file"
    return None
