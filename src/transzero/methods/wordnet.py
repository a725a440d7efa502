"""WordNet hierarchy bridge: concept probabilities summed into target classes via hypernyms.

For a target class that is a WordNet noun (a word, a synset name or a WordNet id), its
score is the probability mass of the source concepts (ImageNet-1k synsets) that are the
class's synset or one of its hyponyms. Classes that are not WordNet nouns, or that cover
no source concept, fall back to text similarity: their ``fallback_k`` most similar concepts
(by the cosine of class and concept text embeddings) with softmax weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import softmax

from ..errors import InputError
from ..labels import ClassEmbeddings
from .conse import ConceptBridge, ConceptHead

__all__ = ["WordNetClassifier"]


class WordNetClassifier(ConceptBridge):
    """Sum of source-concept probabilities under each target class in the WordNet graph.

    Parameters
    ----------
    fallback_k : int
        Concepts used for classes that WordNet cannot place.
    fallback_scale : float
        Softmax scale of the fallback's cosine weights.
    """

    _state_attrs = ConceptBridge._state_attrs + ("aggregation_", "fallback_classes_")

    def __init__(self, fallback_k: int = 5, fallback_scale: float = 20.0) -> None:
        self.fallback_k = fallback_k
        self.fallback_scale = fallback_scale

    def fit(
        self,
        X: Any = None,
        y: Any = None,
        *,
        class_embeddings: ClassEmbeddings | None = None,
        default_logit_scale: float = 20.0,
        concept_head: ConceptHead | None = None,
    ) -> WordNetClassifier:
        """Build the (classes x concepts) aggregation matrix from WordNet (``concept_head=`` required)."""
        from ..wordnet import load_wordnet, synset_for

        ce = self._fit_common(class_embeddings, y, default_logit_scale)
        concept_head = self._fit_head(concept_head, "wordnet")
        if concept_head.concept_ids is None or not any(concept_head.concept_ids):
            raise InputError("method 'wordnet' needs an encoder whose concepts are WordNet synsets (e.g. efficientnet-lite0)")
        wn = load_wordnet()
        concept_synsets = [synset_for(wn, cid) if cid else None for cid in concept_head.concept_ids]
        # every hypernym (transitively) of each concept, for "is c under class y?"
        ancestors = [
            ({s} | set(s.closure(lambda t: t.hypernyms() + t.instance_hypernyms()))) if s is not None else set()
            for s in concept_synsets
        ]
        K, C = len(ce.classes), len(concept_synsets)
        A = np.zeros((K, C), dtype=np.float32)
        fallback = []
        for k, name in enumerate(ce.classes):
            target = synset_for(wn, name)
            if target is not None:
                A[k] = [1.0 if target in anc else 0.0 for anc in ancestors]
            if not A[k].any():
                sims = concept_head.concept_vectors @ ce.vectors[k]
                top = np.argsort(-sims)[: int(self.fallback_k)]
                A[k, top] = softmax(self.fallback_scale * sims[top])
                fallback.append(str(name))
        self.aggregation_ = A
        self.fallback_classes_ = fallback
        return self

    def _scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.concept_proba(X)
        return p, p @ self.aggregation_.T.astype(np.float64)

    def _logits(self, X: np.ndarray) -> np.ndarray:
        """Log of each class's concept-probability mass."""
        _, s = self._scores(X)
        return np.log(np.maximum(s, 1e-12)).astype(np.float32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class masses renormalised over the target classes."""
        s = np.exp(self.decision_function(X).astype(np.float64))
        return s / s.sum(axis=1, keepdims=True)

    def explain(self, X: Any, top: int = 5) -> list[dict[str, Any]]:
        """Per item: the predicted class and the concepts whose probability flowed into it."""
        p, s = self._scores(self._check_X(X))
        out = []
        for i in range(len(p)):
            k = int(np.argmax(s[i]))
            contrib = p[i] * self.aggregation_[k]
            order = np.argsort(-contrib)[:top]
            out.append({
                "label": str(self.classes_[k]),
                "via": "text similarity (not a WordNet noun)" if str(self.classes_[k]) in self.fallback_classes_ else "WordNet hyponyms",
                "concepts": [{"concept": self.concept_names_[c], "probability": float(p[i, c]), "contribution": float(contrib[c])}
                             for c in order if contrib[c] > 0],
            })
        return out
