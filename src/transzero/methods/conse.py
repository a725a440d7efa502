"""ConSE: convex combination of semantic embeddings (Norouzi et al., ICLR 2014).

An image classifier trained on source concepts (ImageNet-1k) predicts concept
probabilities ``p(c|x)``; the image is mapped into a text space as the convex combination
of its top-``T`` concepts' text embeddings, weighted by those probabilities, and scored by
cosine against the target class prompts embedded in the same text space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize, label_indices, softmax
from ..errors import InputError
from ..labels import ClassEmbeddings
from .base import ZeroShotMethod
from .concept_head import ConceptHead
from .tags import FitContext, MethodTags

__all__ = ["ConSEClassifier", "ConceptBridge", "ConceptHead"]


class ConceptBridge(ZeroShotMethod):
    """Base of methods that read an encoder's concept head (``fit(..., concept_head=)``)."""

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(concept_head=True, explains=True, one_space=False,
                                                    context=frozenset({"concept_head"}))
    _state_attrs = ZeroShotMethod._state_attrs + ("head_weight_", "head_bias_", "concept_names_")

    def _fit_head(self, concept_head: ConceptHead | None, name: str) -> ConceptHead:
        if concept_head is None:
            raise InputError(f"method {name!r} needs an encoder with a concept head (e.g. efficientnet-lite0)")
        self.head_weight_ = concept_head.weight
        self.head_bias_ = concept_head.bias
        self.concept_names_ = list(concept_head.concept_names)
        self.n_features_in_ = int(self.head_weight_.shape[1])
        return concept_head

    def concept_proba(self, X: np.ndarray) -> np.ndarray:
        """Source-concept probabilities ``(N, C)`` of item features."""
        return softmax((X @ self.head_weight_.T + self.head_bias_).astype(np.float64), axis=1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(N, K)`` from raw item features (not L2-normalised: the head needs them as they are)."""
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        return self._logits(self._check_X(X))


class ConSEClassifier(ConceptBridge):
    """ConSE over an encoder's concept head, or over a classifier of the seen classes.

    Without training examples the source concepts are the encoder's own (ImageNet-1k for
    ``efficientnet-lite0``). Given ``fit(X, y)`` (classical zero-shot learning), a softmax
    classifier of the seen classes is trained on ``X`` and the seen classes are the source
    concepts, their semantics the concept vectors: the paper's own setting.

    Parameters
    ----------
    top_t : int
        Concepts combined per item (the paper's ``T``; 10 is its usual choice).
    logit_scale : float, optional
        Scale ``s`` of ``softmax(s * cos)``; default: the text encoder's scale.
    C : float
        Inverse L2 strength of the seen-class softmax classifier (when fitted on examples).
    gamma : float
        Calibrated stacking: subtracted from the seen classes' logits (when fitted on examples).
    """

    _state_attrs = ConceptBridge._state_attrs + ("class_vectors_", "concept_vectors_", "seen_", "normalize_")

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        # fitted on seen classes' examples it needs no concept head: the seen classes are its concepts
        return super().__transzero_tags__().replace(learns_from_labels=True, seen_classes=True)

    def __init__(self, top_t: int = 10, logit_scale: float | None = None, C: float = 1.0, gamma: float = 0.0) -> None:
        self.top_t = top_t
        self.logit_scale = logit_scale
        self.C = C
        self.gamma = gamma

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> ConSEClassifier:
        """Store the class vectors and the concept head (required unless fitted on seen classes' examples)."""
        if int(self.top_t) < 1:
            raise InputError(f"top_t must be >= 1, got {self.top_t}")
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        concept_head = ctx.concept_head
        self.seen_ = np.zeros(len(ce.classes), dtype=bool)
        self.normalize_ = False
        if y is not None:  # classical ZSL: the seen classes are the source concepts
            concept_head = self._seen_head(X, y, ce)
            self.normalize_ = True
        head = self._fit_head(concept_head, "conse")
        if head.concept_vectors.shape[1] != ce.vectors.shape[1]:
            raise InputError("concept and class vectors come from different text encoders; use one label encoder")
        self.class_vectors_ = l2_normalize(ce.vectors)
        self.concept_vectors_ = head.concept_vectors
        return self

    def _seen_head(self, X: Any, y: Any, ce: ClassEmbeddings) -> ConceptHead:
        from sklearn.linear_model import LogisticRegression

        from .semantic import validate_training

        if X is None:
            raise InputError("conse fitted on labels needs their features too: fit(X, y)")
        X, y = validate_training(X, y)
        yi = label_indices(ce.classes, y, what="training example", problem="is not in the label space",
                           fix="add it with its semantics")
        seen = np.unique(yi)
        if len(seen) < 2:
            raise InputError(f"conse needs examples of at least 2 seen classes, got {len(seen)}")
        self.seen_[seen] = True
        lr = LogisticRegression(C=float(self.C), max_iter=300).fit(l2_normalize(X), yi)
        return ConceptHead(lr.coef_, lr.intercept_, ce.vectors[lr.classes_], [ce.classes[k] for k in lr.classes_])

    def concept_proba(self, X: np.ndarray) -> np.ndarray:
        """Source-concept probabilities ``(N, C)`` of item features."""
        return super().concept_proba(l2_normalize(X) if getattr(self, "normalize_", False) else X)

    def _top_concepts(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.concept_proba(X)
        t = min(int(self.top_t), p.shape[1])
        top = np.argpartition(-p, t - 1, axis=1)[:, :t]
        w = np.take_along_axis(p, top, axis=1)
        order = np.argsort(-w, axis=1)
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(w, order, axis=1)

    def embed(self, X: Any) -> np.ndarray:
        """Items mapped into the text space: ``sum_t p_t s(c_t) / sum_t p_t`` (unit-normalised)."""
        top, w = self._top_concepts(self._check_X(X))
        emb = np.einsum("nt,ntd->nd", w / w.sum(1, keepdims=True), self.concept_vectors_[top])
        return l2_normalize(emb)

    def _logits(self, X: np.ndarray) -> np.ndarray:
        z = (self.logit_scale_ * (self.embed(X) @ self.class_vectors_.T)).astype(np.float32)
        if getattr(self, "seen_", None) is not None and self.gamma:
            z[:, self.seen_] -= float(self.gamma)
        return z

    def scores(self, X: Any) -> np.ndarray:
        """Logits over all classes before calibrated stacking (for GZSL evaluation)."""
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        return (self.logit_scale_ * (self.embed(self._check_X(X)) @ self.class_vectors_.T)).astype(np.float64)

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per item: the predicted class (or ``classes[i]``, a class index) and the source concepts (with
        weights) that produced its score.

        Each concept's ``contribution`` is its share of the class's cosine:
        ``w_t * cos(s(c_t), class) / sum_t w_t`` (they sum to the pre-normalisation score).
        """
        Xc = self._check_X(X)
        tops, ws = self._top_concepts(Xc)
        pred = np.argmax(self._logits(Xc), axis=1) if classes is None else np.asarray(classes, dtype=np.int64)
        out = []
        for i in range(len(Xc)):
            k = int(pred[i])
            wn = ws[i] / ws[i].sum()
            contrib = wn * (self.concept_vectors_[tops[i]] @ self.class_vectors_[k])
            items = [
                {"concept": self.concept_names_[c], "probability": float(ws[i, j]), "contribution": float(contrib[j])}
                for j, c in enumerate(tops[i][:top])
            ]
            out.append({"label": str(self.classes_[k]), "concepts": items})
        return out
