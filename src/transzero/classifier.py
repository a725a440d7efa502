"""ZeroShotClassifier: the raw-item facade (encoder + cache + :class:`~transzero.head.ClassifierHead`).

The head scores, calibrates, adapts, decides, explains and saves on vectors; this class resolves what the
estimator's parameters name (labels, encoders, cache, method), builds the method's fit context from its tags,
encodes raw items and keeps the scikit-learn API over them. Reading saved folders is :mod:`transzero.saved_format`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._estimator import ClassifierEstimator, check_fitted, clone
from .defaults import DEFAULT_METHOD, text_side_encoder
from .encoders import Encoder, HasConceptHead, HasTextTower, ProgressCallback, create_encoder, shares_space
from .errors import InputError
from .head import ClassifierHead
from .labels import ClassEmbeddings, LabelSpace, concept_label_space
from .methods.base import ZeroShotMethod
from .methods.concept_head import ConceptHead
from .methods.registry import create_method, method_name
from .methods.tags import FitContext, MethodTags, get_tags
from .persistence import ModelFolder, write_folder_atomically
from .predictions import BatchPredictions, Predictions, Scores
from .saved_format import FORMAT, FORMAT_VERSION, load_encoders, read_classifier_config
from .store import EmbeddingCache, encode_items

__all__ = ["BatchPredictions", "EncodedPredictions", "FORMAT", "FORMAT_VERSION", "Scores", "ZeroShotClassifier"]

#: the result of :meth:`ZeroShotClassifier.predict_encoded` (the one :class:`~transzero.predictions.Predictions` type)
EncodedPredictions = Predictions


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

    # ------------------------------------------------------------------ the head's state, as fitted attributes
    @property
    def method_(self) -> ZeroShotMethod:
        """The fitted method (the head's)."""
        return self.head_.method

    @method_.setter
    def method_(self, method: ZeroShotMethod) -> None:
        self.head_.method = method

    @property
    def classes_(self) -> np.ndarray:
        """Class names, in the order of the score columns."""
        return self.head_.classes_

    @property
    def class_embeddings_(self) -> ClassEmbeddings:
        """The classes embedded by the label encoder (the head's)."""
        return self.head_.class_embeddings

    @class_embeddings_.setter
    def class_embeddings_(self, value: ClassEmbeddings) -> None:
        self.head_.class_embeddings = value

    @property
    def label_space_(self) -> LabelSpace:
        """The classes as described (after language and modality prompts)."""
        return self.head_.label_space

    @property
    def calibrator_(self) -> Any:
        """The fitted :class:`~transzero.calibration.Calibrator`, or None."""
        return self.head_.calibrator

    @calibrator_.setter
    def calibrator_(self, value: Any) -> None:
        self.head_.calibrator = value

    @property
    def selection_(self) -> dict[str, Any]:
        """``method="auto"``: the cross-validation that chose the method."""
        if self.head_.selection is None:
            raise AttributeError("selection_")
        return self.head_.selection

    @property
    def method_name(self) -> str:
        """The registered name of the (fitted or configured) method."""
        head = getattr(self, "head_", None)
        if head is not None:
            return head.name
        return method_name(self.method if isinstance(self.method, ZeroShotMethod) else create_method(str(self.method)))

    @property
    def method_tags(self) -> MethodTags:
        """The fitted (or configured) method's :class:`~transzero.methods.tags.MethodTags`."""
        head = getattr(self, "head_", None)
        if head is not None:
            return head.tags
        return get_tags(self.method if isinstance(self.method, ZeroShotMethod) else create_method(str(self.method)))

    # ------------------------------------------------------------------ fitting
    def prepare(self, *, label_progress: Any = None) -> ZeroShotClassifier:
        """Resolve the labels, encoders, cache and method and embed the classes, without fitting the method.

        :meth:`fit` and :meth:`fit_encoded` start with it; call it alone to :meth:`encode_report` items
        with this classifier's encoder and cache before fitting (learning curves, jobs). ``label_progress``:
        a progress factory (``Reporter.progress``: ``(what, total, unit)`` -> a context yielding ``advance(n)``)
        for encoding a large label space's prompts (thousands of labels take minutes).
        """
        space = self.resolve_labels()
        if self.language:  # items in another language: the default prompts in it, where translated
            space = space.for_language(self.language)
        self.encoder_ = self._resolve_encoder()
        self.cache_ = self._resolve_cache()
        self.label_encoder_ = self._resolve_label_encoder(self.encoder_)
        if self.encoder_.modality != "text" and isinstance(self.encoder_, HasTextTower) and not self.label_encoder:
            # a vision/audio-language model's own text tower: that modality's default prompts (e.g. "a photo of a {}.")
            space = space.for_modality(self.encoder_.modality)
        embeddings = self._embed_labels(space, label_progress)
        self.head_ = ClassifierHead(self._resolve_method(), embeddings, space,
                                    aligned=shares_space(self.encoder_, self.label_encoder_))
        self._context = self._fit_context(self.head_.tags)
        return self

    #: label spaces with at least this many prompts report their encoding's progress
    LABEL_PROGRESS_MIN = 500

    def _embed_labels(self, space: LabelSpace, label_progress: Any) -> ClassEmbeddings:
        n_prompts = space.n_prompts() if space.semantic_kind == "text" else 0
        if label_progress is None or n_prompts < self.LABEL_PROGRESS_MIN or space.is_embedded(self.label_encoder_):
            return space.embed(self.label_encoder_, self.cache_)
        with label_progress(f"encode labels ({len(space.names)} classes)", n_prompts, "prompts") as advance:
            return space.embed(self.label_encoder_, self.cache_, progress=advance)

    def _concept_head(self) -> ConceptHead | None:
        """The encoder's concept classifier with its concepts' text vectors (None when it has none)."""
        enc = self.encoder_
        if not isinstance(enc, HasConceptHead):
            return None
        concepts = enc.concepts()
        space = concept_label_space(concepts, names=self.concept_names, templates=self.concept_templates)
        emb = space.embed(self.label_encoder_, self.cache_)
        W, b = enc.concept_head()
        return ConceptHead(W, b, emb.vectors, [c.name for c in concepts], [c.wnid for c in concepts])

    #: what each :attr:`MethodTags.context` field is filled with
    CONTEXT_FIELDS: dict[str, Callable[[ZeroShotClassifier], Any]] = {
        "aligned": lambda clf: clf.head_.aligned,
        "concept_head": lambda clf: clf._concept_head(),
        "text_encoder": lambda clf: clf.label_encoder_,
        "encoder": lambda clf: clf.encoder_,
        "label_space": lambda clf: clf.head_.label_space,
    }

    def _fit_context(self, tags: MethodTags) -> FitContext:
        """The :class:`FitContext` the method's tags ask for (one-line errors for combinations that cannot work)."""
        name = self.head_.name
        if tags.raw_items and self.encoder_.modality != tags.item_modality:
            what = "recognises speech" if tags.item_modality == "audio" else f"reads {tags.item_modality}s"
            raise InputError(f"method {name!r} {what}; it needs {tags.item_modality} items "
                             f"(--encoder {self.encoder_.name} reads {self.encoder_.modality})")
        if tags.one_space and not self.head_.aligned:
            raise InputError(
                f"method {name!r} compares items and class descriptions in one space, but "
                f"{self.encoder_.name} ({self.encoder_.modality}) has no text tower; use a bridge such as --method conse"
            )
        fields = {f: self.CONTEXT_FIELDS[f](self) for f in sorted(tags.context)}
        return FitContext(self.head_.class_embeddings, self.label_encoder_.default_logit_scale, **fields)

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
        tags = self.head_.tags
        Xv = self.encode(X) if X is not None else None
        ctx = self._context
        if tags.trains_encoder and X is not None:  # fine-tuning trains the encoder itself
            space = self.head_.label_space
            ctx = FitContext.build(ctx, items=list(X), encoder=self.encoder_,
                                   reembed=lambda enc: space.embed(enc, self.cache_))
        self.head_.fit(Xv, y, ctx)
        if tags.trains_encoder:
            new_encoder = self.method_.encoder_
            if self.label_encoder_ is self.encoder_ and hasattr(self.method_, "class_embeddings_new_"):
                self.label_encoder_ = new_encoder  # aligned: classes live in the new space too
                self.head_.class_embeddings = self.method_.class_embeddings_new_
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
        self.head_.fit(None if X is None else np.asarray(X, dtype=np.float32), y, self._context)
        return self

    # ------------------------------------------------------------------ encoding
    def _reads_items(self) -> bool:
        head = getattr(self, "head_", None)
        return head is not None and head.tags.raw_items

    def _clips_report(self, items: list[Any], progress: ProgressCallback | None) -> tuple[np.ndarray, dict[int, str]]:
        """For methods that read items themselves: decoded mono clips (speech) or the items as given (ocr), in an
        object array, bad items reported."""
        from ._util import item_error
        from .data.audio import load_audio
        from .data.images import load_image

        m = self.method_
        out = np.empty(len(items), dtype=object)
        errors: dict[int, str] = {}
        audio = self.head_.tags.item_modality == "audio"
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

    # ------------------------------------------------------------------ encoded items: the head
    def score_encoded(self, X: np.ndarray) -> Scores:
        """Logits and probabilities of item vectors (calibrated when :meth:`calibrate` was called)."""
        check_fitted(self, "method_")
        return self.head_.score(X)

    def decision_function_encoded(self, X: np.ndarray) -> np.ndarray:
        """Logits ``(N, K)`` of item vectors (calibrated when :meth:`calibrate` was called)."""
        return self.score_encoded(X).logits

    def predict_proba_encoded(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, K)`` of item vectors."""
        return self.score_encoded(X).proba

    @property
    def can_explain(self) -> bool:
        """True when :meth:`explain` works: the method explains itself, or items and prompts share a space."""
        return self.head_.can_explain

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
        return self.head_.explain(X, top, proba=proba)

    def calibrate_encoded(self, X: np.ndarray, y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Like :meth:`calibrate`, from item vectors already encoded with this classifier's encoder."""
        check_fitted(self, "method_")
        self.head_.calibrate(X, y, bias=bias)
        return self

    def adapt_encoded(
        self, transduction: Any, X: np.ndarray, logits: np.ndarray, unlabeled: np.ndarray | None = None, *,
        paired: bool = False,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Transductive probabilities of items ``X`` (with their ``logits``): :meth:`ClassifierHead.adapt`."""
        check_fitted(self, "method_")
        return self.head_.adapt(transduction, X, logits, unlabeled, paired=paired)

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

    def predict_encoded(
        self,
        X: np.ndarray,
        *,
        items: Sequence[Any] | None = None,
        scores: Scores | None = None,
        transduction: Any = None,
        info: Callable[[str], None] | None = None,
        **options: Any,
    ) -> Predictions:
        """The one prediction path over encoded items (:meth:`ClassifierHead.predict`: score -> adapt -> decide ->
        explain); a method that reads raw items transduces over this classifier's encoder's vectors of ``items``.

        ``options``: :meth:`ClassifierHead.predict`'s (``unlabeled``, ``adapted``/``adaptation``, ``reject``,
        ``reject_score``, ``none_label``, ``multi_label``, ``explain``, ``transcripts``, ``stage``). ``info``
        receives one line when a raw-item method is paired with its encoder's vectors.
        """
        check_fitted(self, "method_")
        pair: Callable[[], tuple[np.ndarray, dict[str, Any]]] | None = None
        if transduction is not None and self._reads_items() and options.get("adapted") is None:
            if items is None:
                raise InputError(f"method {self.method_name!r} reads raw items: pass them (items=) to transduce")
            raw = list(items)

            def paired() -> tuple[np.ndarray, dict[str, Any]]:
                if info is not None:
                    what = "clips" if self.encoder_.modality == "audio" else "items"
                    info(f"transduction: pairing {self.method_name} with {self.encoder_.name} vectors of the same "
                         f"{len(raw)} {what}")
                return self.pair_for_transduction(raw)

            pair = paired
        return self.head_.predict(X, scores=scores, transduction=transduction, pair=pair, **options)

    # ------------------------------------------------------------------ scikit-learn API over raw items
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

    def calibrate(self, X: Sequence[Any], y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Fit a temperature (and per-class bias) on labelled items used *only* for calibration.

        Afterwards :meth:`predict_proba` (and everything built on it) is calibrated; the
        fitted :class:`~transzero.calibration.Calibrator` is ``calibrator_`` and is saved.
        """
        check_fitted(self, "method_")
        return self.calibrate_encoded(self.encode(X), y, bias=bias)

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
        r = self.predict_encoded(self.encode(X), reject=threshold, reject_score=score, none_label=none_label)
        return np.asarray(r.labels, dtype=object)

    def predict_multilabel(self, X: Sequence[Any], threshold: float | Sequence[float] = 0.5) -> list[list[str]]:
        """Every label whose multi-label score (:func:`~transzero.decisions.multilabel_scores`) reaches its threshold."""
        r = self.predict_encoded(self.encode(X), multi_label=threshold)
        assert r.multi_labels is not None
        return r.multi_labels

    def explain(self, X: Sequence[Any], top: int = 5) -> list[dict[str, Any]]:
        """Why each item got its label: the method's explanation (e.g. the source concepts of a bridge)."""
        check_fitted(self, "method_")
        return self.explain_encoded(self.encode(X), top=top)

    def predict_batch(self, items: Sequence[Any], progress: ProgressCallback | None = None, explain: int = 0,
                      **options: Any) -> BatchPredictions:
        """Like :meth:`predict_proba`, but bad items are reported instead of failing the batch: the one prediction
        path (:meth:`predict_items`) laid out per item (:meth:`Predictions.per_item`)."""
        return self.predict_items(items, progress, explain=explain, **options).per_item()

    def predict_items(
        self,
        items: Sequence[Any],
        progress: ProgressCallback | None = None,
        *,
        explain: int = 0,
        transduction: Any = None,
        unlabeled: np.ndarray | None = None,
        reject: float | None = None,
        reject_score: str = "max_proba",
        none_label: str = "none",
        multi_label: float | Sequence[float] | None = None,
    ) -> Predictions:
        """Encode raw items (bad ones reported, not raised) and predict the rest through :meth:`predict_encoded`.

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

        Returns
        -------
        Predictions
            ``positions``: the items' indices that were predicted; ``errors``: the others.
        """
        from .decisions import check_threshold
        from .encoded import Encoded

        check_fitted(self, "method_")
        if explain and not self.can_explain:
            raise InputError(f"method {self.method_name!r} has no explanations here; use conse or wordnet")
        if reject is not None:
            reject = check_threshold(reject, reject_score)
        if transduction is not None and self._reads_items() and unlabeled is not None:
            raise InputError(f"method {self.method_name!r} reads raw items: unlabeled= is not supported with it "
                             "(yet); put the extra items among the items to classify")
        items = list(items)
        enc = Encoded.from_report(*self.encode_report(items, progress))
        if not len(enc):
            out = Predictions.empty([str(c) for c in self.classes_], enc.errors)
            out.explanations = [] if explain else None
            return out
        r = self.predict_encoded(enc.X, items=[items[i] for i in enc.positions], transduction=transduction,
                                 unlabeled=unlabeled, reject=reject, reject_score=reject_score, none_label=none_label,
                                 multi_label=multi_label, explain=explain)
        return r.at(enc.positions, enc.errors, X=enc.X)

    # ------------------------------------------------------------------ persistence
    def task_config(self, folder: ModelFolder, prefix: str = "") -> dict[str, Any]:
        """This classifier's task part of a saved folder: the head's (labels, class vectors, method, calibration)
        and how concepts and batches were set."""
        check_fitted(self, "method_")
        return {**self.head_.save_config(folder, prefix), "concept_names": self.concept_names,
                "concept_templates": self.concept_templates, "batch_size": self.batch_size}

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
        from .errors import SavedModelError

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
        head = ClassifierHead.from_config(dict(task), folder, label_encoder, aligned=shares_space(encoder, label_encoder))
        clf = cls(labels=head.label_space, encoder=encoder, method=head.method, cache=cache,
                  batch_size=task.get("batch_size"), label_encoder=None if label_encoder is encoder else label_encoder,
                  concept_names=task.get("concept_names", "clean"), concept_templates=task.get("concept_templates"))
        clf.encoder_, clf.label_encoder_ = encoder, label_encoder
        clf.cache_ = clf._resolve_cache()
        head.label_space.set_embedding(label_encoder.fingerprint, head.class_embeddings)
        clf.head_ = head
        return clf
