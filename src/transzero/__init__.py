"""transzero: classify items into classes nobody labelled, standing on pretrained encoders.

>>> from transzero import ZeroShotClassifier
>>> clf = ZeroShotClassifier(["sports", "politics", "technology"]).fit()   # doctest: +SKIP
>>> clf.predict(["The new phone has a faster chip."])                     # doctest: +SKIP
array(['technology'], dtype=object)

The names below are imported on first use, so ``import transzero`` (and the CLI's ``--help``)
does not pay for scikit-learn, torch or onnxruntime.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Nothing reaches the network: ONNX Runtime >= 1.29 uploads telemetry on Linux unless this is set before it
# initialises (its documented opt-out; every session transzero makes is created after this import). A value the
# user set explicitly is kept.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# registers the engines beyond this process (`--engine ray`) with the pipeline by name; light: Ray loads on use
from . import engines as engines  # noqa: E402

_EXPORTS = {
    "BatchPredictions": "predictions",
    "ClassifierHead": "head",
    "ClassEmbeddings": "labels",
    "EmbeddingCache": "store",
    "Encoder": "encoders",
    "KNNClassifier": "methods",
    "LabelSpace": "labels",
    "MultiTaskClassifier": "multitask",
    "Predictions": "predictions",
    "SimilarityClassifier": "methods",
    "TranszeroError": "errors",
    "ZeroShotClassifier": "classifier",
    "create_encoder": "encoders",
    "create_method": "methods",
    "detect_language": "language",
    "encoder_info": "encoders",
    "list_encoders": "encoders",
    "list_methods": "methods",
    "load_classifier": "saved",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from .classifier import ZeroShotClassifier
    from .head import ClassifierHead
    from .predictions import BatchPredictions, Predictions
    from .encoders import Encoder, create_encoder, encoder_info, list_encoders
    from .errors import TranszeroError
    from .labels import ClassEmbeddings, LabelSpace
    from .language import detect_language
    from .methods import KNNClassifier, SimilarityClassifier, create_method, list_methods
    from .multitask import MultiTaskClassifier
    from .saved import load_classifier
    from .store import EmbeddingCache


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
