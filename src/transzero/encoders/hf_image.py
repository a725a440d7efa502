"""Transformers image classifiers (ResNet, ViT, ConvNeXt, ...) as backbones with a concept head.

``hf:<dir>`` whose ``config.json`` names a ``*ForImageClassification`` architecture gives an
:class:`HFImageClassifierEncoder`: ``encode`` returns the input of the classifier's last
linear layer (the pooled features) and ``concept_head`` that layer's weights, so concept
bridges (ConSE, WordNet) work on any such model. Concept names come from ``id2label``;
a 1,000-class head whose first label is ImageNet's "tench" is taken to be in ImageNet-1k
order and gets the WordNet ids.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import weights_id
from ..concepts import Concept, imagenet_concepts
from ..data.images import ImagePreprocess
from ..errors import ModelUnavailableError
from .image import ImageEncoder, LinearConceptHead

__all__ = ["HFImageClassifierEncoder", "is_image_classifier_dir", "read_hf_preprocess"]


def is_image_classifier_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path/config.json`` names an image-classification architecture."""
    cfg = Path(path).expanduser() / "config.json"
    if not cfg.is_file():
        return False
    archs = json.loads(cfg.read_text()).get("architectures") or []
    return any(a.endswith("ForImageClassification") for a in archs)


def read_hf_preprocess(d: Path, default_mean: Any = (0.485, 0.456, 0.406), default_std: Any = (0.229, 0.224, 0.225)) -> ImagePreprocess:
    """Size, crop and mean/std from a folder's ``preprocessor_config.json`` (transformers' format)."""
    cfg_path = d / "preprocessor_config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    crop = cfg.get("crop_size") or cfg.get("size") or 224
    if isinstance(crop, dict):
        crop = crop.get("height") or crop.get("shortest_edge") or 224
    resize = cfg.get("size", crop)
    short = resize.get("shortest_edge", resize.get("height", crop)) if isinstance(resize, dict) else resize
    if "crop_pct" in cfg and cfg["crop_pct"]:
        crop_pct = float(cfg["crop_pct"])
    elif cfg.get("do_center_crop", "crop_size" in cfg) and short:
        crop_pct = float(crop) / float(short)
    else:
        crop_pct = 1.0
    mean = tuple(cfg.get("image_mean", default_mean))
    std = tuple(cfg.get("image_std", default_std))
    return ImagePreprocess(size=int(crop), crop_pct=min(1.0, crop_pct), mean=mean, std=std)  # type: ignore[arg-type]


class HFImageClassifierEncoder(LinearConceptHead, ImageEncoder):
    """A transformers ``*ForImageClassification`` model: pooled features + its classifier as concept head."""

    backend = "torch"

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None, num_workers: int = 2) -> None:
        d = Path(model_dir).expanduser()
        if not is_image_classifier_dir(d):
            raise ModelUnavailableError(f"{model_dir}: config.json names no *ForImageClassification architecture")
        self.model_dir = d
        self.name = name or f"hf:{d}"
        self.num_workers = num_workers
        self.config = json.loads((d / "config.json").read_text())
        self.preprocess = read_hf_preprocess(d)
        self._model: Any = None
        self._linear: Any = None
        self._captured: list[Any] = []

    def _config(self) -> dict[str, Any]:
        return {"weights": weights_id(self.model_dir), "preprocess": self.preprocess.to_dict()}

    def load(self) -> None:
        """Load the model and hook the input of its last linear layer."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForImageClassification
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        model = AutoModelForImageClassification.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        head = getattr(model, "classifier", None) or getattr(model, "fc", None) or getattr(model, "head", None)
        linears = [m for m in (head.modules() if head is not None else model.modules()) if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ModelUnavailableError(f"{self.name}: no linear classifier layer found to use as concept head")
        self._linear = linears[-1]
        self._linear.register_forward_hook(lambda mod, inp, out: self._captured.append(inp[0].detach()))
        self._model = model

    @property
    def dim(self) -> int:
        self.load()
        return int(self._linear.in_features)

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        self.load()
        self._captured.clear()
        with torch.inference_mode():
            self._model(pixel_values=torch.from_numpy(pixels))
        feats = self._captured[-1]
        return feats.reshape(feats.shape[0], -1).float().numpy()

    def concepts(self) -> tuple[Concept, ...]:
        """The classifier's classes (``id2label``); ImageNet-1k heads get WordNet ids."""
        id2label = {int(k): v for k, v in (self.config.get("id2label") or {}).items()}
        n = len(id2label)
        if n == 1000 and id2label.get(0, "").split(",")[0].strip().lower() == "tench":
            return imagenet_concepts()
        return tuple(Concept(i, None, tuple(s.strip() for s in str(id2label.get(i, f"class {i}")).split(",") if s.strip()))
                     for i in range(n))

    def concept_head(self) -> tuple[np.ndarray, np.ndarray]:
        """The last linear layer: ``logits = features @ W.T + b``."""
        self.load()
        W = self._linear.weight.detach().float().numpy()
        b = self._linear.bias.detach().float().numpy() if self._linear.bias is not None else np.zeros(W.shape[0], np.float32)
        return W, b
