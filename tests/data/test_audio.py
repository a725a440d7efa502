"""Audio loading edge cases on generated clips (tones, silence, noise), tables and manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("soxr")

from transzero.data.audio import (  # noqa: E402
    iter_audio_chunks,
    load_audio,
    looks_like_audio,
    read_audio_table,
)
from transzero.errors import InputError  # noqa: E402


def tone(freq: float, seconds: float, sr: int, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def test_resampling_mono_mixdown_and_formats(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", tone(440, 1.0, 8000), 8000)
    sf.write(tmp_path / "b.flac", tone(440, 1.0, 44100, channels=2), 44100)
    sf.write(tmp_path / "c.ogg", tone(440, 1.0, 22050), 22050)
    for name in ("a.wav", "b.flac", "c.ogg"):
        x = load_audio(tmp_path / name, 16000)
        assert x.dtype == np.float32 and x.ndim == 1
        assert abs(len(x) - 16000) <= 32, name  # one second at the target rate
        spec = np.abs(np.fft.rfft(x))
        assert abs(np.argmax(spec) * 16000 / len(x) - 440) < 5, name  # the tone survives resampling
    # in-memory (samples, rate), stereo
    x = load_audio((tone(440, 0.5, 48000, channels=2), 48000), 16000)
    assert abs(len(x) - 8000) <= 16


def test_bad_clips_are_named(tmp_path: Path) -> None:
    sf.write(tmp_path / "silence.wav", np.zeros(16000, np.float32), 16000)
    sf.write(tmp_path / "short.wav", tone(440, 0.01, 16000), 16000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("these are not audio samples")
    good = tmp_path / "good.wav"
    sf.write(good, tone(440, 0.5, 16000), 16000)
    (tmp_path / "corrupt.wav").write_bytes(good.read_bytes()[:30])  # header cut short
    cases = {"silence.wav": "silent", "short.wav": "shorter than", "empty.wav": "empty", "notes.wav": "not a readable audio",
             "corrupt.wav": "not a readable audio|no audio samples|corrupt"}
    for name, msg in cases.items():
        with pytest.raises(InputError, match=msg) as exc:
            load_audio(tmp_path / name, 16000, min_seconds=0.05)
        assert name in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(InputError, match="no such audio file"):
        load_audio(tmp_path / "missing.wav", 16000)


def test_long_files_are_read_in_bounded_chunks(tmp_path: Path) -> None:
    sr = 8000
    with sf.SoundFile(tmp_path / "long.wav", "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(12):  # two minutes, written in pieces
            f.write(tone(300, 10.0, sr, amp=0.3))
    chunks = list(iter_audio_chunks(tmp_path / "long.wav", 16000, chunk_seconds=5.0))
    assert max(len(c) for c in chunks) <= 1.05 * 5 * 16000  # about one chunk in memory (plus resampler delay)
    assert abs(sum(len(c) for c in chunks) - 120 * 16000) < 200
    with pytest.raises(InputError, match="longer than 60 s; split it"):
        load_audio(tmp_path / "long.wav", 16000, max_seconds=60)


def test_tables_folders_lists_and_manifests(tmp_path: Path) -> None:
    for label in ("yes", "no"):
        (tmp_path / "clips" / label).mkdir(parents=True)
        for i in range(2):
            sf.write(tmp_path / "clips" / label / f"{i}.wav", tone(300 + 100 * i, 0.3, 8000), 8000)
    (tmp_path / "clips" / "no" / "readme.txt").write_text("not audio")
    assert looks_like_audio(tmp_path / "clips")
    t = read_audio_table(tmp_path / "clips", with_labels=True)
    assert t.labels == ["no", "no", "no", "yes", "yes"]
    assert [i for i in t.errors] == [2] and "not an audio file" in t.errors[2]
    (tmp_path / "m.csv").write_text("audio,label\nclips/yes/0.wav,yes\nclips/no/1.wav,no\nclips/no/9.wav,no\n")
    m = read_audio_table(tmp_path / "m.csv", with_labels=True, audio_column="audio", label_column="label")
    assert m.labels == ["yes", "no", "no"] and m.texts[0] == str(tmp_path / "clips/yes/0.wav")
    assert "no such file" in m.errors[2]
    (tmp_path / "list.txt").write_text("clips/yes/0.wav\nclips/no/0.wav\n")
    assert looks_like_audio(tmp_path / "list.txt")
    assert len(read_audio_table(tmp_path / "list.txt").texts) == 2
    with pytest.raises(InputError, match="no gold labels"):
        read_audio_table(tmp_path / "list.txt", with_labels=True)
