"""Documented defaults: which encoder and method are used when none is named."""

from __future__ import annotations

from .presets import DEFAULT_PRESET, PRESETS, check_preset

#: encoder used for a modality when ``--encoder`` / ``encoder=`` is not given. Text: the default preset's encoder for
#: English (:mod:`transzero.presets`; non-English text is routed to the multilingual one). Images: the EfficientNet-Lite0 + Lite2
#: ensemble, chosen on dev data (CIFAR-10 train500 59.2 vs Lite0's 54.8, Tiny ImageNet train50 sample 59.7 vs 57.1, for
#: about 2.4x Lite0's encoding time (116 vs 279 images/s); docs/benchmarks.md, "Names only"); ``efficientnet-lite0`` is the fast choice
#: audio: Whisper tiny.en's encoder (pooled states; the vectors few-shot methods and transduction use)
DEFAULT_ENCODERS: dict[str, str] = {"text": PRESETS[DEFAULT_PRESET].english, "image": "efficientnet-lite02", "audio": "whisper-tiny-en"}
#: method used when ``--method`` / ``method=`` is not given
DEFAULT_METHOD = "similarity"
#: per-modality default method (image backbones have no text tower: a concept bridge; ``wordnet``
#: beat ``conse`` on Tiny ImageNet train50, 55.5 vs 44.3 top-1 - see docs/benchmarks.md; audio: Whisper tiny.en,
#: class forms said and the transcript's topic mixed per clip, chosen on development clips - docs/benchmarks.md,
#: "Speech"; pocketsphinx's asr-grammar / asr-text remain options)
DEFAULT_METHODS: dict[str, str] = {"text": "similarity", "image": "wordnet", "audio": "whisper-fused"}


#: the text encoder other modalities embed class names, concepts and glosses with (image concept bridges, GZSL
#: semantics, speech methods' text side), and multimodal records' and multi-task heads' text: MiniLM, what those
#: defaults were chosen with; text items themselves follow the presets (:mod:`transzero.presets`)
DEFAULT_TEXT_SIDE_ENCODER = "minilm-l6"


def text_side_encoder() -> str:
    """:data:`DEFAULT_TEXT_SIDE_ENCODER`."""
    return DEFAULT_TEXT_SIDE_ENCODER


def default_encoder(modality: str = "text") -> str:
    """The default encoder name for ``modality``."""
    return DEFAULT_ENCODERS[modality]


def default_method(modality: str = "text") -> str:
    """The default method name for ``modality``."""
    return DEFAULT_METHODS.get(modality, DEFAULT_METHOD)


def text_encoder_for(preset: str | None = None, language: str | None = None) -> str:
    """The text encoder of ``preset`` (:mod:`transzero.presets`) for items in ``language`` (ISO 639-1 code, ``"mul"``
    for a mix; None or ``"en"``: English). No preset and English: :data:`DEFAULT_ENCODERS` ``["text"]``."""
    p = PRESETS[check_preset(preset)]
    english = language in (None, "", "en")
    if preset is None and english:
        return default_encoder("text")
    return p.english if english else p.multilingual
