"""int8 builds of the exported fp32 ONNX graphs (``backend="onnx-int8"``), made once and cached.

Both recipes keep one property the rest of transzero relies on: **an item's vector depends on
that item only** - never on its batch-mates, the batch size, the machine's thread count or a
resumed job's chunking - so the embedding cache, sharded jobs and the Ray engine stay exact.

- Text (:func:`quantize_text_encoder`): onnxruntime's dynamic quantization of the fused
  transformer graph. Activation scales are computed from the input tensor at run time, so the
  graph is run one text at a time (``OnnxTextEncoder(per_item=True)``): no padding, no
  batch-mates. No calibration data is needed.
- Images (:func:`quantize_image_encoder`): static QDQ quantization of the CNN. Activation
  scales are fixed at build time from calibration images that come with an installed
  dependency (scikit-learn's two sample photographs, cut into random crops at the model's
  input sizes): no data set is read, nothing is downloaded.

Weights are int8 with one scale per output channel. The recipes were chosen on dev data
(docs/benchmarks.md, "Speed and start-up"): the transformer's weights use the 7-bit range
(``reduce_range``; on CPUs without VNNI the u8 x s8 products are summed in 16 bits, which full
8-bit weights can saturate), the CNN's the full 8 bits (7 bits cost it a point of CIFAR-10
accuracy on dev; on a CPU without VNNI a rare saturated sum may then shift a vector slightly -
vectors are not bit-identical across CPU types in any case, fp32 included).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError

__all__ = ["QUANT_VERSION", "quantized_onnx_path", "quantize_text_encoder", "quantize_image_encoder",
           "calibration_crops"]

#: version of the recipes below; part of the built file's name, so a changed recipe never reuses an old file
QUANT_VERSION = "1"


def quantized_onnx_path(fp32_path: Path) -> Path:
    """Where the int8 build of the export ``fp32_path`` lives (beside it; may not exist yet)."""
    return fp32_path.with_name(f"model-int8-v{QUANT_VERSION}.onnx")


def _quantization() -> Any:
    try:
        import onnx  # noqa: F401  (the quantizer needs it)
        from onnxruntime import quantization
    except ImportError as exc:
        raise ModelUnavailableError(f"backend='onnx-int8' needs onnx and onnxruntime: pip install onnx ({exc})") from None
    return quantization


@contextmanager
def _atomic_build(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out``, moved onto ``out`` only when the build finished."""
    out.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()  # the quantizer advises through the root logger ("consider pre-processing")
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            built = Path(tmp) / "int8.onnx"
            yield built
            os.replace(built, out)  # a crash never leaves half a model under the final name
    finally:
        root.setLevel(level)


def quantize_text_encoder(fp32_path: Path, out: Path | None = None) -> Path:
    """Build the int8 form of a fused transformer export once; returns its path.

    Weights int8 per channel (7-bit range); activations 8-bit with per-tensor scales computed
    at run time (``DynamicQuantizeMatMul``, ``QAttention``): feed it one text per run.
    """
    out = out or quantized_onnx_path(fp32_path)
    if out.is_file():
        return out
    q = _quantization()
    import onnx

    with _atomic_build(out) as built:
        q.quantize_dynamic(
            str(fp32_path), str(built), per_channel=True, reduce_range=True, weight_type=q.QuantType.QInt8,
            # the fused contrib ops (SkipLayerNormalization...) defeat shape inference: their outputs are fp32
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return out


def calibration_crops(n: int = 96, seed: int = 0) -> list[Any]:
    """``n`` RGB PIL crops of scikit-learn's sample photographs, from 32 px to the photo's height.

    Random square crops (random size, position and mirror) of ``china.jpg`` and ``flower.jpg``,
    which ship inside scikit-learn: small crops exercise the low-resolution path (CIFAR-like
    thumbnails), large ones the normal resize-and-crop path.
    """
    from PIL import Image, ImageOps
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = int(np.exp(rng.uniform(np.log(32), np.log(min(w, h)))))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        crop = photo.crop((x, y, x + side, y + side))
        crops.append(ImageOps.mirror(crop) if rng.random() < 0.5 else crop)
    return crops


def quantize_image_encoder(
    fp32_path: Path, preprocess: Callable[[Any], list[np.ndarray]], input_name: str, out: Path | None = None,
    *, batch_size: int = 8,
) -> Path:
    """Build the static int8 (QDQ) form of an image backbone once; returns its path.

    ``preprocess`` turns a PIL image into the model's input views (the model's standard sizes in
    the encoder's pixel scaling, so calibration sees the value ranges inference sees); activation
    ranges are the min/max over :func:`calibration_crops`.
    """
    out = out or quantized_onnx_path(fp32_path)
    if out.is_file():
        return out
    q = _quantization()
    by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}
    for crop in calibration_crops():
        for view in preprocess(crop):
            by_shape.setdefault(view.shape, []).append(view)
    feeds = [{input_name: np.stack(views[i : i + batch_size])}
             for views in by_shape.values() for i in range(0, len(views), batch_size)]

    class _Reader(q.CalibrationDataReader):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    from onnxruntime.quantization.shape_inference import quant_pre_process

    with _atomic_build(out) as built:
        prepared = built.with_name("prepared.onnx")
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        q.quantize_static(
            str(prepared), str(built), _Reader(), quant_format=q.QuantFormat.QDQ, per_channel=True,
            reduce_range=False, activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
            calibrate_method=q.CalibrationMethod.MinMax,
        )
    return out
