"""transzero: classify items into classes nobody labelled, standing on pretrained encoders.

>>> from transzero import ZeroShotClassifier
>>> clf = ZeroShotClassifier(["sports", "politics", "technology"]).fit()   # doctest: +SKIP
>>> clf.predict(["The new phone has a faster chip."])                     # doctest: +SKIP
array(['technology'], dtype=object)
"""

from __future__ import annotations

from .classifier import BatchPredictions, ZeroShotClassifier, load_classifier
from .encoders import Encoder, create_encoder, encoder_info, list_encoders
from .errors import TranszeroError
from .labels import ClassEmbeddings, LabelSpace
from .methods import KNNClassifier, SimilarityClassifier, create_method, list_methods
from .multitask import MultiTaskClassifier
from .store import EmbeddingCache

__version__ = "0.1.0"

__all__ = [
    "BatchPredictions",
    "ClassEmbeddings",
    "EmbeddingCache",
    "Encoder",
    "KNNClassifier",
    "LabelSpace",
    "MultiTaskClassifier",
    "SimilarityClassifier",
    "TranszeroError",
    "ZeroShotClassifier",
    "__version__",
    "create_encoder",
    "create_method",
    "encoder_info",
    "list_encoders",
    "list_methods",
    "load_classifier",
]
