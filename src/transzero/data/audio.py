"""Audio inputs: decoding (soundfile), mono mix-down, resampling (soxr), chunked reading, tables.

Every clip becomes float32 mono samples at the encoder's sample rate. Long files are read
in chunks (``chunk_seconds``) and resampled with a streaming resampler, so memory stays
bounded whatever the file's length; encoders aggregate per-chunk results. Bad clips -- empty
or non-audio files, corrupt headers, silence, clips shorter than the model's window -- raise
one-line :class:`~transzero.errors.InputError` messages naming the file, so batch jobs report
them and go on.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .text import TextTable

__all__ = ["AUDIO_SUFFIXES", "AudioClip", "check_clip", "check_levels", "iter_audio_chunks", "load_audio", "looks_like_audio", "read_audio_table"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".mp3")
#: a clip whose peak amplitude is below this is silent (about -80 dBFS)
SILENCE_PEAK = 1e-4

#: an in-memory clip: (samples, sample rate); samples (n,) mono or (n, channels)
AudioClip = tuple[np.ndarray, int]


def _label(item: Any) -> str:
    if isinstance(item, (str, os.PathLike)):
        return Path(item).name
    if isinstance(item, bytes):
        return f"<{len(item)} bytes>"
    return "<array>"


def _open(item: Any) -> Any:
    import soundfile as sf

    if isinstance(item, (str, os.PathLike)):
        p = Path(item)
        if not p.is_file():
            raise InputError(f"{p}: no such audio file")
        if p.stat().st_size == 0:
            raise InputError(f"{p.name}: file is empty (0 bytes)")
        src: Any = str(p)
    elif isinstance(item, bytes):
        if not item:
            raise InputError("audio bytes are empty")
        src = io.BytesIO(item)
    else:
        raise InputError(f"expected an audio file path, bytes or (samples, rate), got {type(item).__name__}")
    try:
        return sf.SoundFile(src)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{_label(item)}: not a readable audio file ({msg}); convert it to WAV/FLAC/OGG") from None


def iter_audio_chunks(item: Any, sample_rate: int, chunk_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """Mono float32 chunks of a clip at ``sample_rate``; a file is read and resampled piece by piece."""
    import soxr

    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], np.ndarray):
        x, sr = item
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if x.ndim != 1:
            raise InputError(f"audio array must be (samples,) or (samples, channels), got {x.shape}")
        if int(sr) <= 0:
            raise InputError(f"sample rate must be positive, got {sr}")
        y = soxr.resample(x, int(sr), sample_rate) if int(sr) != sample_rate else x
        step = max(1, int(chunk_seconds * sample_rate))
        for s in range(0, len(y), step):
            yield np.ascontiguousarray(y[s:s + step], dtype=np.float32)
        return
    f = _open(item)
    with f:
        if f.samplerate <= 0 or f.frames == 0:
            raise InputError(f"{_label(item)}: no audio samples in the file")
        stream = soxr.ResampleStream(f.samplerate, sample_rate, 1, dtype="float32") if f.samplerate != sample_rate else None
        block = max(1, int(chunk_seconds * f.samplerate))
        try:
            for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                mono = data.mean(axis=1)
                out = stream.resample_chunk(mono, last=False) if stream is not None else mono
                if len(out):
                    yield np.ascontiguousarray(out, dtype=np.float32)
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"{_label(item)}: the audio data is corrupt ({str(exc).splitlines()[0]})") from None
        if stream is not None:
            tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                yield np.ascontiguousarray(tail, dtype=np.float32)


def load_audio(item: Any, sample_rate: int, *, min_seconds: float = 0.0, max_seconds: float | None = 600.0) -> np.ndarray:
    """A whole clip as mono float32 at ``sample_rate``, checked for silence and length.

    ``max_seconds`` bounds memory for whole-clip models; longer clips raise an error that says
    to use a chunked encoder or split the file (nothing is cut silently).
    """
    chunks = []
    total = 0
    limit = None if max_seconds is None else int(max_seconds * sample_rate)
    for c in iter_audio_chunks(item, sample_rate):
        chunks.append(c)
        total += len(c)
        if limit is not None and total > limit:
            raise InputError(f"{_label(item)}: longer than {max_seconds:g} s; split it into shorter clips")
    x = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    check_clip(x, sample_rate, min_seconds, _label(item))
    return x


def check_clip(x: np.ndarray, sample_rate: int, min_seconds: float, label: str) -> None:
    """Refuse empty, silent or too-short clips, naming the clip."""
    if len(x) and not np.all(np.isfinite(x)):
        raise InputError(f"{label}: audio contains NaN or infinity")
    check_levels(len(x), float(np.max(np.abs(x))) if len(x) else 0.0, sample_rate, min_seconds, label)


def check_levels(n_samples: int, peak: float, sample_rate: int, min_seconds: float, label: str) -> None:
    """:func:`check_clip` from a clip's length and peak (for clips read chunk by chunk)."""
    if not n_samples:
        raise InputError(f"{label}: no audio samples")
    if peak < SILENCE_PEAK:
        raise InputError(f"{label}: the clip is silent (peak below -80 dBFS); remove it or check the recording")
    if n_samples < min_seconds * sample_rate:
        raise InputError(f"{label}: {n_samples / sample_rate:.3f} s is shorter than the model's {min_seconds:g} s window; "
                         "use a longer clip")


