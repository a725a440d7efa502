"""Speech zero-shot with Whisper tiny.en (CTranslate2, int8): classes are words said, or topics spoken about.

Transfer: Whisper's encoder and decoder were trained on 680,000 hours of transcribed speech.
Zero-shot: no labelled clip is needed; the classes are text.

``whisper``
    Candidate scoring. Each class has spoken forms (:func:`transzero.spoken.spoken_forms`: its name, readable
    name, descriptions and aliases, numbers as words and digits, as Whisper writes a short utterance). The decoder
    scores every form as the whole transcript of the clip (teacher forcing, all forms of a batch of clips in
    batched decoder calls over one encoder pass); a class's score is the log of the summed probability of its
    forms. Softmax over classes = the probability of each class given that the clip says one of them.
``whisper-text``
    Greedy transcription, then the transcript is classified with the text side: embedded by the label encoder
    (the default text encoder) and compared with the class prompts, as text ``similarity`` does. For classes
    that are topics or intents rather than words said.
``whisper-fused`` (the audio default)
    Both on one encoder pass, mixed per clip: ``p = g * p_whisper + (1 - g) * p_text``, where the gate ``g`` is the
    probability that the clip says one of the class forms at all (the forms' total probability as a whole
    transcript, on a log scale). A clip that says "seven" gets ``g`` near 1; a request such as "will it rain
    tomorrow" gives every form a tiny probability, ``g`` near 0, and the transcript decides.

All read raw audio (tag ``raw_items``): the classifier hands them 16 kHz mono clips, bad clips reported per item.
Transcripts are kept (per clip content) so outputs' ``transcript`` column and explanations cost no second pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError
from .base import ZeroShotMethod
from .tags import FitContext, MethodTags

__all__ = ["WhisperClassifier", "WhisperFusedClassifier", "WhisperTextClassifier"]


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


class _WhisperBase(ZeroShotMethod):
    """Shared machinery: the runtime, clip checks, transcripts."""

    sample_rate = 16000
    min_seconds = 0.05

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(raw_items=True, transcribes=True, learns_from_labels=True,
                                                    explains=True, one_space=False)

    # parameters every whisper method has (set by subclasses' __init__)
    compute_type: str
    window: Any
    batch_size: int

    @property
    def runtime(self) -> Any:
        from ..encoders.whisper import check_window, whisper_runtime

        return whisper_runtime(None, self.compute_type, 0, check_window(self.window))

    def _check_clips(self, X: Any) -> list[np.ndarray]:
        if isinstance(X, np.ndarray) and X.dtype != object:
            raise InputError(f"whisper methods read clips, not vectors (got an array of shape {X.shape}); give them "
                             "the items (ZeroShotClassifier decodes them)")
        clips = list(X)
        for i, c in enumerate(clips):
            if not isinstance(c, np.ndarray) or c.ndim != 1:
                raise InputError(f"items[{i}]: whisper methods take 16 kHz mono clips (from the classifier); "
                                 f"got {type(c).__name__}")
        return clips

    def decision_function(self, X: Any) -> np.ndarray:
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        clips = self._check_clips(X)
        if not clips:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self._logits(clips)

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, clips: list[np.ndarray], *, transcribe: bool, forms: bool) -> dict[str, Any]:
        """One encoder pass over ``clips``: vectors, and transcripts and/or form scores (the runtime remembers the
        vectors and transcripts)."""
        tokens = self._form_tokens() if forms else None
        return self.runtime.run(clips, int(self.batch_size), pool=True, transcribe=transcribe, forms=tokens)

    def transcribe(self, X: Any) -> list[str]:
        """Greedy transcript of each clip ('' when nothing was heard); remembered ones are not decoded again."""
        return [t or "" for t in self.runtime.recalled(self._check_clips(X), "transcript", int(self.batch_size))]

    def _form_tokens(self) -> list[list[int]]:  # pragma: no cover - overridden where forms are scored
        return []

    # ------------------------------------------------------------------ labelled clips
    def _fit_head(self, X: Any, y: Any) -> None:
        """With labelled clips: a logistic-regression head on their pooled Whisper vectors (C by cross-validation
        on them), multiplied with the zero-shot posterior at prediction; classes without clips stay zero-shot."""
        from .._util import label_indices
        from .fewshot import choose_C, per_class_head

        K = len(self.classes_)
        self.head_supported_ = np.zeros(K, dtype=bool)
        self.head_coef_ = np.zeros((K, 1), dtype=np.float32)
        self.head_intercept_ = np.zeros(K, dtype=np.float32)
        if X is None and y is None:
            return
        if X is None or y is None:
            raise InputError("give both labelled clips and their labels, or neither for zero-shot")
        clips = self._check_clips(X)
        ys = label_indices(self.classes_, list(np.asarray(y, dtype=object).ravel()), what="labelled clip")
        if len(ys) != len(clips):
            raise InputError(f"{len(clips)} labelled clips but {len(ys)} labels; they must match")
        V = l2_normalize(self._vectors(clips))
        self.head_coef_ = np.zeros((K, V.shape[1]), dtype=np.float32)
        present = np.unique(ys)
        self.head_supported_[present] = True
        if len(present) < 2:
            return  # one class has nothing to separate: the zero-shot route decides
        from sklearn.linear_model import LogisticRegression

        C = choose_C(V, ys, (0.1, 1.0, 10.0, 100.0), 10.0)
        lr = LogisticRegression(C=C, max_iter=2000).fit(V, ys)
        self.head_coef_[lr.classes_], self.head_intercept_[lr.classes_] = per_class_head(lr)

    def _vectors(self, clips: list[np.ndarray]) -> np.ndarray:
        """Pooled Whisper vectors of clips (remembered ones are not encoded again)."""
        return np.stack(self.runtime.recalled(clips, "vector", int(self.batch_size))).astype(np.float32)

    def _with_head(self, logp: np.ndarray, clips: list[np.ndarray]) -> np.ndarray:
        """Zero-shot log-probabilities times the labelled-clip head's (classes without clips: the head's mean)."""
        sup = getattr(self, "head_supported_", None)
        if sup is None or int(np.sum(sup)) < 2:
            return logp
        from .._util import softmax

        z = l2_normalize(self._vectors(clips)) @ self.head_coef_.T + self.head_intercept_
        zs = z[:, sup]
        lse = _logsumexp(zs, axis=1)
        z[:, ~sup] = (lse - np.log(int(sup.sum())))[:, None]  # an unsupported class: the supported classes' mean
        p = softmax(np.asarray(logp, dtype=np.float64), axis=1) * softmax(z.astype(np.float64), axis=1)
        p /= p.sum(axis=1, keepdims=True)
        return np.log(np.maximum(p, 1e-300)).astype(np.float32)


class _FormsMixin:
    """Spoken forms of the classes, and their scores."""

    forms_: list[list[str]]
    aggregate: str
    temperature: float

    def _fit_forms(self, ctx: FitContext, classes: list[str]) -> None:
        from ..spoken import forms_table

        space = ctx.label_space
        if space is not None:
            forms = forms_table(classes, {k: list(v) for k, v in space.descriptions.items()})
        else:
            forms = forms_table(classes)
        for c, f in zip(classes, forms):
            if not f:
                raise InputError(f"label {c!r} has no speakable words; name the class with words or digits")
        if self.aggregate not in ("logsumexp", "max"):
            raise InputError(f"aggregate must be 'logsumexp' or 'max', got {self.aggregate!r}")
        if not float(self.temperature) > 0:
            raise InputError(f"temperature must be > 0, got {self.temperature!r}")
        self.forms_ = forms

    def _flat_forms(self) -> tuple[list[str], np.ndarray]:
        texts = [t for f in self.forms_ for t in f]
        owner = np.asarray([k for k, f in enumerate(self.forms_) for _ in f])
        return texts, owner

    def _form_tokens(self) -> list[list[int]]:
        tok = self.runtime.tokenizer  # type: ignore[attr-defined]
        texts, _ = self._flat_forms()
        return [tok.encode(" " + t) for t in texts]

    def _class_log_probs(self, scores: np.ndarray) -> np.ndarray:
        """Per class, the log of its forms' summed probability (or the best form's), ``(N, K)``."""
        _, owner = self._flat_forms()
        K = len(self.forms_)
        out = np.full((scores.shape[0], K), -np.inf)
        for k in range(K):
            s = scores[:, owner == k]
            out[:, k] = _logsumexp(s, axis=1) if self.aggregate == "logsumexp" else s.max(axis=1)
        return out

    def _best_forms(self, scores: np.ndarray) -> list[list[tuple[str, float]]]:
        texts, owner = self._flat_forms()
        out = []
        for row in scores:
            per = []
            for k in range(len(self.forms_)):
                idx = np.flatnonzero(owner == k)
                j = int(idx[np.argmax(row[idx])])
                per.append((texts[j], float(row[j])))
            out.append(per)
        return out


class WhisperClassifier(_FormsMixin, _WhisperBase):
    """Zero-shot speech by candidate scoring of each class's spoken forms (see the module docstring).

    Parameters
    ----------
    aggregate : {"logsumexp", "max"}
        A class's score from its forms' log-probabilities: their summed probability, or the best one.
    temperature : float
        Logits = class log-probabilities / temperature.
    compute_type : str
        CTranslate2 compute type (``"int8"``).
    window : "auto" or float
        Seconds each clip is padded to before the encoder.
    batch_size : int
        Clips per encoder call.
    """

    _state_attrs = ("classes_", "n_features_in_", "forms_", "head_supported_", "head_coef_", "head_intercept_")

    def __init__(self, aggregate: str = "logsumexp", temperature: float = 1.0, compute_type: str = "int8",
                 window: str | float = "auto", batch_size: int = 16) -> None:
        self.aggregate = aggregate
        self.temperature = temperature
        self.compute_type = compute_type
        self.window = window
        self.batch_size = batch_size

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        # no transcript column: transcribing would cost a second decoder pass (explanations still show one)
        return super().__transzero_tags__().replace(reads_labels=True, transcribes=False)

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> WhisperClassifier:
        """The spoken forms of every class (from the label space in the context, else the class names); with
        labelled clips ``X, y`` also a head on their Whisper vectors (see :meth:`_fit_head`)."""
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        self.n_features_in_ = 0
        self._fit_forms(ctx, [str(c) for c in ce.classes])
        self._fit_head(X, y)
        return self

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:
        res = self._run(clips, transcribe=False, forms=True)
        z = (self._class_log_probs(res["scores"]) / float(self.temperature)).astype(np.float32)
        return self._with_head(z, clips)

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per clip: the transcript, then each class's best form and its log-probability, the predicted class first."""
        clips = self._check_clips(X)
        res = self._run(clips, transcribe=False, forms=True)
        transcripts = self.transcribe(clips)
        z = self._with_head(self._class_log_probs(res["scores"]) / float(self.temperature), clips)
        return _form_explanations(self.classes_, _lead(z, classes), self._best_forms(res["scores"]), transcripts, top)


