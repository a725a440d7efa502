"""Multimodal items: one record, several fields (an image and its title, audio and its transcript).

Each field is classified by its own :class:`~transzero.ZeroShotClassifier` over the *same*
classes (zero-shot across modalities goes through the language side: every modality's
classes are described in words). Two ways to combine them:

late fusion (default)
    Weighted log-linear pooling of the per-field class probabilities:
    ``log p(k|x) = sum_f w_f log p_f(k|x_f) / sum_f w_f + const`` over the fields *present*
    in the record. A record missing a field is scored with what it has, and the result says
    which fields were missing; a record with no usable field is an error for that row.
early fusion (few-shot)
    The fields' L2-normalised embeddings are concatenated (a missing field contributes
    zeros) and a logistic-regression head is fitted on labelled records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._util import l2_normalize, label_indices, softmax
from .classifier import ZeroShotClassifier
from .errors import InputError
from .predictions import Predictions

__all__ = ["MultiModalClassifier", "MultiModalPredictions", "late_fusion"]


def late_fusion(log_probas: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Weighted log-linear pooling of per-field probabilities (rows with NaN for a field skip that field).

    Returns probabilities ``(N, K)``; a row where every field is NaN stays NaN.
    """
    names = list(log_probas)
    if not names:
        raise InputError("late fusion needs at least one field")
    N, K = next(iter(log_probas.values())).shape
    total = np.zeros((N, K))
    wsum = np.zeros((N, 1))
    for f in names:
        L = np.asarray(log_probas[f], dtype=np.float64)
        if L.shape != (N, K):
            raise InputError(f"field {f!r}: probabilities of shape {L.shape}, expected {(N, K)}")
        w = float((weights or {}).get(f, 1.0))
        if w < 0:
            raise InputError(f"fusion weight of {f!r} must be >= 0, got {w}")
        ok = np.all(np.isfinite(L), axis=1, keepdims=True)
        total += np.where(ok, w * np.nan_to_num(L, neginf=-1e300), 0.0)
        wsum += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = softmax(total / wsum, axis=1)
    P[wsum[:, 0] == 0] = np.nan
    return P


@dataclass
class MultiModalPredictions:
    """Fused predictions of records: labels, probabilities, per-field probabilities, what was missing."""

    labels: list[str | None]
    proba: np.ndarray
    classes: list[str]
    errors: dict[int, str] = field(default_factory=dict)
    #: row -> fields that were absent or unusable (the row was scored with the others)
    missing: dict[int, list[str]] = field(default_factory=dict)
    #: row -> per-field problems ("image: file is empty") for fields that were given but bad
    field_errors: dict[int, list[str]] = field(default_factory=dict)
    per_field: dict[str, np.ndarray] = field(default_factory=dict)