def _is_audio_path(p: Path) -> bool:
    return p.suffix.lower() in AUDIO_SUFFIXES


def looks_like_audio(path: str | os.PathLike[str]) -> bool:
    """True for a folder (or class folders) of audio files, or a .txt list of audio paths."""
    p = Path(path)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")]
        for d in (d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")):
            files += [f for f in d.iterdir() if f.is_file() and not f.name.startswith(".")][:20]
            if len(files) > 200:
                break
        return bool(files) and sum(_is_audio_path(f) for f in files) > len(files) / 2
    if p.suffix.lower() == ".txt" and p.is_file():
        lines = [ln.strip() for ln in p.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        return bool(lines) and all(_is_audio_path(Path(ln)) for ln in lines)
    return False


def read_audio_table(
    path: str | os.PathLike[str], *, with_labels: bool = False, audio_column: str | None = None,
    label_column: str | None = None,
) -> TextTable:
    """Read audio items: ``DIR/<class>/*.wav``, a flat folder, a ``.txt`` list of paths, or a CSV/TSV/JSONL
    manifest with an ``audio_column`` of paths (relative to the manifest) and an optional ``label_column``."""
    from .folders import files_table, list_files
    from .text import read_text_table

    p = Path(path).expanduser()
    name = str(path)
    if not p.exists():
        raise InputError(f"{name}: no such file or folder; check the path")
    files: list[tuple[int, Path, str | None]]
    if audio_column is not None and p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json"):
        t = read_text_table(p, text_column=audio_column, label_column=label_column if with_labels else None)
        base = p.parent
        table = TextTable(name, [], list(t.rows), labels=[] if with_labels else None, records=t.records)
        for i, rel in enumerate(t.texts):
            f = None if rel is None else (Path(rel) if Path(rel).is_absolute() else base / rel)
            err = t.errors.get(i)
            if err is None and f is not None:
                err = _file_error(f)
            table.texts.append(str(f) if err is None and f is not None else None)
            if table.labels is not None:
                table.labels.append(t.labels[i] if t.labels is not None else None)
            if err:
                table.errors[i] = err
        return table
    files = list_files(p, name, "audio", with_labels, "*.wav")
    if not files:
        raise InputError(f"{name}: no audio files found; put them in DIR/<class>/*.wav or list their paths in a .txt")
    return files_table(name, files, with_labels, "audio", _file_error)


def _file_error(f: Path) -> str | None:
    if not _is_audio_path(f):
        return f"{f.name}: not an audio file (suffix {f.suffix or 'none'}); remove it or convert it to WAV/FLAC/OGG"
    if not f.is_file():
        return f"{f}: no such file"
    return None