def _lead(z: np.ndarray, classes: Any) -> np.ndarray:
    """Scores ordered for an explanation: ``classes[i]`` (the decided class, when given) first."""
    if classes is None:
        return z
    z = np.array(z, dtype=np.float64)
    z[np.arange(len(z)), np.asarray(classes, dtype=np.int64)] = np.inf
    return z


def _form_explanations(classes: np.ndarray, z: np.ndarray, best: list[list[tuple[str, float]]],
                       transcripts: list[str], top: int) -> list[dict[str, Any]]:
    out = []
    for i in range(len(z)):
        order = np.argsort(-z[i], kind="stable")[: max(1, int(top))]
        out.append({"label": str(classes[order[0]]), "transcript": transcripts[i],
                    "forms": [{"form": best[i][k][0], "class": str(classes[k]), "log_prob": round(best[i][k][1], 4)}
                              for k in order]})
    return out


class WhisperTextClassifier(_WhisperBase):
    """Transcribe (greedy), then cosine similarity of the transcript with the class prompts (the text side).

    Parameters
    ----------
    logit_scale : float, optional
        ``softmax(s * cos)``; default: the label encoder's scale.
    compute_type, window, batch_size
        As :class:`WhisperClassifier`.
    """

    _state_attrs = ("classes_", "n_features_in_", "logit_scale_", "class_vectors_", "prompt_vectors_",
                    "prompt_labels_", "prompts_", "head_supported_", "head_coef_", "head_intercept_")

    def __init__(self, logit_scale: float | None = None, compute_type: str = "int8", window: str | float = "auto",
                 batch_size: int = 16) -> None:
        self.logit_scale = logit_scale
        self.compute_type = compute_type
        self.window = window
        self.batch_size = batch_size

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(text_encoder=True)

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> WhisperTextClassifier:
        """Store the class vectors and the text encoder that embeds transcripts (the label encoder); with labelled
        clips ``X, y`` also a head on their Whisper vectors (see :meth:`_fit_head`)."""
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        self._fit_text(ctx, ce)
        self._fit_head(X, y)
        return self

    def _fit_text(self, ctx: FitContext, ce: Any) -> None:
        if ctx.text_encoder is None or ctx.text_encoder.modality != "text":
            raise InputError(f"{type(self).__name__} needs a text encoder for the transcripts (the classifier's "
                             "label encoder)")
        self.n_features_in_ = 0
        self.class_vectors_ = l2_normalize(ce.vectors)
        self.prompt_vectors_ = l2_normalize(ce.prompt_vectors)
        self.prompts_ = list(ce.prompts)
        self.prompt_labels_ = np.asarray(ce.prompt_labels)
        self.text_encoder_ = ctx.text_encoder

    def _text_logits(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.classes_)), dtype=np.float32)
        heard = [i for i, t in enumerate(texts) if t.strip()]
        if heard:
            V = l2_normalize(self.text_encoder_.encode([texts[i] for i in heard]))
            out[heard] = self.logit_scale_ * (V @ self.class_vectors_.T)
        return out

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:
        return self._with_head(self._text_logits(self.transcribe(clips)), clips)

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per clip: the transcript and its nearest class prompts, the predicted class's first."""
        clips = self._check_clips(X)
        texts = self.transcribe(clips)
        z = self._with_head(self._text_logits(texts), clips)
        return _prompt_explanations(self, texts, _lead(z, classes), top)


