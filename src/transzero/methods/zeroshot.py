"""Zero-shot methods scoring item vectors against class vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError
from ..labels import ClassEmbeddings
from .base import ZeroShotMethod

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

    def fit(
        self,
        X: Any = None,
        y: Any = None,
        *,
        class_embeddings: ClassEmbeddings | None = None,
        default_logit_scale: float = 20.0,
    ) -> SimilarityClassifier:
        """Store the class vectors. ``X`` is ignored (zero-shot); ``y`` is refused."""
        ce = self._fit_common(class_embeddings, y, default_logit_scale)
        self.class_vectors_ = l2_normalize(ce.vectors)
        return self

    def _logits(self, Xn: np.ndarray) -> np.ndarray:
        return self.logit_scale_ * (Xn @ self.class_vectors_.T)


class KNNClassifier(ZeroShotMethod):
    """k nearest neighbours among the class *prompts* (and labelled examples, if given).

    Each item's ``n_neighbors`` most similar prompt vectors vote for their class with
    weight ``exp(s * cos)``; a class's logit is the log of its total vote (classes with no
    vote get the log of a tiny floor). Labelled examples passed to ``fit`` join the bank,
    so the same object does zero-shot and few-shot.

    Parameters
    ----------
    n_neighbors : int
    logit_scale : float, optional
        See :class:`SimilarityClassifier`.
    """

    learns_from_labels = True
    _state_attrs = ZeroShotMethod._state_attrs + ("bank_vectors_", "bank_labels_")

    def __init__(self, n_neighbors: int = 5, logit_scale: float | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.logit_scale = logit_scale

    def fit(
        self,
        X: Any = None,
        y: Any = None,
        *,
        class_embeddings: ClassEmbeddings | None = None,
        default_logit_scale: float = 20.0,
    ) -> KNNClassifier:
        """Build the neighbour bank from the class prompts plus labelled ``(X, y)``."""
        if int(self.n_neighbors) < 1:
            raise InputError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        ce = self._fit_common(class_embeddings, y, default_logit_scale)
        bank = [l2_normalize(ce.prompt_vectors)]
        labels = [np.asarray(ce.prompt_labels, dtype=np.int64)]
        if X is not None or y is not None:
            if X is None or y is None:
                raise InputError("give both X and y to add labelled examples, or neither")
            Xs = l2_normalize(self._check_X(X))
            index = {c: i for i, c in enumerate(self.classes_)}
            ys = []
            for i, label in enumerate(np.asarray(y, dtype=object)):
                if label not in index:
                    raise InputError(f"example {i}: label {label!r} is not one of the classes; add it to the labels")
                ys.append(index[label])
            if len(ys) != len(Xs):
                raise InputError(f"{len(Xs)} examples but {len(ys)} labels; they must match")
            bank.append(Xs)
            labels.append(np.asarray(ys, dtype=np.int64))
        self.bank_vectors_ = np.concatenate(bank).astype(np.float32)
        self.bank_labels_ = np.concatenate(labels)
        return self

    def _logits(self, Xn: np.ndarray) -> np.ndarray:
        sims = Xn @ self.bank_vectors_.T
        k = min(int(self.n_neighbors), sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        # log-sum-exp of each class's neighbour logits; stable and exact
        z = self.logit_scale_ * top_sims
        zmax = z.max(axis=1, keepdims=True)
        w = np.exp(z - zmax)
        votes = np.zeros((Xn.shape[0], len(self.classes_)), dtype=np.float64)
        rows = np.repeat(np.arange(Xn.shape[0]), k)
        np.add.at(votes, (rows, self.bank_labels_[top].ravel()), w.ravel())
        return (np.log(np.maximum(votes, 1e-12)) + zmax).astype(np.float32)
