"""Any image backbone exported to ONNX (``onnx:<file>`` with a 4-D image input).

The seed's VGG / ResNet / Inception users export their model once and point transzero at
the file. Preprocessing comes from a sidecar ``<file>.json`` when present::

    {"size": 224, "crop_pct": 0.875, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
     "output": "logits", "concepts": "imagenet"}

``encode`` returns the chosen output, flattened. When that output is the 1,000 ImageNet-1k
logits (``"concepts": "imagenet"``, or 1,000 outputs by default), the concept head is the
identity, so the WordNet and ConSE bridges run on it directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import softmax, weights_id
from ..concepts import Concept, imagenet_concepts
from ..data.images import ImagePreprocess
from ..errors import ModelUnavailableError
from .image import ImageEncoder

__all__ = ["OnnxImageEncoder", "is_image_onnx"]


def _session(path: Path, num_threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = int(num_threads or os.cpu_count() or 1)
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def is_image_onnx(path: str | os.PathLike[str]) -> bool:
    """True when the ONNX file's first input is 4-D (batch, channels, height, width)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return len(dims) == 4


class OnnxImageEncoder(ImageEncoder):
    """An ONNX image model run with onnxruntime; see the module docstring for the sidecar config."""

    backend = "onnx"

    def __init__(self, onnx_path: str | os.PathLike[str], *, name: str | None = None, num_threads: int | None = None,
                 num_workers: int = 2) -> None:
        self.onnx_path = Path(onnx_path).expanduser()
        if not self.onnx_path.is_file():
            raise ModelUnavailableError(f"{name or 'onnx'}: no ONNX file at {str(self.onnx_path)!r}")
        self.name = name or f"onnx:{self.onnx_path}"
        side = self.onnx_path.with_suffix(self.onnx_path.suffix + ".json")
        self.sidecar = json.loads(side.read_text()) if side.is_file() else {}
        sc = self.sidecar
        self.preprocess = ImagePreprocess(
            size=int(sc.get("size", 224)), crop_pct=float(sc.get("crop_pct", 0.875)),
            mean=tuple(sc.get("mean", (0.485, 0.456, 0.406))), std=tuple(sc.get("std", (0.229, 0.224, 0.225))),  # type: ignore[arg-type]
        )
        self.num_threads = num_threads
        self.num_workers = num_workers
        self._session: Any = None

    def load(self) -> None:
        """Create the onnxruntime session now."""
        if self._session is None:
            self._session = _session(self.onnx_path, self.num_threads)
            outs = [o.name for o in self._session.get_outputs()]
            wanted = self.sidecar.get("output")
            if wanted and wanted not in outs:
                raise ModelUnavailableError(f"{self.name}: no output {wanted!r} (outputs: {', '.join(outs)})")
            self._output = wanted or outs[0]
            self._input = self._session.get_inputs()[0].name

    @property
    def dim(self) -> int:
        self.load()
        out = next(o for o in self._session.get_outputs() if o.name == self._output)
        width = int(np.prod([d for d in out.shape[1:] if isinstance(d, int)])) if len(out.shape) > 1 else 0
        if not width:
            size = self.preprocess.size
            width = int(self._forward(np.zeros((1, 3, size, size), np.float32)).shape[1])
        return width

    def _config(self) -> dict[str, Any]:
        return {"weights": weights_id(self.onnx_path), "sidecar": self.sidecar,
                "preprocess": self.preprocess.to_dict()}

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        self.load()
        out = self._session.run([self._output], {self._input: pixels})[0]
        return out.reshape(out.shape[0], -1).astype(np.float32)

    # the output is a concept head only when it is ImageNet-1k logits
    def _is_imagenet(self) -> bool:
        return self.sidecar.get("concepts", "imagenet" if self.dim == 1000 else None) == "imagenet"

    def concepts(self) -> tuple[Concept, ...]:
        """ImageNet-1k concepts when the output is ImageNet logits."""
        if not self._is_imagenet():
            raise ModelUnavailableError(f"{self.name}: output is not ImageNet-1k logits; no concept head")
        return imagenet_concepts()

    def concept_head(self) -> tuple[np.ndarray, np.ndarray]:
        """Identity: the features already are the concept logits."""
        self.concepts()
        return np.eye(1000, dtype=np.float32), np.zeros(1000, np.float32)

    def concept_proba(self, features: np.ndarray) -> np.ndarray:
        """Concept probabilities ``(N, 1000)``."""
        self.concepts()
        return softmax(np.asarray(features, dtype=np.float64), axis=1)
