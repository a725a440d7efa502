"""The vector-level classifier head: a method, its class embeddings and a calibrator, working on item vectors.

:class:`ClassifierHead` is what every front end scores with once items are vectors: it fits the method,
scores (calibrated), calibrates, adapts (transduction), decides, explains and saves its part of a folder.
It knows nothing about raw items, encoders or caches; :class:`~transzero.classifier.ZeroShotClassifier` is
the raw-item facade around it (encoder + cache + head).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import l2_normalize, label_indices, softmax
from .errors import InputError, SavedModelError, TranszeroError
from .explanations import SOURCE_KEYS
from .labels import ClassEmbeddings, LabelSpace
from .methods.base import ZeroShotMethod
from .methods.registry import load_method, method_name
from .methods.tags import FitContext, MethodTags, get_tags
from .persistence import ModelFolder
from .predictions import Predictions, Scores

if TYPE_CHECKING:  # pragma: no cover
    from .encoders.base import Encoder

__all__ = ["ClassifierHead", "check_method"]


class ClassifierHead:
    """A scoring method over item vectors, with its classes' embeddings and an optional calibrator.

    Parameters
    ----------
    method : ZeroShotMethod
        The (fitted, or about to be fitted) method.
    class_embeddings : ClassEmbeddings
        The classes, embedded by the label encoder.
    label_space : LabelSpace
        The classes as described.
    aligned : bool
        Items and class prompts share one space (explanations by nearest prompts need it).
    calibrator : Calibrator, optional
        Temperature and biases applied to the method's logits.
    """

    def __init__(self, method: ZeroShotMethod, class_embeddings: ClassEmbeddings, label_space: LabelSpace, *,
                 aligned: bool, calibrator: Any = None) -> None:
        self.method = method
        self.class_embeddings = class_embeddings
        self.label_space = label_space
        self.aligned = aligned
        self.calibrator = calibrator
        self.selection: dict[str, Any] | None = None

    # ------------------------------------------------------------------ what it is
    @property
    def classes_(self) -> np.ndarray:
        """The class names, in the order of the score columns (the fitted method's)."""
        return self.method.classes_

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.method.classes_]

    @property
    def tags(self) -> MethodTags:
        return get_tags(self.method)

    @property
    def name(self) -> str:
        """The method's registered name."""
        return method_name(self.method)

    # ------------------------------------------------------------------ fit, score, calibrate
    def fit(self, X: np.ndarray | None, y: Sequence[Any] | None, context: FitContext) -> ClassifierHead:
        """Fit the method on item vectors (none: zero-shot); ``auto`` is replaced by the method it chose."""
        self.method.fit(X, y, context=context)
        selection = getattr(self.method, "selection_", None)
        if selection is not None and hasattr(self.method, "best_"):  # ``auto``: keep the method it chose
            self.selection = dict(selection)
            self.method = self.method.best_
        return self

    def score(self, X: Any) -> Scores:
        """Logits and probabilities of item vectors (calibrated when a calibrator is set)."""
        z = np.asarray(self.method.decision_function(X))
        if self.calibrator is None:
            return Scores(z, softmax(z.astype(np.float64), axis=1))  # every method's predict_proba is this
        zc = self.calibrator.transform(z)
        return Scores(zc, softmax(zc, axis=1), softmax(z.astype(np.float64), axis=1))

    def calibrate(self, X: Any, y: Sequence[Any], *, bias: bool = True) -> ClassifierHead:
        """Fit a temperature (and per-class biases) on labelled vectors used only for calibration."""
        from .calibration import Calibrator

        idx = label_indices(self.classes_, list(y), what="calibration example", fix="add it or drop those examples")
        self.calibrator = Calibrator(bias=bias).fit(self.method.decision_function(X), idx)
        return self

    # ------------------------------------------------------------------ adapt
    def adapt(self, transduction: Any, X: np.ndarray, logits: np.ndarray, unlabeled: np.ndarray | None = None, *,
              paired: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
        """Transductive probabilities of items ``X`` (with their ``logits``), adapted on them plus ``unlabeled``.

        ``paired``: ``X`` are another encoder's vectors of the items a raw-item method scored (speech), so the
        neighbour graph must first agree with the method's labels (a recipe without its own ``min_agreement`` gets
        :data:`~transzero.transductive.PAIRED_MIN_AGREEMENT`). Returns the adapted probabilities of ``X`` and what
        the adaptation did.
        """
        if np.asarray(X).dtype == object:
            raise InputError(f"method {self.name!r} reads clips, not vectors; transduce over the vectors of its "
                             "paired encoder")
        if paired and transduction.min_agreement is None:
            from .transductive import PAIRED_MIN_AGREEMENT

            transduction = dataclasses.replace(transduction, min_agreement=PAIRED_MIN_AGREEMENT)
        pool_X, pool_z = X, logits
        if unlabeled is not None and len(unlabeled):
            unlabeled = np.asarray(unlabeled, dtype=np.float32)
            if unlabeled.ndim != 2 or unlabeled.shape[1] != X.shape[1]:
                raise InputError(
                    f"unlabeled vectors have shape {unlabeled.shape} but this encoder gives {X.shape[1]} dims; "
                    f"encode the unlabelled items with this classifier (clf.encode(items))")
            pool_X = np.concatenate([X, unlabeled])
            pool_z = np.concatenate([logits, self.score(unlabeled).logits])
        P = transduction.adapt(pool_X, pool_z)[: len(X)]
        return P, dict(transduction.info)

    # ------------------------------------------------------------------ the one prediction path
    def predict(
        self,
        X: Any,
        *,
        scores: Scores | None = None,
        transduction: Any = None,
        unlabeled: np.ndarray | None = None,
        pair: Callable[[], tuple[np.ndarray, dict[str, Any]]] | None = None,
        adapted: np.ndarray | None = None,
        adaptation: dict[str, Any] | None = None,
        reject: float | Callable[[np.ndarray], float | None] | None = None,
        reject_score: str = "max_proba",
        none_label: str = "none",
        multi_label: float | Sequence[float] | None = None,
        explain: int = 0,
        transcripts: bool = False,
        stage: Callable[[str], Any] | None = None,
    ) -> Predictions:
        """score -> adapt -> decide -> explain for usable item vectors: every prediction goes through here.

        Parameters
        ----------
        X : ndarray (N, D)
            Vectors of usable items (raw items, in an object array, for methods that read them).
        scores : Scores, optional
            The items' scores when already computed elsewhere (a remote worker); else :meth:`score`.
        transduction : Transduction, optional
            Adapt to the items plus ``unlabeled`` vectors (:meth:`adapt`).
        pair : callable, optional
            For methods that read raw items: ``pair() -> (vectors, decision)``, another encoder's vectors of the
            same items to adapt over (asked only when transduction runs).
        adapted, adaptation : optional
            Probabilities already adapted over a larger pool, and what ran (instead of ``transduction``).
        reject : float or callable, optional
            The rejection threshold, or a function of the final probabilities giving it (``auto``).
        explain : int
            Explanations with the top ``N`` sources per class.
        transcripts : bool
            Also keep what a transcribing method heard.
        stage : callable, optional
            ``stage(name)`` -> a context manager timing the step (``score``, ``encode``, ``adapt``, ``decide``).

        Returns
        -------
        Predictions
            One row per item of ``X`` (``positions`` 0..N-1, no errors).
        """
        from .decisions import decide

        step = stage if stage is not None else (lambda name: contextlib.nullcontext())
        method_info = heard = None
        if scores is None:
            with step("score"):
                scores = self.score(X)
            method_info = self.method.batch_info()
            if transcripts and self.tags.transcribes:  # remembered while scoring: no second pass
                with step("score"):
                    heard = self.method.transcribe(list(X))
        p, z = scores.proba, scores.logits
        inductive, what = None, None
        if adapted is not None:
            inductive, what = p, adaptation
            p = np.asarray(adapted, dtype=np.float64)
        elif transduction is not None:
            inductive, X_adapt, pairing = p, X, None
            if pair is not None:
                with step("encode"):
                    X_adapt, pairing = pair()
            with step("adapt"):
                p, what = self.adapt(transduction, X_adapt, z, unlabeled, paired=pairing is not None)
            if pairing is not None:
                what = {**what, "paired_encoder": pairing["encoder"],
                        "decisions": [pairing] + list(what.get("decisions", []))}
        if inductive is not None:
            z = np.log(np.maximum(p, 1e-300))
        threshold = reject(p) if callable(reject) else reject
        with step("decide"):
            d = decide(p, self.classes, logits=z, reject=threshold, reject_score=reject_score,
                       none_label=none_label, multi_label=multi_label)
        out = Predictions.of_decisions(self.classes, p, z, d, uncalibrated_proba=scores.uncalibrated_proba,
                                       inductive_proba=inductive, transduction=what, threshold=threshold,
                                       method_info=method_info, transcripts=heard)
        if explain:
            with step("decide"):
                out.explanations = self.explain(X, top=int(explain), proba=p)
        return out

    # ------------------------------------------------------------------ explain
    @property
    def can_explain(self) -> bool:
        """True when :meth:`explain` works: the method explains itself, or items and prompts share a space."""
        return self.tags.explains or self.aligned

    def explain(self, X: Any, top: int = 5, *, proba: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Why each item got its label: the decided class's sources first, then the runner-up's.

        See :meth:`transzero.ZeroShotClassifier.explain_encoded`.
        """
        P = self.score(X).proba if proba is None else np.asarray(proba, dtype=np.float64)
        n, n_classes = P.shape
        k = np.argmax(P, axis=1)
        others = np.array(P, dtype=np.float64)
        others[np.arange(n), k] = -np.inf
        r = np.argmax(others, axis=1) if n_classes > 1 else k
        if self.tags.explains:
            first = self.method.explain(X, top=top, classes=k)
            second = self.method.explain(X, top=top, classes=r)
        elif self.aligned:
            first, second = self._prompt_sources(X, top, k), self._prompt_sources(X, top, r)
        else:
            raise InputError(f"method {self.name!r} has no explanations here; use conse or wordnet")
        names = self.classes
        out = []
        for i in range(n):
            e = dict(first[i])
            key = next((key for key in SOURCE_KEYS if key in e), None)
            ck, cr = names[int(k[i])], names[int(r[i])]
            e["label"], e["score"] = ck, float(P[i, k[i]])
            e["runner_up"] = {"label": cr, "score": float(P[i, r[i]]), "margin": float(P[i, k[i]] - P[i, r[i]])}
            if key is not None:
                lead = [src for src in _tag(e[key], ck) if src["class"] == ck]
                runner = [src for src in _tag(second[i].get(key, []), cr) if src["class"] == cr] if cr != ck else []
                rest = [src for src in _tag(e[key], ck) if src["class"] not in (ck, cr)]  # (speech: other classes)
                score = dict(zip(names, P[i].tolist()))
                e[key] = [{**src, "class_score": float(score.get(src["class"], float("nan")))}
                          for src in lead + runner + rest]
            out.append(e)
        return out

    def _prompt_sources(self, X: np.ndarray, top: int, classes: np.ndarray) -> list[dict[str, Any]]:
        """Per item, the ``top`` prompts of class ``classes[i]`` nearest to it (items and prompts share a space)."""
        ce = self.class_embeddings
        sims = l2_normalize(np.asarray(X, dtype=np.float32)) @ l2_normalize(ce.prompt_vectors).T
        where = {str(c): j for j, c in enumerate(ce.classes)}
        prompt_labels = np.asarray(ce.prompt_labels)
        names = self.classes
        out = []
        for i in range(len(sims)):
            c = names[int(classes[i])]
            idx = np.flatnonzero(prompt_labels == where.get(c, -1))
            order = idx[np.argsort(-sims[i, idx], kind="stable")][: int(top)]
            out.append({"label": c, "prompts": [
                {"prompt": ce.prompts[j] if j < len(ce.prompts) else f"prompt {j}", "class": c,
                 "similarity": float(sims[i, j])} for j in order]})
        return out

    # ------------------------------------------------------------------ persistence
    def save_config(self, folder: ModelFolder, prefix: str = "") -> dict[str, Any]:
        """The head's part of a saved task: labels, class vectors, method, calibration."""
        cal = self.calibrator
        return {
            "labels": self.label_space.to_dict(),
            "class_embeddings": self.class_embeddings.save_config(folder, prefix),
            "method": self.method.save_config(folder, f"{prefix}method."),
            "calibration": cal.save_config() if cal is not None else None,
        }

    @classmethod
    def from_config(cls, task: dict[str, Any], folder: ModelFolder, label_encoder: Encoder, *,
                    aligned: bool) -> ClassifierHead:
        """A fitted head from its part of a saved task (:meth:`save_config`); every array is checked.

        ``label_encoder``: text class vectors must have its dimension; methods that embed text they produce
        get it back.
        """
        from .calibration import Calibrator

        where = str(folder.root)
        try:
            labels = LabelSpace.from_dict(task["labels"])
        except TranszeroError as exc:
            raise SavedModelError(f"{where}: config.json labels: {exc}") from None
        ce = ClassEmbeddings.from_config(task["class_embeddings"], folder, labels.names)
        if ce.kind == "text" and ce.vectors.shape[1] != label_encoder.dim:
            raise SavedModelError(f"{where}: class vectors have {ce.vectors.shape[1]} dims but the label encoder "
                                  f"{label_encoder.name} gives {label_encoder.dim}; save the classifier again")
        method = load_method(task["method"], folder)
        if "text_encoder" in get_tags(method).context and getattr(method, "text_encoder_", None) is None:
            method.text_encoder_ = label_encoder  # methods that embed text they produce (transcripts) use it
        check_method(method, labels.names, where)
        head = cls(method, ce, labels, aligned=aligned)
        if task.get("calibration"):
            head.calibrator = Calibrator.from_config(task["calibration"], len(head.classes_))
        return head


def _tag(sources: list[dict[str, Any]], c: str) -> list[dict[str, Any]]:
    return [{**src, "class": src.get("class", c)} for src in sources]


def check_method(method: ZeroShotMethod, classes: Sequence[str], where: str) -> None:
    """A loaded method must score a dry-run batch into finite ``(n, K)`` logits over the saved classes."""
    try:
        same = [str(c) for c in np.atleast_1d(getattr(method, "classes_", []))] == [str(c) for c in classes]
        if not same:
            raise SavedModelError(f"{where}: the method's classes do not match the label space; save the classifier again")
        if get_tags(method).raw_items:
            return  # speech recognisers score clips, not vectors
        n = int(getattr(method, "n_features_in_", 0) or 0)
        z = np.asarray(method.decision_function(np.zeros((2, n), np.float32)))
    except SavedModelError:
        raise
    except Exception as exc:  # a state that does not fit together (shapes, types): a broken folder, said in one line
        raise SavedModelError(f"{where}: the saved method state does not work ({type(exc).__name__}: {exc}); "
                              "save the classifier again") from None
    # (-inf is a class a method rules out, e.g. candidates="unseen"; NaN, +inf or no finite class is broken)
    if z.shape != (2, len(classes)) or np.isnan(z).any() or np.isposinf(z).any() or not np.isfinite(z).any(axis=1).all():
        raise SavedModelError(f"{where}: the saved method gives scores of shape {z.shape} (expected (n, {len(classes)}))"
                              " or non-finite ones; save the classifier again")
