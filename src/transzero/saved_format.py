"""The saved classifier folder's format: ``config.json`` read and checked (format 1 converted), encoders restored.

:class:`~transzero.classifier.ZeroShotClassifier` and :class:`~transzero.multitask.MultiTaskClassifier` write
``format_version`` :data:`FORMAT_VERSION`; loading reads it and format 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .encoders import Encoder, HasTextTower
from .encoders.registry import encoder_from_config
from .errors import SavedModelError
from .persistence import ModelFolder

__all__ = ["FORMAT", "FORMAT_VERSION", "load_encoders", "read_classifier_config"]

FORMAT = "transzero-classifier"
#: 2: one config for single- and multi-task classifiers, every file named by its bare file name (1 still loads)
FORMAT_VERSION = 2


def read_classifier_config(folder: ModelFolder) -> dict[str, Any]:
    """``config.json`` of a saved classifier in the current format (format 1 folders are converted)."""
    from .schema import validate_config

    cfg = folder.read_config()
    if not isinstance(cfg, dict):
        raise SavedModelError(f"{folder.root}: config.json holds a {type(cfg).__name__}, not an object; "
                              "save the classifier again")
    if cfg.get("format") != FORMAT:
        raise SavedModelError(f"{folder.root}: not a transzero classifier (config.json has no format {FORMAT!r})")
    version = cfg.get("format_version")
    if version == 1:
        try:
            cfg = _from_format_1(cfg)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SavedModelError(f"{folder.root}: config.json (format 1) is missing or mistypes {exc}; "
                                  "save the classifier again") from None
    elif version != FORMAT_VERSION:
        raise SavedModelError(f"{folder.root}: unsupported format_version {version!r} (this transzero reads 1 and "
                              f"{FORMAT_VERSION}); save it again with this version")
    return validate_config(cfg, str(folder.root))


def _from_format_1(cfg: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (a single classifier; arrays listed by name) in the shape of format 2."""
    arrays = set(cfg.get("arrays") or [])
    m = dict(cfg["method"])
    m["arrays"] = {a.split(".", 1)[1]: f"{a}.npy" for a in arrays if a.startswith("method.")}
    cal = cfg.get("calibration")
    if cal:
        cal = {**cal, "use_bias": True}  # format 1 wrote the bias flag and the biases under one key
    task = {"name": None, "labels": cfg["labels"], "method": m, "calibration": cal,
            "class_embeddings": {"vectors": "class_vectors.npy", "prompt_vectors": "prompt_vectors.npy",
                                 "prompt_labels": "prompt_labels.npy", "prompts": cfg.get("prompts", [])},
            "concept_names": cfg.get("concept_names", "clean"), "concept_templates": cfg.get("concept_templates"),
            "batch_size": cfg.get("batch_size")}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "classifier", "encoder": cfg["encoder"],
            "label_encoder": cfg.get("label_encoder") or cfg["encoder"], "tasks": [task]}


def load_encoders(cfg: Mapping[str, Any], folder: ModelFolder, override: str | Encoder | None = None, *,
                  allow_download: bool = False) -> tuple[Encoder, Encoder]:
    """The item encoder and the label encoder a saved classifier names (fingerprints checked)."""
    enc = encoder_from_config(cfg["encoder"], folder, override=override, allow_download=allow_download)
    le_cfg = cfg.get("label_encoder") or cfg["encoder"]
    if le_cfg["fingerprint"] == enc.fingerprint:
        return enc, enc
    if isinstance(enc, HasTextTower) and enc.text_encoder().fingerprint == le_cfg["fingerprint"]:
        return enc, enc.text_encoder()
    return enc, encoder_from_config(le_cfg, folder, allow_download=allow_download)