class MultiModalClassifier:
    """Classify records with several fields, one classifier per field, fused late or early.

    Parameters
    ----------
    classifiers : mapping field -> ZeroShotClassifier
        One (unfitted or fitted) classifier per field, all over the same class names.
    weights : mapping field -> float, optional
        Late-fusion weights (default 1 each).
    fusion : {"late", "early"}
        ``early`` needs labelled records in :meth:`fit`.
    C : float
        Inverse regularisation of the early-fusion head.

    Examples
    --------
    >>> mm = MultiModalClassifier({"image": ZeroShotClassifier(labels, encoder="efficientnet-lite0", method="wordnet"),
    ...                            "text": ZeroShotClassifier(labels)}).fit()               # doctest: +SKIP
    >>> mm.predict([{"image": "cat.jpg", "text": "my cat sleeping"}])                       # doctest: +SKIP
    """

    def __init__(self, classifiers: Mapping[str, ZeroShotClassifier], weights: Mapping[str, float] | None = None,
                 fusion: str = "late", C: float = 1.0) -> None:
        self.classifiers = dict(classifiers)
        self.weights = dict(weights or {})
        self.fusion = fusion
        self.C = C

    def fit(self, X: Sequence[Mapping[str, Any]] | None = None, y: Sequence[Any] | None = None) -> MultiModalClassifier:
        """Fit every field's classifier (zero-shot: no data); with ``fusion="early"``, the head on labelled records."""
        if not self.classifiers:
            raise InputError("give at least one field classifier")
        if self.fusion not in ("late", "early"):
            raise InputError(f"fusion must be 'late' or 'early', got {self.fusion!r}")
        unknown = sorted(set(self.weights) - set(self.classifiers))
        if unknown:
            raise InputError(f"fusion weight for {unknown[0]!r}, which has no classifier; name one of {sorted(self.classifiers)}")
        self.fields_ = list(self.classifiers)
        for clf in self.classifiers.values():
            if not hasattr(clf, "method_"):
                clf.fit()
        classes = [list(map(str, c.classes_)) for c in self.classifiers.values()]
        if any(c != classes[0] for c in classes):
            raise InputError("every field's classifier must have the same classes in the same order")
        self.classes_ = np.asarray(classes[0], dtype=object)
        if self.fusion == "early":
            if X is None or y is None:
                raise InputError("early fusion fits a head on labelled records: fit(records, labels)")
            from sklearn.linear_model import LogisticRegression

            Z, _, _, _ = self._features(list(X))
            self.head_ = LogisticRegression(C=float(self.C), max_iter=2000).fit(Z, label_indices(self.classes_, list(y), what="record"))
        return self

    @staticmethod
    def field_items(records: Sequence[Mapping[str, Any]], f: str) -> tuple[list[int], list[Any]]:
        """The records that give field ``f`` (indices) and its values there (absent, None and blank are not given)."""
        rows, items = [], []
        for i, r in enumerate(records):
            v = r.get(f) if isinstance(r, Mapping) else None
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            rows.append(i)
            items.append(v)
        return rows, items

    def _features(self, records: list[Mapping[str, Any]]) -> tuple[np.ndarray, dict[int, list[str]], dict[int, list[str]], np.ndarray]:
        blocks, missing, ferr = [], {}, {}
        present = np.zeros(len(records), dtype=int)
        for f in self.fields_:
            clf = self.classifiers[f]
            rows, items = self.field_items(records, f)
            B = np.zeros((len(records), clf.encoder_.dim), dtype=np.float32)
            if items:
                X, errs = clf.encode_report(items)
                for j, i in enumerate(rows):
                    if j in errs:
                        ferr.setdefault(i, []).append(f"{f}: {errs[j]}")
                    else:
                        B[i] = l2_normalize(X[j][None, :])[0]
                        present[i] += 1
            for i in sorted(set(range(len(records))) - set(rows)):
                missing.setdefault(i, []).append(f)
            blocks.append(B)
        return np.concatenate(blocks, axis=1), missing, ferr, present

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> MultiModalPredictions:
        """Fused predictions; rows missing a field are scored with the others and listed in ``missing``."""
        records = list(records)
        K = len(self.classes_)
        out = MultiModalPredictions([None] * len(records), np.full((len(records), K), np.nan), [str(c) for c in self.classes_])
        if self.fusion == "early":
            Z, missing, ferr, present = self._features(records)
            out.missing, out.field_errors = missing, ferr
            ok = present > 0
            if ok.any():
                P = np.zeros((int(ok.sum()), K))
                P[:, self.head_.classes_] = self.head_.predict_proba(Z[ok])
                out.proba[ok] = P
            return self._labelled(out)
        return self.fuse(*self.per_field(records, _predict_items))

    def per_field(self, records: Sequence[Mapping[str, Any]], predict: FieldPredictor
                  ) -> tuple[dict[str, np.ndarray], dict[str, dict[int, str]]]:
        """Each field's probabilities over the records ``(N, K)``, NaN where the field is absent or unusable, and
        why given values were unusable (ready for :meth:`fuse`). ``predict(classifier, items, field)`` gives the
        field's :class:`~transzero.predictions.Predictions` (positions among ``items``, their probabilities, errors
        for the others): :meth:`predict_batch` uses the classifier's own; the eval job, the pipeline."""
        records = list(records)
        K = len(self.classes_)
        per_field: dict[str, np.ndarray] = {}
        field_errors: dict[str, dict[int, str]] = {}
        for f in self.fields_:
            rows, items = self.field_items(records, f)
            P = np.full((len(records), K), np.nan)
            field_errors[f] = {}
            if items:
                preds = predict(self.classifiers[f], items, f)
                P[[rows[j] for j in preds.positions]] = preds.proba
                field_errors[f] = {rows[j]: m for j, m in preds.errors.items()}
            per_field[f] = P
        return per_field, field_errors

    def fuse(self, per_field: Mapping[str, np.ndarray],
             field_errors: Mapping[str, Mapping[int, str]] | None = None) -> MultiModalPredictions:
        """Late fusion of each field's probabilities ``(N, K)`` over the records, however they were predicted.

        A NaN row: the field is absent or unusable in that record (listed in ``missing``); ``field_errors``: per
        field, record index -> why a given value was unusable. What :meth:`predict_batch` and the multimodal
        eval job (each field through the pipeline) both fuse with.
        """
        if not per_field:
            raise InputError("late fusion needs at least one field")
        N = len(next(iter(per_field.values())))
        K = len(self.classes_)
        out = MultiModalPredictions([None] * N, np.full((N, K), np.nan), [str(c) for c in self.classes_])
        logs: dict[str, np.ndarray] = {}
        for f in self.fields_:
            for i, m in sorted((field_errors or {}).get(f, {}).items()):
                out.field_errors.setdefault(i, []).append(f"{f}: {m}")
            P = np.asarray(per_field[f], dtype=np.float64)
            if P.shape != (N, K):
                raise InputError(f"field {f!r}: probabilities of shape {P.shape}, expected {(N, K)}")
            L = np.log(np.maximum(P, 1e-300))
            for i in np.flatnonzero(~np.all(np.isfinite(L), axis=1)):
                out.missing.setdefault(int(i), []).append(f)
            out.per_field[f] = np.exp(L)
            logs[f] = L
        out.proba = late_fusion(logs, self.weights)
        return self._labelled(out)

    def _labelled(self, out: MultiModalPredictions) -> MultiModalPredictions:
        """Labels of the rows with probabilities; the others are errors (no usable field)."""
        for i in range(len(out.labels)):
            if np.all(np.isfinite(out.proba[i])):
                out.labels[i] = str(self.classes_[int(np.argmax(out.proba[i]))])
            else:
                why = "; ".join(out.field_errors.get(i, [])) or f"none of the fields {', '.join(self.fields_)} is present"
                out.errors[i] = f"no usable field ({why})"
        return out

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Fused probabilities ``(N, K)`` (NaN rows for records with no usable field)."""
        return self.predict_batch(records).proba

    def predict(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Fused labels (None for records with no usable field)."""
        return np.asarray(self.predict_batch(records).labels, dtype=object)


#: ``predict(classifier, items, field) -> Predictions`` (positions among ``items``, probabilities, errors)
FieldPredictor = Callable[[Any, list[Any], str], Predictions]


def _predict_items(clf: Any, items: list[Any], field: str) -> Predictions:
    return clf.predict_items(items)
