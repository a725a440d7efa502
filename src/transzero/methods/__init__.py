"""Scoring methods (scikit-learn estimators over vectors) and their name registry."""

from __future__ import annotations

from typing import Any

from ..errors import TranszeroError
from .base import ZeroShotMethod
from .asr import ASRGrammarClassifier, ASRTextClassifier
from .compatibility import ALEClassifier, BilinearCompatibility, DeViSEClassifier, SJEClassifier
from .conse import ConceptHead, ConSEClassifier
from .fewshot import (
    FewShotMethod,
    LinearProbeClassifier,
    PrototypeClassifier,
    TipAdapterClassifier,
    TipAdapterFClassifier,
    ZeroShotLinearClassifier,
)
from .finetune import FineTuneClassifier
from .semantic import DAPClassifier, ESZSLClassifier, SAEClassifier, SemanticMethod
from .wordnet import WordNetClassifier
from .zeroshot import KNNClassifier, SimilarityClassifier

METHODS: dict[str, type[ZeroShotMethod]] = {
    "similarity": SimilarityClassifier,
    "knn": KNNClassifier,
    "conse": ConSEClassifier,
    "wordnet": WordNetClassifier,
    "prototype": PrototypeClassifier,
    "linear": LinearProbeClassifier,
    "zs-linear": ZeroShotLinearClassifier,
    "tip-adapter": TipAdapterClassifier,
    "tip-adapter-f": TipAdapterFClassifier,
    "finetune": FineTuneClassifier,
    "dap": DAPClassifier,
    "eszsl": ESZSLClassifier,
    "sae": SAEClassifier,
    "devise": DeViSEClassifier,
    "ale": ALEClassifier,
    "sje": SJEClassifier,
    "asr-grammar": ASRGrammarClassifier,
    "asr-text": ASRTextClassifier,
}

#: methods that learn a map between item features and class semantics on seen classes (classical ZSL)
ZSL_METHODS = ["dap", "eszsl", "sae", "devise", "ale", "sje", "conse"]

__all__ = [
    "METHODS", "ZSL_METHODS", "ASRGrammarClassifier", "ASRTextClassifier", "ALEClassifier", "BilinearCompatibility", "DAPClassifier", "DeViSEClassifier", "ESZSLClassifier",
    "SAEClassifier", "SJEClassifier", "SemanticMethod", "ConceptHead", "ConSEClassifier", "FewShotMethod", "FineTuneClassifier", "KNNClassifier", "LinearProbeClassifier",
    "PrototypeClassifier", "SimilarityClassifier", "TipAdapterClassifier", "TipAdapterFClassifier", "WordNetClassifier",
    "ZeroShotLinearClassifier", "ZeroShotMethod", "create_method", "list_methods",
]


def list_methods() -> list[str]:
    """Method names accepted by :func:`create_method` and ``--method``."""
    return sorted(METHODS)


def create_method(name: str, **params: Any) -> ZeroShotMethod:
    """A method estimator by name, with constructor parameters."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise TranszeroError(f"unknown method {name!r}; choose one of {', '.join(list_methods())}") from None
    return cls(**params)
