"""ZeroShotClassifier: encoder + label space + method behind the scikit-learn contract."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._estimator import ClassifierEstimator, check_fitted, clone
from ._util import label_indices, softmax
from .defaults import DEFAULT_METHOD, text_side_encoder
from .encoders import Encoder, HasConceptHead, HasTextTower, ProgressCallback, create_encoder, shares_space
from .encoders.registry import encoder_from_config
from .errors import InputError, SavedModelError, TranszeroError
from .explanations import SOURCE_KEYS
from .labels import ClassEmbeddings, LabelSpace, concept_label_space
from .methods.base import ZeroShotMethod
from .methods.concept_head import ConceptHead
from .methods.registry import create_method, load_method, method_name
from .methods.tags import FitContext, MethodTags, get_tags
from .persistence import ModelFolder, write_folder_atomically
from .store import EmbeddingCache, encode_items

if TYPE_CHECKING:  # pragma: no cover
    from .decisions import Decisions

__all__ = ["BatchPredictions", "EncodedPredictions", "FORMAT", "FORMAT_VERSION", "Scores", "ZeroShotClassifier"]

FORMAT = "transzero-classifier"
#: 2: one config for single- and multi-task classifiers, every file named by its bare file name (1 still loads)
FORMAT_VERSION = 2


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
class BatchPredictions:
    """Predictions for a batch in which some items may be unusable.

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


@dataclass
class EncodedPredictions:
    """What :meth:`ZeroShotClassifier.predict_encoded` made of encoded items: one row per item, every item usable.

    ``proba``/``logits`` are the final ones (after transduction, when it ran; the logits are then their log);
    ``decisions`` the :class:`~transzero.decisions.Decisions` taken on them.
    """

    proba: np.ndarray
    logits: np.ndarray
    decisions: Decisions
    uncalibrated_proba: np.ndarray | None = None
    inductive_proba: np.ndarray | None = None
    transduction: dict[str, Any] | None = None
    threshold: float | None = None
    explanations: list[dict[str, Any]] | None = None
    #: :meth:`ZeroShotMethod.batch_info` right after scoring (None when ``scores`` were given)
    method_info: dict[str, Any] | None = None
    #: what a transcribing method heard (``predict_encoded(..., transcripts=True)``)
    transcripts: list[str] | None = None


