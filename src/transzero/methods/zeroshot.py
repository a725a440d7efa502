"""Zero-shot methods scoring item vectors against class vectors.

``KNNClassifier`` (``knn``) lives with the few-shot methods (:mod:`.fewshot`); it is re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize
from .base import ZeroShotMethod
from .fewshot import KNNClassifier
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
