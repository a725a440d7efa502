"""Scoring methods (scikit-learn estimators over vectors) and their name registry."""

from __future__ import annotations

from typing import Any

from ..errors import TranszeroError
from .base import ZeroShotMethod
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
}

__all__ = [
    "METHODS", "ConceptHead", "ConSEClassifier", "FewShotMethod", "FineTuneClassifier", "KNNClassifier", "LinearProbeClassifier",
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
