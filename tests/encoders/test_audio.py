"""Audio encoders (mfcc, speaker-ge2e) on generated clips: shapes, determinism, per-item error reports."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("soundfile")
pytest.importorskip("soxr")

from transzero import create_encoder  # noqa: E402

SR = 16000
T = np.arange(int(1.5 * SR)) / SR


def vowel(f0: float, formants: tuple[float, float] = (700, 1200)) -> np.ndarray:
    """A synthetic voiced sound: harmonics of f0 shaped by two formants, with a slow amplitude wobble."""
    x = sum(np.sin(2 * np.pi * f0 * k * T) / k * (1 + sum(np.exp(-((f0 * k - f) / 150) ** 2) for f in formants))
            for k in range(1, 30))
    return (0.3 * x / np.abs(x).max() * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * T))).astype(np.float32)


BAD = [(np.zeros(SR, np.float32), SR), (vowel(110)[:100], SR), b"RIFF not really", "/no/such/clip.wav"]


@pytest.mark.slow
def test_mfcc_statistics() -> None:
    enc = create_encoder("mfcc")
    assert enc.modality == "audio" and enc.dim == 80
    X, errors = enc.encode_report([(vowel(110), SR), (vowel(110), SR), (vowel(220, (400, 2200)), SR), *BAD])
    assert X.shape == (7, 80)
    np.testing.assert_array_equal(X[0], X[1])
    assert not np.allclose(X[0], X[2])
    assert sorted(errors) == [3, 4, 5, 6]
    assert "silent" in errors[3] and "shorter than" in errors[4] and "not a readable audio file" in errors[5]
    # the same clip at another sample rate gives nearly the same statistics (resampled to 16 kHz first)
    import soxr

    y = enc.encode([(soxr.resample(vowel(110), SR, 44100), 44100)])[0]
    assert np.corrcoef(y, X[0])[0, 1] > 0.99


def test_speaker_encoder_separates_voices() -> None:
    pytest.importorskip("resemblyzer")
    enc = create_encoder("speaker-ge2e")
    assert enc.dim == 256
    X, errors = enc.encode_report([(vowel(110), SR), (vowel(115), SR), (vowel(220, (400, 2200)), SR), *BAD])
    np.testing.assert_allclose(np.linalg.norm(X[:3], axis=1), 1.0, rtol=1e-5)
    sim = X[:3] @ X[:3].T
    assert sim[0, 1] > sim[0, 2] + 0.2  # two low voices vs a high one
    assert sorted(errors) == [3, 4, 5, 6]
    assert enc.fingerprint == create_encoder("speaker-ge2e").fingerprint