class ZeroShotClassifier(ClassifierEstimator):
    """Classify raw items into classes described only by a :class:`LabelSpace`.

    Parameters
    ----------
    labels : LabelSpace or sequence of str
        The classes. A plain list of names becomes ``LabelSpace(names)``.
    encoder : str or Encoder, optional
        Registry name / ``scheme:path`` or an encoder object; default: the text encoder of ``preset`` for
        ``language`` (:func:`transzero.presets.text_encoder_for`).
    method : str or ZeroShotMethod
        ``"similarity"`` (default) or any name of :func:`transzero.methods.list_methods`, or an estimator object.
    method_params : dict, optional
        Constructor arguments when ``method`` is a name.
    cache : bool, str, path or EmbeddingCache
        ``True`` caches embeddings under the default folder, a path under that folder.
    batch_size : int, optional
        Items per forward pass.
    label_encoder : str or Encoder, optional
        Encoder of the class descriptions (and of the concept names, for concept
        bridges). Default: the item encoder when it embeds text, else the default text encoder.
    concept_names : {"clean", "synonyms", "both"}
        Which names of the encoder's concepts are embedded (concept bridges such as ``conse``).
    concept_templates : str or list of str, optional
        Prompt templates for the concept names (e.g. ``"photo"``); default: the name alone.
    preset : {"fast", "accurate"}, optional
        Which text encoder to use when ``encoder`` is not given (:data:`transzero.presets.PRESETS`); default
        :data:`transzero.presets.DEFAULT_PRESET`.
    language : str, optional
        The items' language (ISO 639-1 code, ``"mul"`` for a mix). Without ``encoder``, anything but English
        routes to the multilingual encoder; the default prompt templates are translated where a translation exists
        (:data:`transzero.templates.TRANSLATED_TEMPLATES`). None: English.
        ``transzero.detect_language(texts).route`` gives it from the texts (the CLI and the service detect it
        themselves).

    Examples
    --------
    >>> from transzero import ZeroShotClassifier
    >>> clf = ZeroShotClassifier(["sports", "politics"]).fit()          # doctest: +SKIP
    >>> clf.predict(["The striker scored twice."])                      # doctest: +SKIP
    array(['sports'], dtype=object)
    """

    def __init__(
        self,
        labels: LabelSpace | Sequence[str] | None = None,
        encoder: str | Encoder | None = None,
        method: str | ZeroShotMethod = DEFAULT_METHOD,
        method_params: dict[str, Any] | None = None,
        cache: bool | str | os.PathLike[str] | EmbeddingCache = False,
        batch_size: int | None = None,
        label_encoder: str | Encoder | None = None,
        concept_names: str = "clean",
        concept_templates: str | Sequence[str] | None = None,
        preset: str | None = None,
        language: str | None = None,
    ) -> None:
        self.labels = labels
        self.encoder = encoder
        self.method = method
        self.method_params = method_params
        self.cache = cache
        self.batch_size = batch_size
        self.label_encoder = label_encoder
        self.concept_names = concept_names
        self.concept_templates = concept_templates
        self.preset = preset
        self.language = language

    # ------------------------------------------------------------------ pieces
    def resolve_labels(self) -> LabelSpace:
        """The label space the ``labels`` parameter describes."""
        if self.labels is None:
            raise InputError("no labels given; pass labels=['a', 'b', ...] or a LabelSpace")
        if isinstance(self.labels, LabelSpace):
            return self.labels
        if isinstance(self.labels, str):
            raise InputError("labels must be a list of names, not one string; split it, e.g. 'a,b'.split(',')")
        return LabelSpace(list(self.labels))

    def _resolve_encoder(self) -> Encoder:
        if isinstance(self.encoder, Encoder):
            return self.encoder
        if self.encoder:
            return create_encoder(self.encoder)
        from .defaults import text_encoder_for

        return create_encoder(text_encoder_for(self.preset, self.language))

    def _resolve_label_encoder(self, encoder: Encoder) -> Encoder:
        if isinstance(self.label_encoder, Encoder):
            return self.label_encoder
        if self.label_encoder:
            return create_encoder(self.label_encoder)
        if encoder.modality == "text":
            return encoder
        if isinstance(encoder, HasTextTower):  # vision-language model: its own aligned text tower
            return encoder.text_encoder()
        return create_encoder(text_side_encoder())

    def _concept_head(self) -> ConceptHead:
        enc = self.encoder_
        if not isinstance(enc, HasConceptHead):
            raise InputError(
                f"method {method_name(self.method_)!r} needs an encoder with a concept head; "
                f"{enc.name} has none (try efficientnet-lite0)"
            )
        concepts = enc.concepts()
        space = concept_label_space(concepts, names=self.concept_names, templates=self.concept_templates)
        emb = space.embed(self.label_encoder_, self.cache_)
        W, b = enc.concept_head()
        return ConceptHead(W, b, emb.vectors, [c.name for c in concepts], [c.wnid for c in concepts])

    def _resolve_method(self) -> ZeroShotMethod:
        if isinstance(self.method, ZeroShotMethod):
            if self.method_params:
                return clone(self.method).set_params(**self.method_params)
            return clone(self.method)
        return create_method(str(self.method), **(self.method_params or {}))

    def _resolve_cache(self) -> EmbeddingCache | None:
        if isinstance(self.cache, EmbeddingCache):
            return self.cache
        if self.cache is True:
            return EmbeddingCache()
        if self.cache:
            return EmbeddingCache(self.cache)  # type: ignore[arg-type]
        return None

    @property
    def method_name(self) -> str:
        """The registered name of the (fitted or configured) method."""
        m = getattr(self, "method_", None)
        if m is None:
            m = self.method if isinstance(self.method, ZeroShotMethod) else create_method(str(self.method))
        return method_name(m)

    @property
    def method_tags(self) -> MethodTags:
        """The fitted (or configured) method's :class:`~transzero.methods.tags.MethodTags`."""
        m = getattr(self, "method_", None)
        if m is not None:
            return get_tags(m)
        return get_tags(self.method if isinstance(self.method, ZeroShotMethod) else create_method(str(self.method)))

    # ------------------------------------------------------------------ fitting
    def prepare(self, *, label_progress: Any = None) -> ZeroShotClassifier:
        """Resolve the labels, encoders, cache and method and embed the classes, without fitting the method.

        :meth:`fit` and :meth:`fit_encoded` start with it; call it alone to :meth:`encode_report` items
        with this classifier's encoder and cache before fitting (learning curves, jobs). ``label_progress``:
        a progress factory (``Reporter.progress``: ``(what, total, unit)`` -> a context yielding ``advance(n)``)
        for encoding a large label space's prompts (thousands of labels take minutes).
        """
        self.label_space_ = self.resolve_labels()
        if self.language:  # items in another language: the default prompts in it, where translated
            self.label_space_ = self.label_space_.for_language(self.language)
        self.encoder_ = self._resolve_encoder()
        self.cache_ = self._resolve_cache()
        self.label_encoder_ = self._resolve_label_encoder(self.encoder_)
        if self.encoder_.modality != "text" and isinstance(self.encoder_, HasTextTower) and not self.label_encoder:
            # a vision/audio-language model's own text tower: that modality's default prompts (e.g. "a photo of a {}.")
            self.label_space_ = self.label_space_.for_modality(self.encoder_.modality)
        self.class_embeddings_ = self._embed_labels(label_progress)
        self.method_ = self._resolve_method()
        tags = get_tags(self.method_)
        self._context = self._fit_context(tags)
        if tags.reads_labels:
            self._context = FitContext.build(self._context, label_space=self.label_space_)
        return self

    #: label spaces with at least this many prompts report their encoding's progress
    LABEL_PROGRESS_MIN = 500

    def _embed_labels(self, label_progress: Any) -> ClassEmbeddings:
        space = self.label_space_
        n_prompts = space.n_prompts() if space.semantic_kind == "text" else 0
        if label_progress is None or n_prompts < self.LABEL_PROGRESS_MIN or space.is_embedded(self.label_encoder_):
            return space.embed(self.label_encoder_, self.cache_)
        with label_progress(f"encode labels ({len(space.names)} classes)", n_prompts, "prompts") as advance:
            return space.embed(self.label_encoder_, self.cache_, progress=advance)

    def _fit_context(self, tags: MethodTags) -> FitContext:
        """What the method's tags ask for (one-line errors for combinations that cannot work)."""
        ctx = FitContext(self.class_embeddings_, self.label_encoder_.default_logit_scale)
        aligned = shares_space(self.encoder_, self.label_encoder_)
        name = method_name(self.method_)
        if tags.raw_items and self.encoder_.modality != tags.item_modality:
            what = "recognises speech" if tags.item_modality == "audio" else f"reads {tags.item_modality}s"
            raise InputError(f"method {name!r} {what}; it needs {tags.item_modality} items "
                             f"(--encoder {self.encoder_.name} reads {self.encoder_.modality})")
        if tags.raw_items and tags.item_modality == "image":  # ocr: the visual route and the text side both
            head = self._concept_head() if isinstance(self.encoder_, HasConceptHead) else None
            return FitContext(ctx.class_embeddings, ctx.default_logit_scale, aligned=aligned, concept_head=head,
                              text_encoder=self.label_encoder_, encoder=self.encoder_)
        if tags.zero_shot_prior:  # few-shot: a zero-shot prior of the encoder's kind
            head = self._concept_head() if not aligned and isinstance(self.encoder_, HasConceptHead) else None
            return FitContext(ctx.class_embeddings, ctx.default_logit_scale, aligned=aligned, concept_head=head)
        if tags.text_encoder:
            return FitContext(ctx.class_embeddings, ctx.default_logit_scale, text_encoder=self.label_encoder_)
        if tags.raw_items or tags.semantics:
            return ctx  # speech recognisers read the clips; classical ZSL learns its own feature-semantics map
        if tags.concept_head:
            if isinstance(self.encoder_, HasConceptHead) or not tags.learns_from_labels:
                return FitContext(ctx.class_embeddings, ctx.default_logit_scale, concept_head=self._concept_head())
            return ctx  # conse fitted on seen classes: its concepts are those classes
        if not aligned:
            raise InputError(
                f"method {name!r} compares items and class descriptions in one space, but "
                f"{self.encoder_.name} ({self.encoder_.modality}) has no text tower; use a bridge such as --method conse"
            )
        return ctx

    def fit(self, X: Sequence[Any] | None = None, y: Sequence[Any] | None = None) -> ZeroShotClassifier:
        """Embed the label space and set up the method.

        Parameters
        ----------
        X, y : optional
            Labelled examples (raw items and class names) for methods that learn from
            them (``knn``, few-shot methods). Zero-shot needs neither: ``clf.fit()``.

        Returns
        -------
        self
        """
        self.prepare()
        tags = get_tags(self.method_)
        Xv = self.encode(X) if X is not None else None
        ctx = self._context
        if tags.trains_encoder and X is not None:  # fine-tuning trains the encoder itself
            ctx = FitContext.build(ctx, items=list(X), encoder=self.encoder_,
                                   reembed=lambda enc: self.label_space_.embed(enc, self.cache_))
        self._fit_method(Xv, y, ctx)
        if tags.trains_encoder:
            new_encoder = self.method_.encoder_
            if self.label_encoder_ is self.encoder_ and hasattr(self.method_, "class_embeddings_new_"):
                self.label_encoder_ = new_encoder  # aligned: classes live in the new space too
                self.class_embeddings_ = self.method_.class_embeddings_new_
            self.encoder_ = new_encoder
        return self

    def fit_encoded(self, X: np.ndarray | None = None, y: Sequence[Any] | None = None, *,
                    label_progress: Any = None) -> ZeroShotClassifier:
        """Like :meth:`fit`, from item vectors already encoded with this classifier's encoder.

        For learning curves: encode the support set once (:meth:`encode`), then fit many
        times on subsets of it (label and concept embeddings are memoised). ``label_progress``: see
        :meth:`prepare`.
        """
        self.prepare(label_progress=label_progress)
        self._fit_method(None if X is None else np.asarray(X, dtype=np.float32), y, self._context)
        return self

    def _fit_method(self, Xv: np.ndarray | None, y: Any, ctx: FitContext) -> None:
        self.method_.fit(Xv, y, context=ctx)
        selection = getattr(self.method_, "selection_", None)
        if selection is not None and hasattr(self.method_, "best_"):  # ``auto``: keep the method it chose
            self.selection_ = dict(selection)
            self.method_ = self.method_.best_
        self.classes_ = self.method_.classes_

    # ------------------------------------------------------------------ encoding
    def _reads_items(self) -> bool:
        m = getattr(self, "method_", None)
        return m is not None and get_tags(m).raw_items

    def _clips_report(self, items: list[Any], progress: ProgressCallback | None) -> tuple[np.ndarray, dict[int, str]]:
        """For methods that read items themselves: decoded mono clips (speech) or the items as given (ocr), in an
        object array, bad items reported."""
        from ._util import item_error
        from .data.audio import load_audio
        from .data.images import load_image

        m = self.method_
        out = np.empty(len(items), dtype=object)
        errors: dict[int, str] = {}
        audio = get_tags(m).item_modality == "audio"
        for i, it in enumerate(items):
            try:
                self.encoder_.validate([it])
                if audio:
                    out[i] = load_audio(it, m.sample_rate, min_seconds=m.min_seconds)
                else:  # images: a bad file is that item's error here; the method reads the item itself
                    load_image(it, target=32)
                    out[i] = it
            except InputError as exc:
                errors[i] = item_error(str(exc))
                out[i] = None
            if progress:
                progress(1)
        return out, errors

    def encode_report(
        self, items: Sequence[Any], progress: ProgressCallback | None = None
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Item vectors ``(N, D)`` through the cache, bad items reported (NaN rows) instead of failing.

        For methods that read raw audio (``asr-grammar``, ``asr-text``): the decoded clips.
        Needs :meth:`prepare` (or a fit) first.
        """
        check_fitted(self, "encoder_")
        if isinstance(items, (str, bytes)):
            raise InputError("pass a list of items, not a single string: clf.predict([text])")
        items = list(items)
        if self._reads_items():
            return self._clips_report(items, progress)
        return encode_items(self.encoder_, self.cache_, items, batch_size=self.batch_size, progress=progress)

    def paired_vectors(self, items: Sequence[Any], progress: ProgressCallback | None = None) -> tuple[np.ndarray, int]:
        """The encoder's own vectors of items a raw-item method scores (``asr-grammar``: clips; ``ocr``: images), for
        transduction; and how many items could not be embedded.

        Audio vectors are z-scored per dimension (MFCC statistics span very different scales). Items the encoder
        cannot embed get a zero row: no neighbours in the graph, so they keep the method's answer.
        """
        from .transductive import zscore

        check_fitted(self, "encoder_")
        V, errors = encode_items(self.encoder_, self.cache_, list(items), batch_size=self.batch_size, progress=progress)
        V = np.asarray(V, dtype=np.float32)
        usable = np.isfinite(V).all(axis=1)
        usable[list(errors)] = False
        V[~usable] = 0.0
        if self.encoder_.modality == "audio":
            V = zscore(V, usable)
        return V, int((~usable).sum())

    def encode(self, items: Sequence[Any], progress: ProgressCallback | None = None) -> np.ndarray:
        """Item vectors ``(N, D)`` from the fitted encoder (through the cache when enabled).

        Raises a one-line :class:`~transzero.errors.InputError` naming the first bad item.
        """
        if not hasattr(self, "encoder_"):
            self.encoder_, self.cache_ = self._resolve_encoder(), self._resolve_cache()
        X, errors = self.encode_report(items, progress)
        if errors:
            i = min(errors)
            raise InputError(f"items[{i}]: {errors[i]}")
        return X

    # ------------------------------------------------------------------ scoring encoded items
    def score_encoded(self, X: np.ndarray) -> Scores:
        """Logits and probabilities of item vectors (calibrated when :meth:`calibrate` was called)."""
        check_fitted(self, "method_")
        z = np.asarray(self.method_.decision_function(X))
        cal = getattr(self, "calibrator_", None)
        if cal is None:
            return Scores(z, softmax(z.astype(np.float64), axis=1))  # every method's predict_proba is this
        zc = cal.transform(z)
        return Scores(zc, softmax(zc, axis=1), softmax(z.astype(np.float64), axis=1))

    def decision_function_encoded(self, X: np.ndarray) -> np.ndarray:
        """Logits ``(N, K)`` of item vectors (calibrated when :meth:`calibrate` was called)."""
        return self.score_encoded(X).logits

    def predict_proba_encoded(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, K)`` of item vectors."""
        return self.score_encoded(X).proba

    @property
    def can_explain(self) -> bool:
        """True when :meth:`explain` works: the method explains itself, or items and prompts share a space."""
        return get_tags(self.method_).explains or shares_space(self.encoder_, self.label_encoder_)

    def explain_encoded(self, X: np.ndarray, top: int = 5, *, proba: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Why each encoded item got its label: the decided class's sources first, then the runner-up's.

        Bridges explain by concepts (``concepts``), classical ZSL by attributes (``attributes``), speech methods
        by spoken ``forms``; methods that compare items with class descriptions in one space by the class's
        nearest prompts (``prompts``: the prompt, its class and the cosine).

        Parameters
        ----------
        X : ndarray of shape (n_items, dim), or a list of raw items
            Item vectors (raw items for methods that read them, e.g. speech).
        top : int
            Sources per class.
        proba : ndarray of shape (n_items, n_classes), optional
            The probabilities the decision was made on (after transduction, say); default: this classifier's.

        Returns
        -------
        list of dict
            Per item: ``label`` and ``score`` (the decided class and its probability); its sources, each tagged
            with its ``class`` and that class's ``class_score``: the decided class's ``top`` first, then the
            runner-up class's; and ``runner_up``: its ``label``, ``score`` and the ``margin`` (the probability
            gap) that separated the two.
        """
        check_fitted(self, "method_")
        P = self.predict_proba_encoded(X) if proba is None else np.asarray(proba, dtype=np.float64)
        n, n_classes = P.shape
        k = np.argmax(P, axis=1)
        others = np.array(P, dtype=np.float64)
        others[np.arange(n), k] = -np.inf
        r = np.argmax(others, axis=1) if n_classes > 1 else k
        if get_tags(self.method_).explains:
            first = self.method_.explain(X, top=top, classes=k)
            second = self.method_.explain(X, top=top, classes=r)
        elif shares_space(self.encoder_, self.label_encoder_):
            first, second = self._prompt_sources(X, top, k), self._prompt_sources(X, top, r)
        else:
            raise InputError(f"method {method_name(self.method_)!r} has no explanations here; use conse or wordnet")
        names = [str(c) for c in self.classes_]
        out = []
        for i in range(n):
            e = dict(first[i])
            key = next((key for key in SOURCE_KEYS if key in e), None)
            ck, cr = names[int(k[i])], names[int(r[i])]
            e["label"], e["score"] = ck, float(P[i, k[i]])
            e["runner_up"] = {"label": cr, "score": float(P[i, r[i]]), "margin": float(P[i, k[i]] - P[i, r[i]])}
            if key is not None:
                def tag(sources: list[dict[str, Any]], c: str) -> list[dict[str, Any]]:
                    return [{**src, "class": src.get("class", c)} for src in sources]

                lead = [src for src in tag(e[key], ck) if src["class"] == ck]
                runner = [src for src in tag(second[i].get(key, []), cr) if src["class"] == cr] if cr != ck else []
                rest = [src for src in tag(e[key], ck) if src["class"] not in (ck, cr)]  # (speech: other classes)
                score = dict(zip(names, P[i].tolist()))
                e[key] = [{**src, "class_score": float(score.get(src["class"], float("nan")))}
                          for src in lead + runner + rest]
            out.append(e)
        return out

    def _prompt_sources(self, X: np.ndarray, top: int, classes: np.ndarray) -> list[dict[str, Any]]:
        """Per item, the ``top`` prompts of class ``classes[i]`` nearest to it (items and prompts share a space)."""
        from ._util import l2_normalize

        ce = self.class_embeddings_
        sims = l2_normalize(np.asarray(X, dtype=np.float32)) @ l2_normalize(ce.prompt_vectors).T
        where = {str(c): j for j, c in enumerate(ce.classes)}
        prompt_labels = np.asarray(ce.prompt_labels)
        out = []
        for i in range(len(sims)):
            c = str(self.classes_[int(classes[i])])
            idx = np.flatnonzero(prompt_labels == where.get(c, -1))
            order = idx[np.argsort(-sims[i, idx], kind="stable")][: int(top)]
            out.append({"label": c, "prompts": [
                {"prompt": ce.prompts[j] if j < len(ce.prompts) else f"prompt {j}", "class": c,
                 "similarity": float(sims[i, j])} for j in order]})
        return out

    # ------------------------------------------------------------------ scikit-learn API
    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """Logits ``(N, K)`` (calibrated when :meth:`calibrate` was called)."""
        check_fitted(self, "method_")
        return self.decision_function_encoded(self.encode(X))

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        """Probabilities ``(N, K)``, columns ordered as :attr:`classes_`."""
        check_fitted(self, "method_")
        return self.predict_proba_encoded(self.encode(X))

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        """Predicted class name per item."""
        check_fitted(self, "method_")
        return self.classes_[np.argmax(self.decision_function_encoded(self.encode(X)), axis=1)]

    # ------------------------------------------------------------------ calibration, transduction, decisions
    def calibrate(self, X: Sequence[Any], y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Fit a temperature (and per-class bias) on labelled items used *only* for calibration.

        Afterwards :meth:`predict_proba` (and everything built on it) is calibrated; the
        fitted :class:`~transzero.calibration.Calibrator` is ``calibrator_`` and is saved.
        """
        check_fitted(self, "method_")
        return self.calibrate_encoded(self.encode(X), y, bias=bias)

    def calibrate_encoded(self, X: np.ndarray, y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Like :meth:`calibrate`, from item vectors already encoded with this classifier's encoder."""
        from .calibration import Calibrator

        check_fitted(self, "method_")
        idx = label_indices(self.classes_, list(y), what="calibration example", fix="add it or drop those examples")
        self.calibrator_ = Calibrator(bias=bias).fit(self.method_.decision_function(X), idx)
        return self

    def transduce(
        self, X: Sequence[Any], unlabeled: Sequence[Any] | None = None, transduction: Any = None
    ) -> np.ndarray:
        """Probabilities of ``X`` adapted to the unlabelled items (``X`` itself plus ``unlabeled``).

        ``transduction`` is a :class:`~transzero.transductive.Transduction` (default: the encoder's modality's
        recipe, :func:`~transzero.transductive.default_transduction`). With too few items the
        inductive probabilities are returned; ``self.transduction_info_`` says what ran.
        """
        from .transductive import default_transduction

        check_fitted(self, "method_")
        Xv = self.encode(X)
        pool = Xv if unlabeled is None or not len(unlabeled) else np.concatenate([Xv, self.encode(unlabeled)])
        t = transduction if transduction is not None else default_transduction(self.encoder_.modality)
        P = t.adapt(pool, self.decision_function_encoded(pool))
        self.transduction_info_ = dict(t.info)
        return P[: len(Xv)]

    def predict_open_set(
        self, X: Sequence[Any], threshold: float, *, none_label: str = "none", score: str = "max_proba"
    ) -> np.ndarray:
        """Predicted labels, with ``none_label`` for items whose rejection score is below ``threshold``."""
        from .decisions import decide

        s = self.score_encoded(self.encode(X))
        d = decide(s.proba, self.classes_, logits=s.logits, reject=threshold, reject_score=score, none_label=none_label)
        return np.asarray(d.labels, dtype=object)

    def predict_multilabel(self, X: Sequence[Any], threshold: float | Sequence[float] = 0.5) -> list[list[str]]:
        """Every label whose multi-label score (:func:`~transzero.decisions.multilabel_scores`) reaches its threshold."""
        from .decisions import decide

        d = decide(self.predict_proba(X), self.classes_, multi_label=threshold)
        assert d.multi_labels is not None
        return d.multi_labels

    def explain(self, X: Sequence[Any], top: int = 5) -> list[dict[str, Any]]:
        """Why each item got its label: the method's explanation (e.g. the source concepts of a bridge)."""
        check_fitted(self, "method_")
        return self.explain_encoded(self.encode(X), top=top)

    def predict_batch(
        self,
        items: Sequence[Any],
        progress: ProgressCallback | None = None,
        explain: int = 0,
        *,
        transduction: Any = None,
        unlabeled: np.ndarray | None = None,
        reject: float | None = None,
        reject_score: str = "max_proba",
        none_label: str = "none",
        multi_label: float | Sequence[float] | None = None,
    ) -> BatchPredictions:
        """Like :meth:`predict_proba`, but bad items are reported instead of failing the batch.

        Parameters
        ----------
        explain : int
            Also return each item's explanation with its top ``N`` sources.
        transduction : Transduction, optional
            Adapt the probabilities to the (good) items themselves plus ``unlabeled`` (item
            vectors from :meth:`encode`); the inductive ones are kept in ``inductive_proba``.
        reject : float, optional
            Label items whose rejection score (``reject_score``) is below it ``none_label``.
        multi_label : float or sequence, optional
            Threshold(s) of the per-label decisions; fills ``multi_labels``.
        """
        from .decisions import check_threshold

        check_fitted(self, "method_")
        if explain and not self.can_explain:
            raise InputError(f"method {method_name(self.method_)!r} has no explanations here; use conse or wordnet")
        if reject is not None:
            reject = check_threshold(reject, reject_score)
        if transduction is not None and self._reads_items() and unlabeled is not None:
            raise InputError(f"method {method_name(self.method_)!r} reads raw items: unlabeled= is not supported with it "
                             "(yet); put the extra items among the items to classify")
        items = list(items)
        X, errors = self.encode_report(items, progress)
        N, K = len(items), len(self.classes_)
        good = [i for i in range(N) if i not in errors]
        out = BatchPredictions([None] * N, np.full((N, K), np.nan), [str(c) for c in self.classes_], errors)
        if not good:
            if explain:
                out.explanations = [None] * N
            return out
        r = self.predict_encoded(X[good], items=[items[i] for i in good], transduction=transduction,
                                 unlabeled=unlabeled, reject=reject, reject_score=reject_score, none_label=none_label,
                                 multi_label=multi_label, explain=explain)
        out.proba[good] = r.proba
        if r.uncalibrated_proba is not None:
            out.uncalibrated_proba = _scatter(r.uncalibrated_proba, good, N)
        if r.inductive_proba is not None:
            out.inductive_proba, out.transduction_info = _scatter(r.inductive_proba, good, N), r.transduction
        d = r.decisions
        for j, i in enumerate(good):
            out.labels[i] = d.labels[j]
        if d.scores is not None:
            out.scores = np.full(N, np.nan)
            out.scores[good] = d.scores
        if d.multi_labels is not None:
            out.multi_labels = [None] * N
            for j, i in enumerate(good):
                out.multi_labels[i] = d.multi_labels[j]
        if r.explanations is not None:
            out.explanations = [None] * N
            for i, e in zip(good, r.explanations):
                out.explanations[i] = e
        return out

    def predict_encoded(
        self,
        X: np.ndarray,
        *,
        items: Sequence[Any] | None = None,
        scores: Scores | None = None,
        transduction: Any = None,
        unlabeled: np.ndarray | None = None,
        adapted: np.ndarray | None = None,
        adaptation: dict[str, Any] | None = None,
        reject: float | Callable[[np.ndarray], float | None] | None = None,
        reject_score: str = "max_proba",
        none_label: str = "none",
        multi_label: float | Sequence[float] | None = None,
        explain: int = 0,
        transcripts: bool = False,
        stage: Callable[[str], Any] | None = None,
        info: Callable[[str], None] | None = None,
    ) -> EncodedPredictions:
        """The one prediction path over encoded items: score -> adapt -> decide -> explain.

        :meth:`predict_batch` and the pipeline's ``ClassifyPipeline`` both predict through it.

        Parameters
        ----------
        X : ndarray (N, D)
            Vectors of usable items (raw items, in an object array, for methods that read them).
        items : sequence, optional
            The raw items of ``X``: a raw-item method transduces over its encoder's vectors of them
            (:meth:`pair_for_transduction`).
        scores : Scores, optional
            The items' scores when already computed (elsewhere); else :meth:`score_encoded`.
        transduction : Transduction, optional
            Adapt to the items plus ``unlabeled`` vectors (:meth:`adapt_encoded`).
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
        info : callable, optional
            Receives one line when a raw-item method is paired with its encoder's vectors.
        """
        from .decisions import decide

        check_fitted(self, "method_")
        step = stage if stage is not None else (lambda name: contextlib.nullcontext())
        method_info = heard = None
        if scores is None:
            with step("score"):
                scores = self.score_encoded(X)
            method_info = self.method_.batch_info()
            if transcripts and self.method_tags.transcribes:  # remembered while scoring: no second pass
                with step("score"):
                    heard = self.method_.transcribe(list(X))
        p, z = scores.proba, scores.logits
        inductive, what = None, None
        if adapted is not None:
            inductive, what = p, adaptation
            p = np.asarray(adapted, dtype=np.float64)
        elif transduction is not None:
            inductive, X_adapt, pairing = p, X, None
            if self._reads_items():  # the method reads raw items: adapt over its encoder's vectors of them
                if items is None:
                    raise InputError(f"method {self.method_name!r} reads raw items: pass them (items=) to transduce")
                if info is not None:
                    what_items = "clips" if self.encoder_.modality == "audio" else "items"
                    info(f"transduction: pairing {self.method_name} with {self.encoder_.name} vectors of the same "
                         f"{len(items)} {what_items}")
                with step("encode"):
                    X_adapt, pairing = self.pair_for_transduction(items)
            elif np.asarray(X).dtype == object:
                raise InputError(f"method {self.method_name!r} reads clips, not vectors; transduce over the vectors "
                                 "of its paired audio encoder")
            with step("adapt"):
                p, what = self.adapt_encoded(transduction, X_adapt, z, unlabeled, paired=pairing is not None)
            if pairing is not None:
                what = {**what, "paired_encoder": pairing["encoder"],
                        "decisions": [pairing] + list(what.get("decisions", []))}
        if inductive is not None:
            z = np.log(np.maximum(p, 1e-300))
        threshold = reject(p) if callable(reject) else reject
        with step("decide"):
            d = decide(p, [str(c) for c in self.classes_], logits=z, reject=threshold, reject_score=reject_score,
                       none_label=none_label, multi_label=multi_label)
        out = EncodedPredictions(p, z, d, scores.uncalibrated_proba, inductive, what, threshold,
                                 method_info=method_info, transcripts=heard)
        if explain:
            with step("decide"):
                out.explanations = self.explain_encoded(X, top=int(explain), proba=p)
        return out

    def pair_for_transduction(self, items: Sequence[Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """:meth:`paired_vectors` of the items a raw-item method scored, and the transduction decision saying so."""
        V, n_unusable = self.paired_vectors(items)
        name = self.encoder_.name
        audio = self.encoder_.modality == "audio"
        what = "clips" if audio else "items"
        note = {"step": "pair", "encoder": name,
                "why": f"{self.method_name} reads {what}, so the neighbour graph uses {name} vectors of the same "
                       f"{what}" + (", z-scored per dimension" if audio else "")
                       + (f" ({n_unusable} could not be embedded: they keep the method's answer)" if n_unusable else "")}
        return V, note

    def adapt_encoded(
        self, transduction: Any, X: np.ndarray, logits: np.ndarray, unlabeled: np.ndarray | None = None, *,
        paired: bool = False,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Transductive probabilities of items ``X`` (with their ``logits``), adapted on them plus ``unlabeled``.

        ``paired``: ``X`` are another encoder's vectors of the items a raw-item method scored (speech), so the
        neighbour graph must first agree with the method's labels (a recipe without its own ``min_agreement`` gets
        :data:`~transzero.transductive.PAIRED_MIN_AGREEMENT`). Returns the adapted probabilities of ``X`` and what
        the adaptation did.
        """
        if paired and transduction.min_agreement is None:
            import dataclasses

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
            pool_z = np.concatenate([logits, self.decision_function_encoded(unlabeled)])
        P = transduction.adapt(pool_X, pool_z)[: len(X)]
        return P, dict(transduction.info)

    # ------------------------------------------------------------------ persistence
    def task_config(self, folder: ModelFolder, prefix: str = "") -> dict[str, Any]:
        """This classifier's task part of a saved folder: labels, class vectors, method, calibration."""
        check_fitted(self, "method_")
        cal = getattr(self, "calibrator_", None)
        return {
            "labels": self.label_space_.to_dict(),
            "class_embeddings": self.class_embeddings_.save_config(folder, prefix),
            "method": self.method_.save_config(folder, f"{prefix}method."),
            "calibration": cal.save_config() if cal is not None else None,
            "concept_names": self.concept_names,
            "concept_templates": self.concept_templates,
            "batch_size": self.batch_size,
        }

    def encoder_configs(self, folder: ModelFolder) -> dict[str, Any]:
        """The encoders' part of a saved folder (``encoder``, ``label_encoder``)."""
        enc = self.encoder_.save_config(folder)
        label = enc if self.label_encoder_ is self.encoder_ else self.label_encoder_.save_config(folder)
        return {"encoder": enc, "label_encoder": label}

    def save(self, path: str | os.PathLike[str], *, extras: Mapping[str, bytes] | None = None) -> Path:
        """Write the fitted classifier as a folder of JSON + ``.npy`` files (no pickle), atomically.

        An existing saved classifier at ``path`` is replaced; a folder holding other files is refused.
        ``extras`` (bare file name -> bytes) are written into the folder in the same step (a service keeps
        its own state beside the classifier); loading never reads them.
        """
        check_fitted(self, "method_")
        with write_folder_atomically(path) as folder:
            config = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "classifier",
                      **self.encoder_configs(folder), "tasks": [{"name": None, **self.task_config(folder)}]}
            folder.write_config(config)
            for name, data in (extras or {}).items():
                folder.path(name).write_bytes(data)
        return Path(path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, encoder: str | Encoder | None = None, cache: Any = False,
        allow_download: bool = False,
    ) -> ZeroShotClassifier:
        """Read a folder written by :meth:`save`. Loading runs no code from the folder and reads nothing outside it.

        The whole ``config.json`` is validated first, every array must be finite and of the shape the classes
        need, and no pickle is ever read. ``encoder`` names the encoder yourself (e.g. a model moved to another
        path, or one outside the folder such as ``hf:/models/clip``); its fingerprint must match the saved one.
        A saved ``hub:`` encoder downloads only with ``allow_download=True``.
        """
        folder = ModelFolder(path)
        cfg = read_classifier_config(folder)
        if cfg.get("kind", "classifier") != "classifier":
            raise SavedModelError(f"{path} holds a {cfg.get('kind')} classifier; load it with transzero.load_classifier")
        enc, label_enc = load_encoders(cfg, folder, encoder, allow_download=allow_download)
        return cls.from_task_config(cfg["tasks"][0], folder, enc, label_enc, cache=cache)

    @classmethod
    def from_task_config(
        cls, task: Mapping[str, Any], folder: ModelFolder, encoder: Encoder, label_encoder: Encoder, *, cache: Any = False
    ) -> ZeroShotClassifier:
        """A fitted classifier from its task part of a saved folder (:meth:`task_config`) and its encoders."""
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
        if get_tags(method).text_encoder and getattr(method, "text_encoder_", None) is None:
            method.text_encoder_ = label_encoder  # methods that embed text they produce (transcripts) use it
        _check_method(method, labels.names, where)
        clf = cls(labels=labels, encoder=encoder, method=method, cache=cache, batch_size=task.get("batch_size"),
                  label_encoder=None if label_encoder is encoder else label_encoder,
                  concept_names=task.get("concept_names", "clean"), concept_templates=task.get("concept_templates"))
        clf.label_space_, clf.encoder_, clf.label_encoder_ = labels, encoder, label_encoder
        clf.cache_ = clf._resolve_cache()
        labels.set_embedding(label_encoder.fingerprint, ce)
        clf.class_embeddings_ = ce
        clf.method_ = method
        clf.classes_ = method.classes_
        if task.get("calibration"):
            clf.calibrator_ = Calibrator.from_config(task["calibration"], len(clf.classes_))
        return clf


def _check_method(method: ZeroShotMethod, classes: Sequence[str], where: str) -> None:
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


def _scatter(rows: np.ndarray, good: list[int], n: int) -> np.ndarray:
    out = np.full((n, rows.shape[1]), np.nan)
    out[good] = rows
    return out


def read_classifier_config(folder: ModelFolder) -> dict[str, Any]:
    """``config.json`` of a saved classifier in the current format (format 1 folders are converted)."""
    from .schema import validate_config

    cfg = folder.read_config()
    if not isinstance(cfg, dict):
        raise SavedModelError(f"{folder.root}: config.json holds a {type(cfg).__name__}, not an object; "
                              "save the classifier again")
    if cfg.get("format") != FORMAT:
        raise SavedModelError(f"{folder.root}: not a transzero classifier (config.json has no format {FORMAT!r})")
    version = cfg.get("format_version")
    if version == 1:
        try:
            cfg = _from_format_1(cfg)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SavedModelError(f"{folder.root}: config.json (format 1) is missing or mistypes {exc}; "
                                  "save the classifier again") from None
    elif version != FORMAT_VERSION:
        raise SavedModelError(f"{folder.root}: unsupported format_version {version!r} (this transzero reads 1 and "
                              f"{FORMAT_VERSION}); save it again with this version")
    return validate_config(cfg, str(folder.root))


def _from_format_1(cfg: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (a single classifier; arrays listed by name) in the shape of format 2."""
    arrays = set(cfg.get("arrays") or [])
    m = dict(cfg["method"])
    m["arrays"] = {a.split(".", 1)[1]: f"{a}.npy" for a in arrays if a.startswith("method.")}
    cal = cfg.get("calibration")
    if cal:
        cal = {**cal, "use_bias": True}  # format 1 wrote the bias flag and the biases under one key
    task = {"name": None, "labels": cfg["labels"], "method": m, "calibration": cal,
            "class_embeddings": {"vectors": "class_vectors.npy", "prompt_vectors": "prompt_vectors.npy",
                                 "prompt_labels": "prompt_labels.npy", "prompts": cfg.get("prompts", [])},
            "concept_names": cfg.get("concept_names", "clean"), "concept_templates": cfg.get("concept_templates"),
            "batch_size": cfg.get("batch_size")}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "classifier", "encoder": cfg["encoder"],
            "label_encoder": cfg.get("label_encoder") or cfg["encoder"], "tasks": [task]}


def load_encoders(cfg: Mapping[str, Any], folder: ModelFolder, override: str | Encoder | None = None, *,
                  allow_download: bool = False) -> tuple[Encoder, Encoder]:
    """The item encoder and the label encoder a saved classifier names (fingerprints checked)."""
    enc = encoder_from_config(cfg["encoder"], folder, override=override, allow_download=allow_download)
    le_cfg = cfg.get("label_encoder") or cfg["encoder"]
    if le_cfg["fingerprint"] == enc.fingerprint:
        return enc, enc
    if isinstance(enc, HasTextTower) and enc.text_encoder().fingerprint == le_cfg["fingerprint"]:
        return enc, enc.text_encoder()
    return enc, encoder_from_config(le_cfg, folder, allow_download=allow_download)
