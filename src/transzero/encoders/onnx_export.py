"""Export a transformers text encoder to ONNX once, fused for onnxruntime, and reuse it.

This is the ``backend="onnx"`` path of torch text encoders (as in sentence-transformers):
the first use exports the model's ``last_hidden_state`` with ``torch.onnx.export``,
applies onnxruntime's transformer fusions (fused attention, embedding and skip layer
norms, bias-GELU) and stores the file under the cache folder, keyed by the source
weights. Later runs load the stored file and never import torch.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .._util import default_cache_dir, sha256_text
from ..errors import ModelUnavailableError

EXPORT_VERSION = "1"
#: model types onnxruntime's optimizer knows how to fuse
_FUSABLE = {"bert": "bert", "distilbert": "bert", "roberta": "bert", "xlm-roberta": "bert", "mpnet": "bert"}


def exported_onnx_path(name: str, weights_id: str, cache_root: Path | None = None) -> Path:
    """Where the fused export of the model ``name`` with weights ``weights_id`` lives (may not exist yet)."""
    key = sha256_text(f"{weights_id}|export={EXPORT_VERSION}")[:16]
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-40:].strip("_") or "model"
    return (cache_root or default_cache_dir()) / "onnx" / f"{slug}-{key}" / "model.onnx"


def export_text_encoder(model_dir: Path, out: Path, *, optimize: bool = True) -> Path:
    """Export ``model_dir`` (a transformers encoder) to ``out``; returns ``out``."""
    if out.is_file():
        return out
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelUnavailableError(f"backend='onnx' needs torch, transformers and onnx: pip install onnx ({exc})") from None
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    cfg = json.loads((model_dir / "config.json").read_text())
    base = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    takes_types = "token_type_ids" in base.forward.__code__.co_varnames and cfg.get("type_vocab_size", 0) > 0

    class _Hidden(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kw = {"token_type_ids": token_type_ids} if takes_types else {}
            return self.m(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    dummy = tuple(torch.ones(2, 8, dtype=torch.long) if n != "token_type_ids" else torch.zeros(2, 8, dtype=torch.long) for n in names)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(base), dummy, str(raw), input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        final = raw
        mtype = _FUSABLE.get(str(cfg.get("model_type", "")))
        if optimize and mtype:
            from onnxruntime.transformers import optimizer

            opt = optimizer.optimize_model(
                str(raw), model_type=mtype, num_heads=int(cfg["num_attention_heads"]), hidden_size=int(cfg["hidden_size"])
            )
            final = Path(tmp) / "opt.onnx"
            opt.save_model_to_file(str(final))
        os.replace(final, out)  # atomic: a crash never leaves half a model
    return out

