"""Inputs as a stream of shards: ``iter_shards(spec, shard_size)`` yields one :class:`ItemTable` per shard.

Text files (.txt, .csv, .tsv, .jsonl) are read row by row and Parquet batch by batch, so a job over ten million
rows holds one shard at a time. Folders and lists of images or audio are listed (paths only) and cut into
shards. Rows keep their numbers in the whole input, so shard ``i`` always covers items ``[i*S, (i+1)*S)``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from .parquet import PARQUET_SUFFIXES, iter_parquet_rows
from .readers import detect_modality, read_items
from .text import ItemTable, Row, iter_text_rows, rows_table

__all__ = ["input_fingerprint", "iter_shards"]


def iter_shards(path: str | os.PathLike[str], shard_size: int, *, text_column: str = "text",
                label_column: str | None = None, audio_column: str | None = None) -> Iterator[ItemTable]:
    """One table per ``shard_size`` items of the input, in order (a stream for text and Parquet files)."""
    if shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, got {shard_size}")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    modality = detect_modality(p, audio_column=audio_column)
    rows: Iterator[Row] | None = None
    if modality == "text" and p.is_file():
        if p.suffix.lower() in PARQUET_SUFFIXES:
            rows = iter_parquet_rows(p, text_column=text_column, label_column=label_column)
        else:
            rows = iter_text_rows(p, text_column=text_column, label_column=label_column)
    if rows is None:  # media: the list of files is read whole (paths only), then cut
        table = read_items(p, text_column=text_column, label_column=label_column, audio_column=audio_column)
        for start in range(0, len(table), shard_size):
            yield table.slice(start, start + shard_size)
        return
    chunk: list[Row] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) == shard_size:
            yield rows_table(str(path), chunk, label_column is not None, modality)
            chunk = []
    if chunk:
        yield rows_table(str(path), chunk, label_column is not None, modality)


def input_fingerprint(path: str | os.PathLike[str]) -> str:
    """What identifies an input for resuming a job: a file's size, modification time and first megabyte; a
    folder's file names and sizes."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_file():
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|".encode())
        with p.open("rb") as f:
            h.update(f.read(1 << 20))
    elif p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(p)}|{f.stat().st_size}\n".encode())
    return h.hexdigest()[:32]
