"""CLIP-family vision-language models (CLIP, SigLIP) from a local transformers folder.

``hf:<dir>`` whose ``config.json`` says ``model_type: clip | siglip`` gives a
:class:`CLIPImageEncoder` (image tower) whose :meth:`~CLIPImageEncoder.text_encoder` is
the aligned text tower, so ``similarity`` compares images and class prompts directly. The
image preprocessing follows the folder's ``preprocessor_config.json`` (size, crop,
mean/std) but runs in transzero's own PIL/numpy pipeline (no torchvision); the text side
uses the folder's tokenizer. The default logit scale is the model's learned one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import l2_normalize, weights_id
from ..errors import ModelUnavailableError
from .base import ProgressCallback, TextEncoder
from .hf_image import read_hf_preprocess
from .image import ImageEncoder

__all__ = ["CLIPImageEncoder", "CLIPTextEncoder", "SharedModel", "is_clip_dir"]

CLIP_TYPES = {"clip", "siglip", "siglip2"}
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def is_clip_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path/config.json`` describes a CLIP-family model."""
    cfg = Path(path).expanduser() / "config.json"
    if not cfg.is_file():
        return False
    return json.loads(cfg.read_text()).get("model_type") in CLIP_TYPES


class SharedModel:
    """The model, loaded once and shared by the image and text towers."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.config = json.loads((model_dir / "config.json").read_text())
        self._model: Any = None
        self._tokenizer: Any = None

    def model(self) -> Any:
        if self._model is None:
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            self._model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        return self._model

    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            except Exception as exc:
                raise ModelUnavailableError(
                    f"hf:{self.model_dir}: no usable tokenizer ({type(exc).__name__}); save it with tokenizer.save_pretrained()"
                ) from None
        return self._tokenizer

    def projection_dim(self, tower: str) -> int:
        """Width of the shared embedding space, read from the config (``tower``: "text" or "vision")."""
        c = self.config
        sub = c.get(f"{tower}_config", {})
        return int(c.get("projection_dim") or sub.get("projection_size") or sub["hidden_size"])

    def logit_scale(self) -> float:
        """The model's learned ``exp(logit_scale)`` (loads the weights)."""
        model = self.model()
        return float(model.logit_scale.exp().item()) if hasattr(model, "logit_scale") else 100.0


class CLIPTextEncoder(TextEncoder):
    """The text tower of a CLIP-family model (unit-norm projected text features)."""

    backend = "torch"

    def __init__(self, shared: SharedModel, name: str) -> None:
        self._shared = shared
        self.name = name

    @property  # type: ignore[override]
    def default_logit_scale(self) -> float:
        """The model's learned logit scale (what CLIP's own zero-shot softmax uses)."""
        return self._shared.logit_scale()

    @property
    def dim(self) -> int:
        return self._shared.projection_dim("text")

    def _config(self) -> dict[str, Any]:
        return {"weights": weights_id(self._shared.model_dir), "tower": "text"}

    def _max_length(self) -> int:
        """Longest token sequence the text tower takes."""
        return int(self._shared.config.get("text_config", {}).get("max_position_embeddings", 77))

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        import torch

        model, tok = self._shared.model(), self._shared.tokenizer()
        padding = "max_length" if self._shared.config.get("model_type", "").startswith("siglip") else True
        max_len = self._max_length()
        out = []
        with torch.inference_mode():
            for start in range(0, len(items), batch_size):
                chunk = items[start : start + batch_size]
                enc = tok(chunk, padding=padding, truncation=True, max_length=max_len, return_tensors="pt")
                feats = model.get_text_features(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")})
                feats = getattr(feats, "pooler_output", feats)
                out.append(feats.float().numpy())
                if progress:
                    progress(len(chunk))
        return l2_normalize(np.concatenate(out))


class CLIPImageEncoder(ImageEncoder):
    """The image tower of a CLIP-family model; :meth:`text_encoder` gives the aligned text tower."""

    backend = "torch"

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None, num_workers: int = 2) -> None:
        d = Path(model_dir).expanduser()
        if not is_clip_dir(d):
            raise ModelUnavailableError(f"{model_dir}: not a CLIP/SigLIP folder (config.json model_type)")
        self.name = name or f"hf:{d}"
        self._shared = SharedModel(d)
        self.num_workers = num_workers
        self.preprocess = read_hf_preprocess(d, CLIP_MEAN, CLIP_STD)
        self._text: CLIPTextEncoder | None = None

    @property  # type: ignore[override]
    def default_logit_scale(self) -> float:
        """The model's learned logit scale."""
        return self._shared.logit_scale()

    @property
    def dim(self) -> int:
        return self._shared.projection_dim("vision")

    def _config(self) -> dict[str, Any]:
        return {"weights": weights_id(self._shared.model_dir), "tower": "image", "preprocess": self.preprocess.to_dict()}

    def text_encoder(self) -> CLIPTextEncoder:
        """The aligned text tower (class prompts go through it)."""
        if self._text is None:
            self._text = CLIPTextEncoder(self._shared, f"{self.name}#text")
        return self._text

    def load(self) -> None:
        """Load the model now."""
        self._shared.model()

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            feats = self._shared.model().get_image_features(pixel_values=torch.from_numpy(pixels))
        feats = getattr(feats, "pooler_output", feats)
        return l2_normalize(feats.float().numpy())