def _prompt_explanations(m: Any, texts: list[str], z: np.ndarray, top: int) -> list[dict[str, Any]]:
    """The predicted class's nearest prompt first, then the other classes' nearest prompts by class score."""
    out = []
    heard = [i for i, t in enumerate(texts) if t.strip()]
    sims = np.zeros((len(texts), len(m.prompts_)), dtype=np.float32)
    if heard and len(m.prompts_):
        V = l2_normalize(m.text_encoder_.encode([texts[i] for i in heard]))
        sims[heard] = V @ m.prompt_vectors_.T
    for i in range(len(texts)):
        order = np.argsort(-z[i], kind="stable")[: max(1, int(top))]
        prompts = []
        for k in order:
            idx = np.flatnonzero(m.prompt_labels_ == k)
            if len(idx):
                j = int(idx[np.argmax(sims[i, idx])])
                prompts.append({"prompt": m.prompts_[j], "class": str(m.classes_[k]), "similarity": float(sims[i, j])})
        out.append({"label": str(m.classes_[order[0]]), "transcript": texts[i], "prompts": prompts})
    return out


class WhisperFusedClassifier(_FormsMixin, WhisperTextClassifier):
    """Candidate scoring and transcript similarity on one encoder pass, mixed per clip by how likely the clip says a
    class form at all (see the module docstring).

    Parameters
    ----------
    gate_center : float
        Where both routes weigh equally: the natural log of the probability that the clip's whole transcript is one
        of the class forms (-16, chosen by leave-one-set-out on the dev sets; docs/benchmarks.md, "Speech").
    gate_width : float
        Softness of the gate: ``g = sigmoid((log P(any form) - gate_center) / gate_width)``.
    aggregate, temperature
        As :class:`WhisperClassifier`.
    logit_scale, compute_type, window, batch_size
        As :class:`WhisperTextClassifier`.
    """

    _state_attrs = WhisperTextClassifier._state_attrs + ("forms_",)  # (the head's arrays come with the text ones)

    def __init__(self, gate_center: float = -16.0, gate_width: float = 2.0, aggregate: str = "logsumexp",
                 temperature: float = 1.0, logit_scale: float | None = None, compute_type: str = "int8",
                 window: str | float = "auto", batch_size: int = 16) -> None:
        self.gate_center = gate_center
        self.gate_width = gate_width
        self.aggregate = aggregate
        self.temperature = temperature
        self.logit_scale = logit_scale
        self.compute_type = compute_type
        self.window = window
        self.batch_size = batch_size

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(reads_labels=True)

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> WhisperFusedClassifier:
        """The class forms (candidate route) and the class vectors with the text encoder (transcript route)."""
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        self._fit_text(ctx, ce)
        self._fit_forms(ctx, [str(c) for c in ce.classes])
        if not float(self.gate_width) > 0:
            raise InputError(f"gate_width must be > 0, got {self.gate_width!r}")
        self._fit_head(X, y)
        return self

    def _routes(self, clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
        """(form log-probs per class, text logits, gate, transcripts, form scores)."""
        res = self._run(clips, transcribe=True, forms=True)
        lp = self._class_log_probs(res["scores"])
        texts = res["transcripts"]
        zt = self._text_logits(texts)
        total = _logsumexp(lp, axis=1)
        gate = 1.0 / (1.0 + np.exp(-np.clip((total - float(self.gate_center)) / float(self.gate_width), -50, 50)))
        return lp, zt, gate, texts, res["scores"]

    def _mix(self, lp: np.ndarray, zt: np.ndarray, gate: np.ndarray) -> np.ndarray:
        from .._util import softmax

        p_forms = softmax(lp / float(self.temperature), axis=1)
        p_text = softmax(zt.astype(np.float64), axis=1)
        p = gate[:, None] * p_forms + (1.0 - gate[:, None]) * p_text
        return np.log(np.maximum(p, 1e-300)).astype(np.float32)

    def _logits(self, clips: list[np.ndarray]) -> np.ndarray:
        lp, zt, gate, _, _ = self._routes(clips)
        self._last_gate = gate
        return self._with_head(self._mix(lp, zt, gate), clips)

    def batch_info(self) -> dict[str, Any] | None:
        """How the last batch was routed: clips decided by the spoken forms (gate >= 0.5) and by the transcript."""
        gate = getattr(self, "_last_gate", None)
        if gate is None or not len(gate):
            return None
        n_forms = int((gate >= 0.5).sum())
        return {"step": "route", "form_weight_mean": round(float(gate.mean()), 4), "n_forms": n_forms,
                "n_transcript": int(len(gate) - n_forms),
                "gate": {"center": float(self.gate_center), "width": float(self.gate_width)},
                "why": f"{n_forms} of {len(gate)} clips are likely to say a class's name or alias as their whole "
                       "transcript and were decided mostly by those forms; the others by their transcript's similarity "
                       "to the class prompts"}

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per clip: the transcript, the gate (``form_weight``), each class's best form and nearest prompt."""
        clips = self._check_clips(X)
        lp, zt, gate, texts, scores = self._routes(clips)
        z = _lead(self._with_head(self._mix(lp, zt, gate), clips), classes)
        forms = _form_explanations(self.classes_, z, self._best_forms(scores), texts, top)
        prompts = _prompt_explanations(self, texts, z, top)
        for f, p, g in zip(forms, prompts, gate):
            f["prompts"] = p["prompts"]
            f["form_weight"] = round(float(g), 4)
        return forms
