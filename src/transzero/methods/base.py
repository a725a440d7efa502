"""Base class of scoring methods: scikit-learn estimators over item vectors.

A method sees vectors only. Its ``fit`` takes optional labelled vectors ``X, y`` and one
:class:`~transzero.methods.tags.FitContext` (``context=``; ``class_embeddings=`` and the other
context fields may be given as keywords instead); what it needs from that context it declares
in its :class:`~transzero.methods.tags.MethodTags` (``__transzero_tags__``); ``predict``,
``predict_proba`` and ``decision_function`` take item vectors ``(N, D)``. Learned state
ends in ``_``; the constructor only stores its arguments, so ``clone``, ``get_params``
and grid search work. :meth:`get_state` / :meth:`set_state` (JSON + arrays) are what
saving uses: no pickle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._estimator import ClassifierEstimator, check_fitted
from .._util import l2_normalize, softmax
from ..errors import InputError
from ..labels import ClassEmbeddings
from .tags import FitContext, MethodTags

if TYPE_CHECKING:  # pragma: no cover
    from ..persistence import ModelFolder


class ZeroShotMethod(ClassifierEstimator):
    """Common machinery: input checks, softmax, argmax, state (de)serialisation."""

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        """What this method needs (see :class:`~transzero.methods.tags.MethodTags`); subclasses extend it."""
        return MethodTags()

    @property
    def learns_from_labels(self) -> bool:
        """True when ``fit`` can use labelled examples (few-shot); False: zero-shot only."""
        return type(self).__transzero_tags__().learns_from_labels
    #: learned attributes saved by :meth:`get_state` (arrays go to .npy, the rest to JSON)
    _state_attrs: tuple[str, ...] = ("classes_", "n_features_in_", "logit_scale_")

    def _check_X(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise InputError(f"expected item vectors of shape (n_items, dim), got shape {X.shape}")
        if hasattr(self, "n_features_in_") and X.shape[1] != self.n_features_in_:
            raise InputError(
                f"item vectors have {X.shape[1]} dims but the class vectors have {self.n_features_in_}; "
                "encode items and labels with the same encoder"
            )
        if not np.all(np.isfinite(X)):
            raise InputError("item vectors contain NaN or infinity")
        return X

    def _fit_common(self, context: FitContext, y: Any) -> ClassEmbeddings:
        class_embeddings = context.class_embeddings
        if class_embeddings is None:
            raise InputError(f"{type(self).__name__}.fit needs class_embeddings= (from LabelSpace.embed)")
        if y is not None and not self.learns_from_labels:
            raise InputError(
                f"method {type(self).__name__} is zero-shot and does not learn from labelled examples; "
                "use method='knn' to add labelled examples"
            )
        self.classes_ = np.asarray(class_embeddings.classes, dtype=object)
        self.n_features_in_ = int(class_embeddings.vectors.shape[1])
        scale = getattr(self, "logit_scale", None)
        self.logit_scale_ = float(scale if scale is not None else context.default_logit_scale)
        return class_embeddings

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(N, K)``: scaled similarities, before the softmax."""
        check_fitted(self, "classes_")
        return self._logits(l2_normalize(self._check_X(X)))

    def _logits(self, Xn: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def batch_info(self) -> dict[str, Any] | None:
        """What the method decided for the last batch it scored (e.g. which route a speech method took), for
        reports (the eval JSON's ``method_decisions``); None when it decides nothing worth saying."""
        return None

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)``, rows sum to 1, columns ordered as ``classes_``."""
        return softmax(self.decision_function(X).astype(np.float64), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class name of each item."""
        logits = self.decision_function(X)
        return self.classes_[np.argmax(logits, axis=1)]

    # ------------------------------------------------------------------ state
    def save_config(self, folder: ModelFolder, prefix: str = "method.") -> dict[str, Any]:
        """This method's part of a saved classifier: name, parameters, learned state (arrays as files)."""
        from .registry import method_name

        meta, arrays = self.get_state()
        return {"name": method_name(self), "params": self.get_params(), "state": meta,
                "arrays": {k: folder.save_array(f"{prefix}{k}", v) for k, v in arrays.items()}}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state as (JSON-able dict, arrays) for saving without pickle."""
        check_fitted(self, "classes_")
        meta: dict[str, Any] = {}
        arrays: dict[str, np.ndarray] = {}
        for a in self._state_attrs:
            v = getattr(self, a)
            if a == "classes_":
                meta[a] = [str(c) for c in v]
            elif isinstance(v, np.ndarray):
                arrays[a] = v
            else:
                meta[a] = v
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ZeroShotMethod:
        """Restore what :meth:`get_state` returned."""
        for a in self._state_attrs:
            if a == "classes_":
                self.classes_ = np.asarray(meta[a], dtype=object)
            elif a in arrays:
                setattr(self, a, arrays[a])
            else:
                setattr(self, a, meta[a])
        return self
