"""Speech zero-shot through a pretrained recogniser (pocketsphinx's English acoustic model).

Transfer: the acoustic model and pronunciation dictionary were trained on English speech.
Zero-shot: the classes are *words*.

``asr-grammar``
    Decodes each clip against a JSGF grammar whose alternatives are the label phrases (the
    class names, lower-cased, underscores as spaces). Per label the score is the best path
    score among the decoder's N-best hypotheses that spell that label; labels the search
    never reached score below all of them. A label word missing from the dictionary is an
    error naming the word.
``asr-text``
    Free transcription with the recogniser's general English language model, then the
    transcript is embedded by the label encoder (a text encoder) and compared with the class
    descriptions by cosine similarity, as the text ``similarity`` method does.

Both read raw audio (``reads_items``): the classifier hands them 16 kHz mono clips decoded by
:func:`transzero.data.audio.load_audio`, so bad clips are reported per item.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError, ModelUnavailableError
from ..labels import humanize
from .base import ZeroShotMethod
from .tags import FitContext, MethodTags

__all__ = ["ASRGrammarClassifier", "ASRTextClassifier", "label_phrase"]

SAMPLE_RATE = 16000


def label_phrase(name: str) -> str:
    """The words a label is spoken as: ``card_arrival`` -> ``card arrival`` (lower case)."""
    return " ".join(re.sub(r"[^a-z' ]", " ", humanize(name).lower()).split())


def _decoder(lm: bool) -> Any:
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise ModelUnavailableError("asr methods need pocketsphinx (pip install pocketsphinx)") from None
    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL") if lm else Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL")


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16).tobytes()


class _ASRBase(ZeroShotMethod):
    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(raw_items=True, one_space=False)
    #: shortest clip the recogniser is given (seconds)
    min_seconds = 0.1
    sample_rate = SAMPLE_RATE

    def _check_clips(self, X: Any) -> list[np.ndarray]:
        clips = list(X)
        for i, c in enumerate(clips):
            if not isinstance(c, np.ndarray) or c.ndim != 1:
                raise InputError(f"items[{i}]: asr methods take 16 kHz mono clips (from the classifier); got {type(c).__name__}")
        return clips

    def decision_function(self, X: Any) -> np.ndarray:
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        return self._logits(self._check_clips(X))


class ASRGrammarClassifier(_ASRBase):
    """Grammar-constrained recognition of the label phrases (see the module docstring).

    Parameters
    ----------
    n_best : int
        Hypotheses read per clip to score the labels beyond the best one.
    logit_scale : float
        Multiplies the decoder's path scores into logits.
    """

    _state_attrs = ZeroShotMethod._state_attrs + ("phrases_",)

    def __init__(self, n_best: int = 50, logit_scale: float = 50.0) -> None:
        self.n_best = n_best
        self.logit_scale = logit_scale

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> ASRGrammarClassifier:
        """Build the grammar from the class names; every word must be in the recogniser's dictionary."""
        ce = self._fit_common(FitContext.build(context, **fields), y)
        self.n_features_in_ = 0
        phrases = [label_phrase(c) for c in ce.classes]
        for c, p in zip(ce.classes, phrases):
            if not p:
                raise InputError(f"label {c!r} has no speakable words; name the class with English words")
        dup = sorted({p for p in phrases if phrases.count(p) > 1})
        if dup:
            raise InputError(f"two labels are spoken the same way ({dup[0]!r}); rename one")
        dec = _decoder(lm=False)
        for c, p in zip(ce.classes, phrases):
            for w in p.split():
                if dec.lookup_word(w) is None:
                    raise InputError(f"label {c!r}: the word {w!r} is not in the recogniser's English dictionary "
                                     "(no grapheme-to-phoneme fallback); respell it with dictionary words")
        self.phrases_ = phrases
        self._dec = None
        return self

    def _grammar_decoder(self) -> Any:
        if getattr(self, "_dec", None) is None:
            dec = _decoder(lm=False)
            alts = " | ".join(f"( {p} )" for p in self.phrases_)
            dec.add_jsgf_string("labels", f"#JSGF V1.0;\ngrammar labels;\npublic <label> = {alts} ;")
            dec.activate_search("labels")
            self._dec = dec
        return self._dec

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:
        dec = self._grammar_decoder()
        index = {p: k for k, p in enumerate(self.phrases_)}
        out = np.zeros((len(clips), len(self.phrases_)), dtype=np.float32)
        for i, x in enumerate(clips):
            dec.start_utt()
            dec.process_raw(_pcm(x), full_utt=True)
            dec.end_utt()
            best: dict[int, float] = {}
            if dec.hyp() is not None:
                for j, nb in enumerate(dec.nbest()):
                    if j >= int(self.n_best):
                        break
                    if nb is None or nb.hypstr is None:
                        continue
                    k = index.get(" ".join(nb.hypstr.split()))
                    if k is not None and k not in best:
                        best[k] = float(nb.score)
            if not best:
                continue  # nothing recognised: every label equally likely
            floor = min(best.values()) - 0.05
            row = np.full(len(self.phrases_), floor)
            for k, sc in best.items():
                row[k] = sc
            out[i] = float(self.logit_scale) * (row - row.max())
        return out


class ASRTextClassifier(_ASRBase):
    """Free transcription, then cosine similarity of the transcript with the class descriptions."""

    _state_attrs = ZeroShotMethod._state_attrs + ("class_vectors_",)

    def __init__(self, logit_scale: float | None = None) -> None:
        self.logit_scale = logit_scale

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(text_encoder=True)

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> ASRTextClassifier:
        """Store the class vectors and the text encoder that embeds transcripts (the label encoder)."""
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        text_encoder = ctx.text_encoder
        if text_encoder is None or text_encoder.modality != "text":
            raise InputError("asr-text needs a text encoder for the transcripts (the classifier's label encoder)")
        self.n_features_in_ = 0
        self.class_vectors_ = l2_normalize(ce.vectors)
        self.text_encoder_ = text_encoder
        self._dec = None
        return self

    def transcribe(self, clips: list[np.ndarray]) -> list[str]:
        """The recogniser's best transcript of each clip ('' when it heard no words)."""
        if getattr(self, "_dec", None) is None:
            self._dec = _decoder(lm=True)
        out = []
        for x in clips:
            self._dec.start_utt()
            self._dec.process_raw(_pcm(x), full_utt=True)
            self._dec.end_utt()
            h = self._dec.hyp()
            out.append(" ".join(h.hypstr.split()) if h is not None and h.hypstr else "")
        return out

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:
        texts = self.transcribe(clips)
        out = np.zeros((len(clips), len(self.classes_)), dtype=np.float32)
        heard = [i for i, t in enumerate(texts) if t]
        if heard:
            V = l2_normalize(self.text_encoder_.encode([texts[i] for i in heard]))
            out[heard] = self.logit_scale_ * (V @ self.class_vectors_.T)
        return out
