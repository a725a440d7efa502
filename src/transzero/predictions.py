"""What scoring returns: :class:`Scores` (logits and probabilities) and :class:`Predictions`, the one result type.

Every prediction path (the head, ``ClassifyPipeline`` for the CLI, shards, the service and the Ray engine,
``ZeroShotClassifier.predict_batch``) produces a :class:`Predictions`: one row per *predicted* item
(``positions``), every other item in ``errors`` with its reason. :meth:`Predictions.per_item` is the view with one
entry per input item (``None`` / NaN for bad ones) that ``predict_batch`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .data.text import ItemTable
    from .decisions import Decisions

__all__ = ["BatchPredictions", "Predictions", "Scores"]


@dataclass
class Scores:
    """A classifier's scores for encoded items.

    Attributes
    ----------
    logits : ndarray (N, K)
        The method's logits, calibrated when the classifier is.
    proba : ndarray (N, K)
        ``softmax(logits)``.
    uncalibrated_proba : ndarray (N, K), optional
        The method's own probabilities, when a calibrator changed them.
    """

    logits: np.ndarray
    proba: np.ndarray
    uncalibrated_proba: np.ndarray | None = None


@dataclass
class Predictions:
    """A classifier's answer for a batch: one row per predicted item, and why the others were not predicted.

    Attributes
    ----------
    classes : list of str
        The score columns.
    proba, logits : ndarray (n_predicted, K)
        Final probabilities (after transduction, when it ran; the logits are then their log).
    labels : list of str
        Per predicted item: the decision (``none_label`` when rejected).
    argmax_labels : list of str
        Per predicted item: the most probable class.
    positions : list of int
        The predicted items' positions in the batch (or table rows); default ``0..n-1``.
    errors : dict int -> str
        Position of every item that was not predicted, and why.
    table : ItemTable, optional
        The table the positions refer to (pipeline runs): gives :meth:`records`.
    X : ndarray, optional
        The predicted items' vectors.
    """

    classes: list[str]
    proba: np.ndarray
    logits: np.ndarray
    labels: list[str]
    argmax_labels: list[str]
    positions: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    table: ItemTable | None = None
    X: np.ndarray | None = None
    #: with transduction: the probabilities before adaptation, and what the adaptation did
    inductive_proba: np.ndarray | None = None
    transduction: dict[str, Any] | None = None
    #: when the classifier is calibrated: the probabilities before calibration
    uncalibrated_proba: np.ndarray | None = None
    #: with a rejection threshold: each item's rejection score (higher = more in scope), the threshold and its source
    scores: np.ndarray | None = None
    threshold: float | None = None
    threshold_source: str | None = None
    #: with multi-label thresholds: every label over its threshold, per item
    multi_labels: list[list[str]] | None = None
    #: per item, the explanation of its decision
    explanations: list[dict[str, Any]] | None = None
    #: per item, what a transcribing method heard (``whisper-text``, ``whisper-fused``)
    transcripts: list[str] | None = None
    #: what the method decided for this batch (:meth:`ZeroShotMethod.batch_info`), when it says
    method_info: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.positions and len(self.labels):
            self.positions = list(range(len(self.labels)))

    @classmethod
    def of_decisions(cls, classes: list[str], proba: np.ndarray, logits: np.ndarray, decisions: Decisions,
                     **extra: Any) -> Predictions:
        """Predictions for items ``0..n-1`` from their probabilities and the :class:`Decisions` taken on them."""
        d = decisions
        return cls(classes, proba, logits, list(d.labels), list(d.argmax_labels), scores=d.scores,
                   multi_labels=d.multi_labels, **extra)

    @classmethod
    def empty(cls, classes: list[str], errors: dict[int, str] | None = None, *, table: ItemTable | None = None,
              X: np.ndarray | None = None) -> Predictions:
        """No item predicted (all bad, or none given)."""
        z = np.zeros((0, len(classes)))
        return cls(classes, z, z, [], [], [], dict(errors or {}), table=table, X=X)

    def at(self, positions: list[int], errors: dict[int, str], *, table: ItemTable | None = None,
           X: np.ndarray | None = None) -> Predictions:
        """These predictions placed at ``positions`` of a larger batch whose other items failed with ``errors``."""
        from dataclasses import replace

        return replace(self, positions=list(positions), errors=dict(errors), table=table, X=X)

    def __len__(self) -> int:
        return len(self.positions)

    # ------------------------------------------------------------------ views over every item
    def n_items(self) -> int:
        """How many items the batch held (predicted and not)."""
        if self.table is not None:
            return len(self.table)
        return max([*self.positions, *self.errors, -1]) + 1

    def full(self, rows: np.ndarray | None) -> np.ndarray | None:
        """``rows`` (one per predicted item) spread over every item of the batch, NaN for the others."""
        if rows is None:
            return None
        rows = np.asarray(rows)
        out = np.full((self.n_items(), *rows.shape[1:]), np.nan)
        out[self.positions] = rows
        return out

    def full_proba(self) -> np.ndarray:
        """Probabilities ``(n_items, K)`` of every item (NaN rows for bad items)."""
        out = self.full(self.proba)
        assert out is not None
        return out

    def spread(self, values: list[Any] | None) -> list[Any] | None:
        """Per-predicted-item ``values`` as a list over every item (``None`` for the others)."""
        if values is None:
            return None
        out: list[Any] = [None] * self.n_items()
        for i, v in zip(self.positions, values):
            out[i] = v
        return out

    def per_item(self) -> BatchPredictions:
        """One entry per input item: what :meth:`ZeroShotClassifier.predict_batch` returns."""
        labels = self.spread(self.labels)
        assert labels is not None
        return BatchPredictions(labels, self.full_proba(), list(self.classes), dict(self.errors),
                                explanations=self.spread(self.explanations),
                                inductive_proba=self.full(self.inductive_proba),
                                transduction_info=self.transduction if self.inductive_proba is not None else None,
                                uncalibrated_proba=self.full(self.uncalibrated_proba),
                                scores=self.full(self.scores), multi_labels=self.spread(self.multi_labels))

    # ------------------------------------------------------------------ table outputs
    def bad_lines(self) -> list[str]:
        """One line per row that was not predicted."""
        if self.table is None:
            return [f"item {i}: {why}" for i, why in sorted(self.errors.items())]
        return self.table.bad_lines(self.errors)

    def records(self, text_column: str = "text", gold: bool = False) -> list[dict[str, Any]]:
        """One output record per table row (``row``, [``id``], ``text``, ``label``, ``confidence``, ``error``,
        ``probabilities``; ``transcript`` (speech methods that transcribe; null for bad rows), ``explanation``,
        ``labels`` (multi-label), ``score`` (with rejection), ``gold``)."""
        from .explanations import explanation_sources
        from .io import prediction_records

        t = self.table
        if t is None:
            raise ValueError("records() needs the table these predictions were made for")
        n = len(t)
        labels = self.spread(self.labels)
        assert labels is not None
        ids = [r.get("id") for r in t.records] if any("id" in r for r in t.records) else None
        texts = [t.raw_text(i, text_column) for i in range(n)]
        recs = prediction_records(t.rows, texts, labels, self.full_proba(), self.classes, self.errors, ids)
        heard = self.transcripts
        if heard is None and self.explanations and any(e is not None and "transcript" in e for e in self.explanations):
            heard = [None if e is None else e.get("transcript") for e in self.explanations]  # `whisper --explain`
        if heard is not None:
            for r in recs:
                r["transcript"] = None
            for j, i in enumerate(self.positions):
                recs[i]["transcript"] = heard[j]
        for j, i in enumerate(self.positions):
            if self.explanations is not None:
                e = self.explanations[j]
                recs[i]["explanation"] = None if e is None else explanation_sources(e)
            if self.multi_labels is not None:
                recs[i]["labels"] = self.multi_labels[j]
            if self.scores is not None:
                recs[i]["score"] = float(self.scores[j])
        if gold and t.labels is not None:
            for r, g in zip(recs, t.labels):
                r["gold"] = g
        return recs


@dataclass
class BatchPredictions:
    """:meth:`Predictions.per_item`: predictions laid out over every input item, bad items included.

    Attributes
    ----------
    labels : list of (str or None)
        Predicted class per input item; ``None`` where the item was bad.
    proba : ndarray (N, K)
        Probabilities; rows of bad items are NaN.
    classes : list of str
    errors : dict int -> str
        Index of each bad item and why it was skipped.
    """

    labels: list[str | None]
    proba: np.ndarray
    classes: list[str]
    errors: dict[int, str] = field(default_factory=dict)
    #: per item, the method's explanation (``predict_batch(..., explain=N)``); None for bad items
    explanations: list[dict[str, Any] | None] | None = None
    #: with transduction: the probabilities before adaptation, and what the adaptation did
    inductive_proba: np.ndarray | None = None
    transduction_info: dict[str, Any] | None = None
    #: when the classifier is calibrated: the probabilities before calibration
    uncalibrated_proba: np.ndarray | None = None
    #: with ``reject=``: each item's rejection score (higher = more in scope)
    scores: np.ndarray | None = None
    #: with ``multi_label=``: every label over its threshold, per item
    multi_labels: list[list[str] | None] | None = None
