"""One entry point for every input a job reads: text tables, image folders and lists, audio folders and manifests."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .registry import get_reader, reader_for
from .text import ItemTable

__all__ = ["MANIFEST_SUFFIXES", "detect_modality", "has_column", "read_items"]

#: tables that can hold a column of file paths (audio manifests, multimodal records)
MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".ndjson")


def detect_modality(path: str | os.PathLike[str], *, audio_column: str | None = None) -> str:
    """``"audio"``, ``"image"`` or ``"text"``: what :func:`read_items` will read from ``path``."""
    from .audio import looks_like_audio
    from .image_folder import looks_like_images

    p = Path(path)
    if audio_column is not None and p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
        return "audio"
    if looks_like_audio(p):
        return "audio"
    if looks_like_images(p):
        return "image"
    return "text"


def read_items(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str | None = None,
    audio_column: str | None = None,
) -> ItemTable:
    """Read the items of ``path`` (and gold labels when ``label_column`` is given), detecting the modality.

    * text: ``.txt`` (a line per item), ``.csv``/``.tsv`` (``text_column``), ``.jsonl``, ``.parquet``, ``.arrow``
      (any reader of :mod:`transzero.data.registry`, chosen by suffix);
    * images: a folder (``DIR/<class>/*.jpg``: the folder is the gold label), a ``.txt`` list of paths,
      a Tiny-ImageNet ``val_annotations.txt`` folder;
    * audio: the same layouts with audio files, or a CSV/TSV/JSONL manifest with ``audio_column``.

    Bad rows are kept in the table with their error; structural problems raise one-line ``InputError``.
    """
    from .audio import read_audio_table
    from .image_folder import read_image_table

    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    modality = detect_modality(p, audio_column=audio_column)
    with_labels = label_column is not None
    if modality == "audio":
        manifest = audio_column is not None and p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
        table = read_audio_table(p, with_labels=with_labels, audio_column=audio_column if manifest else None,
                                 label_column=label_column if manifest else None)
    elif modality == "image":
        table = read_image_table(p, with_labels=with_labels)
    else:
        reader = reader_for(p) or get_reader("text")  # (the text reader names the supported types)
        table = reader.table(p, text_column=text_column, label_column=label_column)
    table.path = str(path)
    table.modality = modality
    return table


def has_column(path: str | os.PathLike[str], column: str) -> bool:
    """True when a CSV/TSV/JSONL file has ``column`` in its first rows (multimodal records detection)."""
    from .text import read_text_table

    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in MANIFEST_SUFFIXES:
        return False
    try:
        t = read_text_table(p, text_column=column)
    except InputError:
        return False
    return any(column in r for r in t.records[:50])
