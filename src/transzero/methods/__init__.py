"""Scoring methods (scikit-learn estimators over vectors) and their name registry.

The registry (:mod:`.registry`) and the tags (:mod:`.tags`) import nothing heavy; the
estimator classes are imported on first access (``transzero.methods.ESZSLClassifier``).
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import (
    METHODS,
    MethodInfo,
    create_method,
    curve_methods,
    list_methods,
    method_class,
    method_info,
    method_name,
    methods_help,
    register_method,
    unregister_method,
)
from .tags import FitContext, MethodTags, get_tags

_CLASSES = {
    "ZeroShotMethod": "base",
    "SimilarityClassifier": "zeroshot", "KNNClassifier": "fewshot",
    "ConceptHead": "concept_head", "ConceptBridge": "conse", "ConSEClassifier": "conse",
    "WordNetClassifier": "wordnet",
    "FewShotMethod": "fewshot", "PrototypeClassifier": "fewshot", "LinearProbeClassifier": "fewshot",
    "ZeroShotLinearClassifier": "fewshot", "TipAdapterClassifier": "fewshot", "TipAdapterFClassifier": "fewshot",
    "FineTuneClassifier": "finetune",
    "SemanticMethod": "semantic", "DAPClassifier": "semantic", "ESZSLClassifier": "semantic", "SAEClassifier": "semantic",
    "BilinearCompatibility": "compatibility", "DeViSEClassifier": "compatibility", "ALEClassifier": "compatibility",
    "SJEClassifier": "compatibility",
    "ASRGrammarClassifier": "asr", "ASRTextClassifier": "asr",
}

__all__ = [
    "METHODS", "ZSL_METHODS", "FitContext", "MethodInfo", "MethodTags", "create_method", "curve_methods", "get_tags",
    "list_methods", "method_class", "method_info", "method_name", "methods_help", "register_method",
    "unregister_method", *_CLASSES,
]


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)
    if name == "ZSL_METHODS":  # methods trainable on seen classes, evaluated on unseen ones (their tags say so)
        return [n for n in METHODS if get_tags(METHODS[n]).seen_classes]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
