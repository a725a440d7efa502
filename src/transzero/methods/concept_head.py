"""``ConceptHead``: what the concept bridges (``conse``, ``wordnet``, the few-shot priors) read from an encoder."""

from __future__ import annotations

import numpy as np

from .._util import l2_normalize

__all__ = ["ConceptHead"]


class ConceptHead:
    """What a concept-based bridge needs from an encoder: the head and the concepts' text vectors.

    Parameters
    ----------
    weight, bias : ndarray
        ``logits = X @ weight.T + bias`` (C concepts).
    concept_vectors : ndarray (C, D_text)
        Unit text embedding of each concept (prompt ensemble).
    concept_names : list of str
    concept_ids : list of str, optional
        WordNet ids of the concepts (for the WordNet bridge).
    """

    def __init__(
        self,
        weight: np.ndarray,
        bias: np.ndarray,
        concept_vectors: np.ndarray,
        concept_names: list[str],
        concept_ids: list[str | None] | None = None,
    ) -> None:
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.concept_vectors = l2_normalize(concept_vectors)
        self.concept_names = list(concept_names)
        self.concept_ids = list(concept_ids) if concept_ids is not None else None
