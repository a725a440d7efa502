"""Zero-shot methods scoring item vectors against class vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError
from .base import ZeroShotMethod
from .fewshot import FewShotMethod
from .tags import FitContext

__all__ = ["SimilarityClassifier", "KNNClassifier"]


class SimilarityClassifier(ZeroShotMethod):
    """``P(y|x) = softmax_y(s * cos(x, c_y))`` over prompt-ensemble class vectors.

    Parameters
    ----------
    logit_scale : float, optional
        The scale ``s`` (inverse temperature). ``None`` uses the encoder's
        ``default_logit_scale`` - the scale its contrastive training used (20 for
        sentence-transformers models, 100 for CLIP and E5), which gives usable probabilities.
    """

    _state_attrs = ZeroShotMethod._state_attrs + ("class_vectors_",)

    def __init__(self, logit_scale: float | None = None) -> None:
        self.logit_scale = logit_scale

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> SimilarityClassifier:
        """Store the class vectors. ``X`` is ignored (zero-shot); ``y`` is refused."""
        ce = self._fit_common(FitContext.build(context, **fields), y)
        self.class_vectors_ = l2_normalize(ce.vectors)
        return self

    def _logits(self, Xn: np.ndarray) -> np.ndarray:
        out = Xn @ self.class_vectors_.T
        out *= self.logit_scale_  # in place: the same numbers as scale * (...) without a second (N, K) array
        return out


class KNNClassifier(FewShotMethod):
    """k nearest neighbours among the class *prompts* and labelled examples.

    Each item's ``n_neighbors`` most similar bank vectors vote for their class with
    weight ``exp(s * cos)``; a class's logit is the log of its total vote (classes with no
    vote get the log of a tiny floor). When items and class descriptions share a space
    (text encoders, CLIP) the bank holds every class prompt plus the labelled examples
    passed to ``fit``, so the same object does zero-shot and few-shot. For backbones
    without a text side (e.g. ``efficientnet-lite0``) the bank is the labelled examples,
    and classes without any stay with the zero-shot prior (see :class:`FewShotMethod`).

    Parameters
    ----------
    n_neighbors : int
    logit_scale : float, optional
        See :class:`SimilarityClassifier`.
    zero_shot : str
        The prior for classes without examples when there are no prompts in the bank.
    index : {"auto", "exact", "ann"}
        Neighbour search over the bank (:func:`transzero.neighbors.knn`; ``auto``: an HNSW index above ~50k).
    """

    _state_attrs = FewShotMethod._state_attrs + ("bank_vectors_", "bank_labels_")

    def __init__(self, n_neighbors: int = 5, logit_scale: float | None = None, zero_shot: str = "auto",
                 index: str = "auto") -> None:
        self.n_neighbors = n_neighbors
        self.logit_scale = logit_scale
        self.zero_shot = zero_shot
        self.index = index

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> KNNClassifier:
        """Build the neighbour bank from the class prompts (when aligned) plus labelled ``(X, y)``."""
        if int(self.n_neighbors) < 1:
            raise InputError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        class_embeddings = ctx.class_embeddings
        assert class_embeddings is not None
        bank: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        if self.aligned_:
            bank.append(l2_normalize(class_embeddings.prompt_vectors))
            labels.append(np.asarray(class_embeddings.prompt_labels, dtype=np.int64))
            self.supported_ = np.ones(len(self.classes_), dtype=bool)  # every class has prompts
        if Xs is not None and ys is not None:
            bank.append(Xs)
            labels.append(ys)
        dim = Xs.shape[1] if Xs is not None else int(class_embeddings.vectors.shape[1])
        self.bank_vectors_ = np.concatenate(bank).astype(np.float32) if bank else np.zeros((0, dim), np.float32)
        self.bank_labels_ = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        return self

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        from ..neighbors import knn

        k = min(int(self.n_neighbors), len(self.bank_vectors_))
        top_sims, top = knn(self.bank_vectors_, k, queries=Xn, index=getattr(self, "index", "auto"))
        top = np.maximum(top, 0)  # (an approximate index may return fewer than k: those get weight ~0 below)
        top_sims = np.where(top_sims > -1.5, top_sims, -1.0)
        # log-sum-exp of each class's neighbour logits; stable and exact
        z = self.logit_scale_ * top_sims
        zmax = z.max(axis=1, keepdims=True)
        w = np.exp(z - zmax)
        votes = np.zeros((Xn.shape[0], len(self.classes_)), dtype=np.float64)
        rows = np.repeat(np.arange(Xn.shape[0]), k)
        np.add.at(votes, (rows, self.bank_labels_[top].ravel()), w.ravel())
        return (np.log(np.maximum(votes, 1e-12)) + zmax).astype(np.float32)
