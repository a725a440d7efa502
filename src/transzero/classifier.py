"""ZeroShotClassifier: encoder + label space + method behind the scikit-learn contract."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from .defaults import DEFAULT_METHOD, default_encoder
from .encoders import Encoder, ProgressCallback, create_encoder
from .errors import InputError, SavedModelError
from .labels import ClassEmbeddings, LabelSpace
from .methods import ConceptHead, ZeroShotMethod, create_method
from .store import EmbeddingCache

__all__ = ["ZeroShotClassifier", "BatchPredictions", "load_classifier"]

FORMAT = "transzero-classifier"
FORMAT_VERSION = 1


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


class ZeroShotClassifier(ClassifierMixin, BaseEstimator):
    """Classify raw items into classes described only by a :class:`LabelSpace`.

    Parameters
    ----------
    labels : LabelSpace or sequence of str
        The classes. A plain list of names becomes ``LabelSpace(names)``.
    encoder : str or Encoder, optional
        Registry name / ``scheme:path`` or an encoder object; default: the documented
        default for text (:data:`transzero.defaults.DEFAULT_ENCODERS`).
    method : str or ZeroShotMethod
        ``"similarity"`` (default) or ``"knn"``, or an estimator object.
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

    # ------------------------------------------------------------------ pieces
    def _resolve_labels(self) -> LabelSpace:
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
        return create_encoder(self.encoder or default_encoder("text"))

    def _resolve_label_encoder(self, encoder: Encoder) -> Encoder:
        if isinstance(self.label_encoder, Encoder):
            return self.label_encoder
        if self.label_encoder:
            return create_encoder(self.label_encoder)
        if encoder.modality == "text":
            return encoder
        if hasattr(encoder, "text_encoder"):  # vision-language model: its own aligned text tower
            return encoder.text_encoder()
        return create_encoder(default_encoder("text"))

    def _concept_head(self) -> ConceptHead:
        from .concepts import concept_label_space

        enc = self.encoder_
        if not (hasattr(enc, "concepts") and hasattr(enc, "concept_head")):
            raise InputError(
                f"method {_method_name(self.method_)!r} needs an encoder with a concept head; "
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

    # ------------------------------------------------------------------ API
    def fit(self, X: Sequence[Any] | None = None, y: Sequence[Any] | None = None) -> ZeroShotClassifier:
        """Embed the label space and set up the method.

        Parameters
        ----------
        X, y : optional
            Labelled examples (raw items and class names) for methods that learn from
            them (``knn``). Zero-shot needs neither: ``clf.fit()``.

        Returns
        -------
        self
        """
        fit_params = self._prepare()
        Xv = self.encode(X) if X is not None else None
        if getattr(self.method_, "needs_items", False) and X is not None:
            fit_params.update(items=list(X), encoder=self.encoder_,  # fine-tuning trains the encoder itself
                              reembed=lambda enc: self.label_space_.embed(enc, self.cache_))
        self._fit_method(Xv, y, fit_params)
        if getattr(self.method_, "needs_items", False):
            if self.label_encoder_ is self.encoder_ and hasattr(self.method_, "class_embeddings_new_"):
                self.label_encoder_ = self.method_.encoder_  # aligned: classes live in the new space too
                self.class_embeddings_ = self.method_.class_embeddings_new_
            self.encoder_ = self.method_.encoder_
        return self

    def fit_encoded(self, X: np.ndarray | None = None, y: Sequence[Any] | None = None) -> ZeroShotClassifier:
        """Like :meth:`fit`, from item vectors already encoded with this classifier's encoder.

        For learning curves: encode the support set once (:meth:`encode`), then fit many
        times on subsets of it (label and concept embeddings are memoised).
        """
        fit_params = self._prepare()
        self._fit_method(None if X is None else np.asarray(X, dtype=np.float32), y, fit_params)
        return self

    def _prepare(self) -> dict[str, Any]:
        """Resolve labels, encoders, cache and method; embed the classes; the method's fit params."""
        self.label_space_ = self._resolve_labels()
        self.encoder_ = self._resolve_encoder()
        self.cache_ = self._resolve_cache()
        self.label_encoder_ = self._resolve_label_encoder(self.encoder_)
        self.class_embeddings_ = self.label_space_.embed(self.label_encoder_, self.cache_)
        self.method_ = self._resolve_method()
        fit_params: dict[str, Any] = {}
        if getattr(self.method_, "uses_zero_shot", False):  # few-shot: a zero-shot prior of the encoder's kind
            fit_params["aligned"] = _aligned(self.encoder_, self.label_encoder_)
            if not fit_params["aligned"] and hasattr(self.encoder_, "concept_head"):
                fit_params["concept_head"] = self._concept_head()
        elif getattr(self.method_, "reads_items", False):  # speech recognisers read the clips themselves
            if self.encoder_.modality != "audio":
                raise InputError(f"method {_method_name(self.method_)!r} recognises speech; it needs audio items "
                                 f"(--encoder {self.encoder_.name} reads {self.encoder_.modality})")
            fit_params["text_encoder"] = self.label_encoder_
        elif getattr(self.method_, "maps_semantics", False):
            pass  # classical ZSL: learns the feature-semantics map from fit(X, y); no shared space needed
        elif getattr(self.method_, "needs_concepts", False):
            if hasattr(self.encoder_, "concept_head") or not getattr(self.method_, "learns_from_labels", False):
                fit_params["concept_head"] = self._concept_head()  # (conse fitted on labels uses the seen classes)
        elif not _aligned(self.encoder_, self.label_encoder_):
            raise InputError(
                f"method {_method_name(self.method_)!r} compares items and class descriptions in one space, but "
                f"{self.encoder_.name} ({self.encoder_.modality}) has no text tower; use a bridge such as --method conse"
            )
        return fit_params

    def _fit_method(self, Xv: np.ndarray | None, y: Any, fit_params: dict[str, Any]) -> None:
        self.method_.fit(
            Xv, y, class_embeddings=self.class_embeddings_,
            default_logit_scale=self.label_encoder_.default_logit_scale, **fit_params,
        )
        self.classes_ = self.method_.classes_

    def _reads_items(self) -> bool:
        return bool(getattr(getattr(self, "method_", None), "reads_items", False))

    def _clips_report(self, items: list[Any], progress: ProgressCallback | None) -> tuple[np.ndarray, dict[int, str]]:
        """For methods that read audio themselves: decoded mono clips (an object array), bad clips reported."""
        from .data.audio import load_audio

        m = self.method_
        out = np.empty(len(items), dtype=object)
        errors: dict[int, str] = {}
        for i, it in enumerate(items):
            try:
                self.encoder_.validate([it])
                out[i] = load_audio(it, m.sample_rate, min_seconds=m.min_seconds)
            except InputError as exc:
                errors[i] = str(exc).split(": ", 1)[1] if str(exc).startswith("item ") else str(exc)
                out[i] = None
            if progress:
                progress(1)
        return out, errors

    def encode(self, items: Sequence[Any], progress: ProgressCallback | None = None) -> np.ndarray:
        """Item vectors ``(N, D)`` from the fitted encoder (through the cache when enabled).

        For methods that read raw audio (``asr-grammar``, ``asr-text``): the decoded clips.
        """
        if self._reads_items():
            clips, errors = self._clips_report(list(items), progress)
            if errors:
                i, msg = next(iter(errors.items()))
                raise InputError(f"item {i}: {msg}")
            return clips
        enc = self.encoder_ if hasattr(self, "encoder_") else self._resolve_encoder()
        cache = self.cache_ if hasattr(self, "cache_") else self._resolve_cache()
        if isinstance(items, (str, bytes)):
            raise InputError("pass a list of items, not a single string: clf.predict([text])")
        if cache is not None:
            return cache.encode(enc, list(items), batch_size=self.batch_size, progress=progress)
        return enc.encode(list(items), batch_size=self.batch_size, progress=progress)

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """Logits ``(N, K)`` (calibrated when :meth:`calibrate` was called)."""
        check_is_fitted(self, "method_")
        return self._logits(self.encode(X))

    def _logits(self, Xv: np.ndarray) -> np.ndarray:
        z = self.method_.decision_function(Xv)
        cal = getattr(self, "calibrator_", None)
        return z if cal is None else cal.transform(z)

    def _proba(self, Xv: np.ndarray) -> np.ndarray:
        if getattr(self, "calibrator_", None) is None:
            return self.method_.predict_proba(Xv)
        return softmax(self._logits(Xv).astype(np.float64), axis=1)

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        """Probabilities ``(N, K)``, columns ordered as :attr:`classes_`."""
        check_is_fitted(self, "method_")
        return self._proba(self.encode(X))

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        """Predicted class name per item."""
        check_is_fitted(self, "method_")
        return self.classes_[np.argmax(self._logits(self.encode(X)), axis=1)]

    # ------------------------------------------------------------------ calibration, transduction, decisions
    def calibrate(self, X: Sequence[Any], y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Fit a temperature (and per-class bias) on labelled items used *only* for calibration.

        Afterwards :meth:`predict_proba` (and everything built on it) is calibrated; the
        fitted :class:`~transzero.calibration.Calibrator` is ``calibrator_`` and is saved.
        """
        check_is_fitted(self, "method_")
        return self.calibrate_encoded(self.encode(X), y, bias=bias)

    def calibrate_encoded(self, X: np.ndarray, y: Sequence[Any], *, bias: bool = True) -> ZeroShotClassifier:
        """Like :meth:`calibrate`, from item vectors already encoded with this classifier's encoder."""
        from .calibration import Calibrator

        check_is_fitted(self, "method_")
        idx = self._class_indices(y, "calibration")
        self.calibrator_ = Calibrator(bias=bias).fit(self.method_.decision_function(X), idx)
        return self

    def _class_indices(self, y: Sequence[Any], what: str) -> np.ndarray:
        index = {str(c): i for i, c in enumerate(self.classes_)}
        labels = [str(v) for v in y]
        unknown = sorted({v for v in labels if v not in index})
        if unknown:
            raise InputError(f"{what} label {unknown[0]!r} is not one of the classes; add it or drop those examples")
        return np.asarray([index[v] for v in labels], dtype=np.int64)

    def transduce(
        self, X: Sequence[Any], unlabeled: Sequence[Any] | None = None, transduction: Any = None
    ) -> np.ndarray:
        """Probabilities of ``X`` adapted to the unlabelled items (``X`` itself plus ``unlabeled``).

        ``transduction`` is a :class:`~transzero.transductive.Transduction` (default recipe:
        neighbour-graph propagation, then class balancing). With too few items the
        inductive probabilities are returned; ``self.transduction_info_`` says what ran.
        """
        from .transductive import Transduction

        check_is_fitted(self, "method_")
        Xv = self.encode(X)
        pool = Xv if unlabeled is None or not len(unlabeled) else np.concatenate([Xv, self.encode(unlabeled)])
        t = transduction if transduction is not None else Transduction()
        P = t.adapt(pool, self._logits(pool))
        self.transduction_info_ = dict(t.info)
        return P[: len(Xv)]

    def predict_open_set(
        self, X: Sequence[Any], threshold: float, *, none_label: str = "none", score: str = "max_proba"
    ) -> np.ndarray:
        """Predicted labels, with ``none_label`` for items whose rejection score is below ``threshold``."""
        from .decisions import check_threshold, rejection_scores

        t = check_threshold(threshold, score)
        Xv = self.encode(X)
        z = self._logits(Xv)
        s = rejection_scores(softmax(z.astype(np.float64), axis=1), z, score)
        out = self.classes_[np.argmax(z, axis=1)].astype(object)
        out[s < t] = none_label
        return out

    def predict_multilabel(self, X: Sequence[Any], threshold: float | Sequence[float] = 0.5) -> list[list[str]]:
        """Every label whose multi-label score (:func:`~transzero.decisions.multilabel_scores`) reaches its threshold."""
        from .decisions import label_thresholds, multilabel_scores

        th = label_thresholds(threshold, len(self.classes_))
        S = multilabel_scores(self.predict_proba(X))
        return [[str(self.classes_[k]) for k in np.flatnonzero(row >= th)] for row in S]

    def explain(self, X: Sequence[Any], top: int = 5) -> list[dict[str, Any]]:
        """Why each item got its label: the method's explanation (e.g. the source concepts of a bridge)."""
        check_is_fitted(self, "method_")
        if not hasattr(self.method_, "explain"):
            raise InputError(f"method {_method_name(self.method_)!r} has no explanations; use conse or wordnet")
        return self.method_.explain(self.encode(X), top=top)

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
        from .decisions import check_threshold, label_thresholds, multilabel_scores, rejection_scores

        check_is_fitted(self, "method_")
        if explain and not hasattr(self.method_, "explain"):
            raise InputError(f"method {_method_name(self.method_)!r} has no explanations; use conse or wordnet")
        if reject is not None:
            reject = check_threshold(reject, reject_score)
        items = list(items)
        X, errors = self._encode_report(items, progress)
        K = len(self.classes_)
        proba = np.full((len(items), K), np.nan)
        labels: list[str | None] = [None] * len(items)
        good = [i for i in range(len(items)) if i not in errors]
        out = BatchPredictions(labels, proba, [str(c) for c in self.classes_], errors)
        if good:
            z = self._logits(X[good])
            p = softmax(z.astype(np.float64), axis=1)  # every method's predict_proba is the softmax of its logits
            if getattr(self, "calibrator_", None) is not None:
                out.uncalibrated_proba = np.full((len(items), K), np.nan)
                out.uncalibrated_proba[good] = self.method_.predict_proba(X[good])
            if transduction is not None:
                if self._reads_items():
                    raise InputError(f"method {_method_name(self.method_)!r} reads clips, not vectors; transduction "
                                     "needs item vectors (use an audio encoder with a vector method)")
                out.inductive_proba = np.full((len(items), K), np.nan)
                out.inductive_proba[good] = p
                pool_X, pool_z = X[good], z
                if unlabeled is not None and len(unlabeled):
                    unlabeled = np.asarray(unlabeled, dtype=np.float32)
                    if unlabeled.ndim != 2 or unlabeled.shape[1] != X.shape[1]:
                        raise InputError(
                            f"unlabeled vectors have shape {unlabeled.shape} but this encoder gives {X.shape[1]} dims; "
                            f"encode the unlabelled items with this classifier (clf.encode(items))")
                    pool_X = np.concatenate([pool_X, unlabeled])
                    pool_z = np.concatenate([z, self._logits(unlabeled)])
                p = transduction.adapt(pool_X, pool_z)[: len(good)]
                out.transduction_info = dict(transduction.info)
                z = np.log(np.maximum(p, 1e-300))
            proba[good] = p
            best = np.argmax(p, axis=1)
            for j, i in enumerate(good):
                labels[i] = str(self.classes_[best[j]])
            if reject is not None:
                out.scores = np.full(len(items), np.nan)
                out.scores[good] = sc = rejection_scores(p, z, reject_score)
                for j, i in enumerate(good):
                    if sc[j] < reject:
                        labels[i] = none_label
            if multi_label is not None:
                th = label_thresholds(multi_label, K)
                S = multilabel_scores(p)
                out.multi_labels = [None] * len(items)
                for j, i in enumerate(good):
                    out.multi_labels[i] = [str(self.classes_[k]) for k in np.flatnonzero(S[j] >= th)]
        if explain:
            out.explanations = [None] * len(items)
            if good:
                for i, e in zip(good, self.method_.explain(X[good], top=int(explain))):
                    out.explanations[i] = e
        return out

    def _encode_report(self, items: list[Any], progress: ProgressCallback | None) -> tuple[np.ndarray, dict[int, str]]:
        if self._reads_items():
            return self._clips_report(items, progress)
        if self.cache_ is not None:
            return self.cache_.encode_report(self.encoder_, items, batch_size=self.batch_size, progress=progress)
        return self.encoder_.encode_report(items, batch_size=self.batch_size, progress=progress)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier as a folder of JSON + ``.npy`` files (no pickle)."""
        check_is_fitted(self, "method_")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        method_meta, method_arrays = self.method_.get_state()
        ce = self.class_embeddings_
        arrays = {
            "class_vectors": ce.vectors,
            "prompt_vectors": ce.prompt_vectors,
            "prompt_labels": ce.prompt_labels,
            **{f"method.{k}": v for k, v in method_arrays.items()},
        }
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "encoder": {"name": self.encoder_.name, "kwargs": dict(self.encoder_.create_kwargs),
                        "backend": self.encoder_.backend, "fingerprint": self.encoder_.fingerprint,
                        "modality": self.encoder_.modality, "dim": self.encoder_.dim},
            "label_encoder": {"name": self.label_encoder_.name, "kwargs": dict(self.label_encoder_.create_kwargs),
                              "fingerprint": self.label_encoder_.fingerprint},
            "concept_names": self.concept_names,
            "concept_templates": self.concept_templates,
            "labels": self.label_space_.to_dict(),
            "prompts": ce.prompts,
            "method": {"name": _method_name(self.method_), "params": self.method_.get_params(), "state": method_meta},
            "batch_size": self.batch_size,
            "arrays": sorted(arrays),
        }
        if getattr(self, "calibrator_", None) is not None:
            config["calibration"] = {"bias": self.calibrator_.bias, "bias_l2": self.calibrator_.bias_l2,
                                     **self.calibrator_.get_state()}
        ft_dir = getattr(self.encoder_, "finetuned_dir", None)
        if ft_dir is not None:  # a fine-tuned transformers folder travels with the classifier
            import shutil

            shutil.copytree(ft_dir, out / "encoder", dirs_exist_ok=True)
            config["encoder"]["name"] = "hf:encoder"  # type: ignore[index]
            config["encoder"]["dir_in_folder"] = True  # type: ignore[index]
            if self.label_encoder_ is self.encoder_:
                config["label_encoder"]["name"] = "hf:encoder"  # type: ignore[index]
        weights = config["encoder"]["kwargs"].get("weights")  # type: ignore[index]
        if weights:  # fine-tuned encoder weights travel with the classifier
            import shutil

            src = Path(str(weights))
            if src.resolve() != (out / "encoder.safetensors").resolve():
                shutil.copyfile(src, out / "encoder.safetensors")
            config["encoder"]["kwargs"]["weights"] = "encoder.safetensors"  # type: ignore[index]
            config["encoder"]["weights_in_folder"] = True  # type: ignore[index]
        for name, arr in arrays.items():
            np.save(out / f"{name}.npy", np.asarray(arr), allow_pickle=False)
        (out / "config.json").write_text(json.dumps(config, indent=2, default=_json_default))
        return out

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, encoder: str | Encoder | None = None, cache: Any = False
    ) -> ZeroShotClassifier:
        """Read a folder written by :meth:`save`. Loading runs no code from the folder.

        ``encoder`` overrides the saved encoder name (e.g. a model moved to another path);
        its fingerprint must match the saved one.
        """
        p = Path(path)
        cfg_path = p / "config.json"
        if not cfg_path.is_file():
            raise SavedModelError(f"{str(p)!r} is not a saved transzero classifier (no config.json)")
        try:
            cfg = json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SavedModelError(f"{cfg_path}: config.json is not valid JSON; re-save the classifier") from None
        if cfg.get("format") != FORMAT or int(cfg.get("format_version", 0)) > FORMAT_VERSION:
            raise SavedModelError(f"{cfg_path}: unsupported format {cfg.get('format')!r} v{cfg.get('format_version')}")
        arrays = {}
        for name in cfg["arrays"]:
            f = p / f"{name}.npy"
            if not f.is_file():
                raise SavedModelError(f"{p}: missing {f.name}; the saved classifier is incomplete, save it again")
            arrays[name] = np.load(f, allow_pickle=False)
        enc_cfg = cfg["encoder"]
        if isinstance(encoder, Encoder):
            enc = encoder
        elif encoder:
            enc = create_encoder(encoder)
        else:
            kwargs = dict(enc_cfg.get("kwargs", {}))
            if enc_cfg.get("weights_in_folder"):
                kwargs["weights"] = str(p / kwargs["weights"])
            name = f"hf:{p / 'encoder'}" if enc_cfg.get("dir_in_folder") else enc_cfg["name"]
            enc = create_encoder(name, **kwargs)
        if enc.fingerprint != enc_cfg["fingerprint"]:
            raise SavedModelError(
                f"{p}: saved with encoder {enc_cfg['name']} (fingerprint {enc_cfg['fingerprint']}) but "
                f"{enc.name} here has fingerprint {enc.fingerprint}; its vectors would not match - refit instead"
            )
        labels = LabelSpace.from_dict(cfg["labels"])
        m = cfg["method"]
        method = create_method(m["name"], **m["params"])
        le_cfg = cfg.get("label_encoder") or enc_cfg
        if le_cfg["fingerprint"] == enc.fingerprint:
            label_enc = enc
        elif hasattr(enc, "text_encoder") and enc.text_encoder().fingerprint == le_cfg["fingerprint"]:
            label_enc = enc.text_encoder()
        else:
            label_enc = create_encoder(le_cfg["name"], **le_cfg.get("kwargs", {}))
        clf = cls(labels=labels, encoder=enc, method=method, cache=cache, batch_size=cfg.get("batch_size"),
                  label_encoder=None if label_enc is enc else label_enc,
                  concept_names=cfg.get("concept_names", "clean"), concept_templates=cfg.get("concept_templates"))
        clf.label_space_ = labels
        clf.encoder_ = enc
        clf.label_encoder_ = label_enc
        clf.cache_ = clf._resolve_cache()
        ce = ClassEmbeddings(labels.names, arrays["class_vectors"], arrays["prompt_vectors"],
                             arrays["prompt_labels"], list(cfg.get("prompts", [])))
        labels._memo[label_enc.fingerprint] = ce
        clf.class_embeddings_ = ce
        method_arrays = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("method.")}
        clf.method_ = method.set_state(m["state"], method_arrays)
        clf.classes_ = clf.method_.classes_
        if cfg.get("calibration"):
            from .calibration import Calibrator

            c = cfg["calibration"]
            cal = Calibrator(bias=bool(c.get("bias", True)), bias_l2=float(c.get("bias_l2", 0.1)))
            cal.temperature_, cal.bias_, cal.n_classes_ = float(c["temperature"]), np.asarray(c["bias"]), len(clf.classes_)
            cal.n_examples_ = c.get("n_examples")
            clf.calibrator_ = cal
        return clf


def load_classifier(path: str | os.PathLike[str], **kwargs: Any) -> ZeroShotClassifier:
    """Shortcut for :meth:`ZeroShotClassifier.load`."""
    return ZeroShotClassifier.load(path, **kwargs)


def _aligned(encoder: Encoder, label_encoder: Encoder) -> bool:
    """True when items and class descriptions land in one space (same encoder, or a VLM's own towers)."""
    if label_encoder is encoder or label_encoder.fingerprint == encoder.fingerprint:
        return True
    text_tower = getattr(encoder, "text_encoder", None)
    return text_tower is not None and text_tower().fingerprint == label_encoder.fingerprint


def _method_name(method: ZeroShotMethod) -> str:
    from .methods import METHODS

    for name, cls in METHODS.items():
        if type(method) is cls:
            return name
    raise SavedModelError(f"cannot save method {type(method).__name__}: register it in transzero.methods.METHODS")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
