"""Audio encoders: items are file paths, bytes or ``(samples, sample_rate)`` pairs.

``mfcc``
    Log-mel cepstral statistics from librosa (20 MFCCs and their deltas; mean and standard
    deviation over all frames: 80 dims). No weights: a baseline that is always available.
``speaker-ge2e``
    The GE2E speaker encoder of the ``resemblyzer`` package (256 dims, 16 kHz): trained to
    tell speakers apart, which is what its vectors are best at.

Clips are read in chunks (:func:`~transzero.data.audio.iter_audio_chunks`), so a long file
never sits in memory whole; statistics / embeddings are pooled over chunks. Bad clips are
reported per item by :meth:`Encoder.encode_report`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._util import l2_normalize, sha256_text
from ..data.audio import check_levels, iter_audio_chunks
from ..errors import InputError, ModelUnavailableError
from .base import Encoder, ProgressCallback

__all__ = ["AudioEncoder", "MFCCEncoder", "SpeakerGE2EEncoder"]


class AudioEncoder(Encoder):
    """Base class of audio encoders: validation, content-hash cache keys, per-item error reports."""

    modality = "audio"
    sample_rate: int = 16000
    #: shortest clip (seconds) the model can embed
    min_seconds: float = 0.05
    chunk_seconds: float = 30.0
    default_batch_size = 16

    def validate(self, items: Any) -> list[Any]:
        out = list(items)
        for i, it in enumerate(out):
            if isinstance(it, (str, os.PathLike)):
                if isinstance(it, str) and not it.strip():
                    raise InputError(f"items[{i}]: empty path; give an audio file")
                continue
            if isinstance(it, bytes) or (isinstance(it, tuple) and len(it) == 2 and isinstance(it[0], np.ndarray)):
                continue
            raise InputError(f"items[{i}]: expected an audio file path, bytes or (samples, rate), got {type(it).__name__}")
        return out

    def cache_key(self, item: Any) -> str:
        """Clips given as paths are keyed by the file's bytes (as images are); arrays with their sample rate."""
        from .._util import item_key

        if isinstance(item, (str, os.PathLike)):
            return item_key(Path(item))
        if isinstance(item, tuple):
            return sha256_text(f"{item_key(np.ascontiguousarray(item[0], dtype=np.float32))}@{int(item[1])}")
        return item_key(item)

    def _embed(self, item: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        vecs, errors = self._encode_report(items, batch_size, progress)
        if errors:
            i, msg = next(iter(errors.items()))
            raise InputError(f"items[{i}]: {msg}")
        return vecs

    def _encode_report(
        self, items: list[Any], batch_size: int, progress: ProgressCallback | None
    ) -> tuple[np.ndarray, dict[int, str]]:
        out = np.full((len(items), self.dim), np.nan, dtype=np.float32)
        errors: dict[int, str] = {}
        for i, it in enumerate(items):
            try:
                out[i] = self._embed(it)
            except InputError as exc:
                errors[i] = str(exc)
            if progress:
                progress(1)
        return out, errors

    def _chunks(self, item: Any) -> Iterator[np.ndarray]:
        """The clip's chunks (each bounded by ``chunk_seconds``), one at a time; once they are all read,
        an empty, silent, non-finite or too-short clip raises (so memory stays bounded for long files)."""
        label = os.path.basename(str(item)) if isinstance(item, (str, os.PathLike)) else "<clip>"
        total, peak = 0, 0.0
        for c in iter_audio_chunks(item, self.sample_rate, self.chunk_seconds):
            if not len(c):
                continue
            if not np.all(np.isfinite(c)):
                raise InputError(f"{label}: audio contains NaN or infinity")
            total += len(c)
            peak = max(peak, float(np.max(np.abs(c))))
            yield c
        check_levels(total, peak, self.sample_rate, self.min_seconds, label)


class MFCCEncoder(AudioEncoder):
    """MFCC + delta statistics (librosa): ``[mean, std]`` of 20 MFCCs and 20 deltas over all frames (80 dims)."""

    backend = "librosa"
    min_seconds = 0.05

    def __init__(self, name: str = "mfcc", n_mfcc: int = 20, sample_rate: int = 16000) -> None:
        self.name = name
        self.n_mfcc = int(n_mfcc)
        self.sample_rate = int(sample_rate)

    @property
    def dim(self) -> int:
        return 4 * self.n_mfcc

    def _config(self) -> dict[str, Any]:
        return {"n_mfcc": self.n_mfcc, "sample_rate": self.sample_rate, "n_mels": 40, "win": 0.025, "hop": 0.010}

    def _embed(self, item: Any) -> np.ndarray:
        try:
            import librosa
        except ImportError:  # pragma: no cover - librosa is a dependency
            raise ModelUnavailableError("mfcc needs librosa: pip install librosa") from None
        n = 0
        s1 = np.zeros(2 * self.n_mfcc)
        s2 = np.zeros(2 * self.n_mfcc)
        sr = self.sample_rate
        for c in self._chunks(item):
            if len(c) < int(0.025 * sr):
                c = np.pad(c, (0, int(0.025 * sr) - len(c)))
            with warnings.catch_warnings():  # "n_fft=512 is too large" for clips under 32 ms: padded, as intended
                warnings.simplefilter("ignore", UserWarning)
                m = librosa.feature.mfcc(y=c, sr=sr, n_mfcc=self.n_mfcc, n_mels=40, n_fft=512,
                                         win_length=int(0.025 * sr), hop_length=int(0.010 * sr))
            d = librosa.feature.delta(m, width=min(9, m.shape[1] - (1 - m.shape[1] % 2))) if m.shape[1] >= 3 else np.zeros_like(m)
            f = np.concatenate([m, d]).astype(np.float64)  # (2 n_mfcc, frames)
            n += f.shape[1]
            s1 += f.sum(axis=1)
            s2 += (f ** 2).sum(axis=1)
        mean = s1 / n
        std = np.sqrt(np.maximum(s2 / n - mean ** 2, 0.0))
        return np.concatenate([mean, std]).astype(np.float32)


def _import_resemblyzer() -> Any:
    """``import resemblyzer`` without the pkg_resources deprecation warning its webrtcvad dependency prints."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pkg_resources")
        return importlib.import_module("resemblyzer")


class SpeakerGE2EEncoder(AudioEncoder):
    """GE2E speaker embeddings from ``resemblyzer`` (256 dims; voice-activity trimming, 16 kHz).

    resemblyzer trims long silences with a voice-activity detector. On short, tightly cut
    clips (spoken digits) it can remove everything; a clip whose peak is above -40 dBFS is
    then embedded untrimmed. Quieter clips with no detected speech are reported as errors.
    """

    backend = "torch"
    min_seconds = 0.1

    def __init__(self, name: str = "speaker-ge2e") -> None:
        self.name = name
        self._model: Any = None
        self.sample_rate = 16000

    @property
    def dim(self) -> int:
        return 256

    def _config(self) -> dict[str, Any]:
        return {"weights": "resemblyzer-0.1.x pretrained.pt", "sample_rate": 16000}

    def load(self) -> None:
        self._load()

    def _load(self) -> Any:
        if self._model is None:
            try:
                resemblyzer = _import_resemblyzer()
                VoiceEncoder = resemblyzer.VoiceEncoder
            except ImportError as exc:
                raise ModelUnavailableError(
                    f"speaker-ge2e needs the resemblyzer package (and setuptools<81): pip install resemblyzer ({exc})"
                ) from None
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # it prints a loading line
                self._model = VoiceEncoder("cpu")
        return self._model

    def _embed(self, item: Any) -> np.ndarray:
        model = self._load()
        from resemblyzer import preprocess_wav
        from resemblyzer.audio import normalize_volume

        vecs, weights = [], []

        for c in self._chunks(item):
            wav = preprocess_wav(c, source_sr=self.sample_rate)  # volume normalisation + VAD trimming
            if len(wav) < int(self.min_seconds * self.sample_rate) and float(np.max(np.abs(c))) >= 0.01:
                # short clips: the VAD (30 ms frames) can remove all of a clip that clearly is not silent;
                # then the volume-normalised clip is embedded untrimmed (documented in the class docstring)
                wav = normalize_volume(c, -30, increase_only=True)
            if len(wav) < int(self.min_seconds * self.sample_rate):
                continue
            vecs.append(model.embed_utterance(wav))
            weights.append(len(wav))
        if not vecs:
            label = os.path.basename(str(item)) if isinstance(item, (str, os.PathLike)) else "<clip>"
            raise InputError(f"{label}: no speech found (voice-activity detection removed everything); check the clip")
        v = np.average(np.stack(vecs), axis=0, weights=np.asarray(weights, dtype=np.float64))
        return l2_normalize(v[None, :])[0]
