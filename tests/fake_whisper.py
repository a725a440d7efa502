"""A tiny fake of CTranslate2's Whisper model and faster-whisper's tokenizer, for fast tests of the real
:class:`transzero.encoders.whisper.WhisperRuntime` (windows, batching, candidate scoring, pruning, transcripts).

The fake "hears" the word whose tone a clip carries: clip ``k`` of :func:`tone` is a sine at ``FREQS[k]``. Its
encoder states are the log-mel features averaged in pairs of frames (so they carry the tone); its decoder reads
the loudest mel bin of the non-silent states, maps it to the nearest word, and then prefers that word, a full stop
and the end of the text, in that order. Every step's logits also depend a little on the states' mean, so results
that should not depend on batch-mates or padding are checked for real.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

WORDS = ["zero", "one", "two", "three"]
FREQS = [300.0, 700.0, 1500.0, 3000.0]
#: token ids: 0-3 the words with a leading space, 4 ".", 5 "0".."3" as digits -> 5-8, then specials
DOT, EOT, SOT, NOTS = 4, 20, 21, 22
VOCAB = 32


def tone(k: int, seconds: float = 0.6, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * FREQS[k] * t)).astype(np.float32)


class FakeTokenizer:
    eot, sot, no_timestamps = EOT, SOT, NOTS
    sot_sequence = (SOT,)

    def encode(self, text: str) -> list[int]:
        out = []
        for piece in text.replace(".", " .").split():
            w = piece.lower()
            if w == ".":
                out.append(DOT)
            elif w in WORDS:
                out.append(WORDS.index(w))
            elif w.isdigit() and int(w) < len(WORDS):
                out.append(5 + int(w))
            else:
                out.append(10 + (sum(map(ord, w)) % 10))  # other words: tokens 10-19
        return out

    def decode(self, ids: list[int]) -> str:
        parts = []
        for t in ids:
            if t < len(WORDS):
                parts.append(" " + WORDS[t])
            elif t == DOT:
                parts.append(".")
            elif 5 <= t < 9:
                parts.append(f" {t - 5}")
            elif t < EOT:
                parts.append(" w")
        return "".join(parts)


class FakeModel:
    """Encode: (B, mels, frames) -> (B, frames // 2, mels); generate: greedy with forced prefixes."""

    is_multilingual = False
    n_mels = 80

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        from faster_whisper.feature_extractor import FeatureExtractor

        fe = FeatureExtractor(feature_size=80)
        # which mel bin each word's tone lands in
        self.bins = [int(np.argmax(fe(tone(k))[:, :40].mean(axis=1))) for k in range(len(WORDS))]

    def encode(self, features: Any, to_cpu: bool = False) -> Any:
        f = np.asarray(features, dtype=np.float32)
        self.calls.append(("encode", f.shape[0]))
        B, M, T = f.shape
        s = f[:, :, : T - T % 2].reshape(B, M, T // 2, 2).mean(axis=3).transpose(0, 2, 1)
        return (s - 0.9 * s.mean(axis=2, keepdims=True)).copy()  # mostly centred per frame: tones differ clearly

    def _word(self, s: np.ndarray) -> int:
        loud = s[np.abs(s).sum(axis=1) > 0]
        if not len(loud):
            return 0
        b = int(np.argmax(loud.mean(axis=0)))
        return int(np.argmin([abs(b - x) for x in self.bins]))

    def _logits(self, s: np.ndarray, prefix: list[int]) -> np.ndarray:
        k = self._word(s)
        z = np.full(VOCAB, -4.0, dtype=np.float32)
        z[k] = 3.0
        z[5 + k] = 2.0  # the digit
        if prefix and prefix[-1] in (k, 5 + k):
            z[:] = -4.0
            z[DOT] = 4.0
        elif prefix and prefix[-1] == DOT:
            z[:] = -4.0
            z[EOT] = 5.0
        return z + 0.01 * float(s.mean())

    def generate(self, states: Any, prompts: list[list[int]], *, max_length: int = 448,
                 return_logits_vocab: bool = False, return_scores: bool = False, **kw: Any) -> list[Any]:
        S = np.asarray(states, dtype=np.float32)
        self.calls.append(("generate", len(prompts)))
        assert S.shape[0] == len(prompts), "one state row per prompt"
        out = []
        for s, p in zip(S, prompts):
            start = max(i for i, t in enumerate(p) if t in (SOT, NOTS)) + 1
            forced, seq, rows, score = list(p[start:]), [], [], 0.0
            for step in range(max_length // 2):
                z = self._logits(s, seq)
                rows.append(z)
                t = forced[step] if step < len(forced) else int(np.argmax(z))
                score += float(z[t] - np.log(np.exp(z).sum()))
                if t == EOT:
                    break
                seq.append(t)
            out.append(SimpleNamespace(sequences_ids=[seq], logits=[np.stack(rows)] if return_logits_vocab else [],
                                       scores=[score] if return_scores else []))
        return out


def fake_runtime(window: Any = "auto") -> Any:
    """A real :class:`WhisperRuntime` over the fake model and tokenizer."""
    from faster_whisper.feature_extractor import FeatureExtractor

    from transzero.encoders.whisper import WhisperRuntime, whisper_model_dir

    rt = WhisperRuntime(whisper_model_dir(), window=window)
    rt._model, rt._tokenizer, rt._features = FakeModel(), FakeTokenizer(), FeatureExtractor(feature_size=80)
    rt._d_model = 80
    return rt
