"""CLAP (contrastive language-audio pretraining) from a local folder: ``hf:<dir>`` with ``model_type: clap``.

The audio tower embeds clips (its ``ClapFeatureExtractor`` from the folder's
``preprocessor_config.json`` computes the log-mel input at the model's sample rate) and the
aligned text tower embeds class descriptions, so ``similarity`` classifies sounds by
description, zero-shot. Nothing is downloaded: weights, feature-extractor config and tokenizer
must be in the folder (``save_pretrained`` of model, processor/feature extractor, tokenizer).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import l2_normalize, weights_id
from ..errors import ModelUnavailableError
from .audio import AudioEncoder
from .clip import CLIPTextEncoder, SharedModel

__all__ = ["ClapAudioEncoder", "ClapTextEncoder", "is_clap_dir"]


def is_clap_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path/config.json`` describes a CLAP model."""
    cfg = Path(path).expanduser() / "config.json"
    return cfg.is_file() and json.loads(cfg.read_text()).get("model_type") == "clap"


class _ClapShared(SharedModel):
    def logit_scale(self) -> float:
        model = self.model()
        return float(model.logit_scale_a.exp().item()) if hasattr(model, "logit_scale_a") else 100.0

    def feature_extractor(self) -> Any:
        if getattr(self, "_fe", None) is None:
            from transformers import ClapFeatureExtractor

            try:
                self._fe = ClapFeatureExtractor.from_pretrained(str(self.model_dir), local_files_only=True)
            except Exception as exc:
                raise ModelUnavailableError(f"hf:{self.model_dir}: no usable CLAP feature extractor "
                                            f"({type(exc).__name__}); save it with processor.save_pretrained()") from None
        return self._fe


class ClapTextEncoder(CLIPTextEncoder):
    """CLAP's text tower (unit-norm projected text features); a RoBERTa, whose positions start at 2."""

    def _max_length(self) -> int:
        return int(self._shared.config.get("text_config", {}).get("max_position_embeddings", 514)) - 2


class ClapAudioEncoder(AudioEncoder):
    """CLAP's audio tower; ``text_encoder()`` is the aligned text tower for class descriptions."""

    backend = "torch"
    min_seconds = 0.05

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None) -> None:
        d = Path(model_dir).expanduser()
        if not is_clap_dir(d):
            raise ModelUnavailableError(f"{model_dir}: not a CLAP folder (config.json model_type)")
        self._shared = _ClapShared(d)
        self.name = name or f"hf:{d}"
        pre = d / "preprocessor_config.json"
        self.sample_rate = int(json.loads(pre.read_text()).get("sampling_rate", 48000)) if pre.is_file() else 48000

    @property  # type: ignore[override]
    def default_logit_scale(self) -> float:
        return self._shared.logit_scale()

    @property
    def dim(self) -> int:
        return int(self._shared.config.get("projection_dim") or 512)

    def _config(self) -> dict[str, Any]:
        return {"weights": weights_id(self._shared.model_dir), "tower": "audio", "sample_rate": self.sample_rate}

    def text_encoder(self) -> ClapTextEncoder:
        """The aligned text tower (class descriptions go through it)."""
        return ClapTextEncoder(self._shared, self.name + "#text")  # type: ignore[arg-type]

    def _embed(self, item: Any) -> np.ndarray:
        import torch

        model, fe = self._shared.model(), self._shared.feature_extractor()
        vecs, weights = [], []
        with torch.inference_mode():
            for c in self._chunks(item):  # long files: each chunk embedded, durations as weights
                inp = fe(c, sampling_rate=self.sample_rate, return_tensors="pt")
                feats = model.get_audio_features(input_features=inp["input_features"])
                vecs.append(getattr(feats, "pooler_output", feats).float().numpy()[0])
                weights.append(len(c))
        v = np.average(np.stack(vecs), axis=0, weights=np.asarray(weights, dtype=np.float64))
        return l2_normalize(v[None, :])[0]
