"""Presets: which text encoder a job uses when none is named, by speed and by the items' language.

``fast`` and ``accurate`` differ on English only; non-English items go to the multilingual encoder under
both (the English encoder places them near chance). :func:`text_encoder_for` is the one place that maps a
preset and a language to an encoder name: the CLI (``--preset``), the service (``preset`` in a request,
``--preset`` for the server's default) and the Python API (``ZeroShotClassifier(preset=...)``) all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .language import ENGLISH

__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "check_preset", "text_encoder_for"]


@dataclass(frozen=True)
class Preset:
    """A speed/accuracy trade-off: the encoder for English items and the one for any other language."""

    name: str
    english: str
    multilingual: str
    description: str


PRESETS: dict[str, Preset] = {
    "fast": Preset("fast", "minilm-l6", "e5-small",
                   "MiniLM (int8 ONNX, ~3x sentence-transformers) for English; multilingual-e5-small otherwise"),
    "accurate": Preset("accurate", "minilm-e5", "e5-small",
                       "MiniLM + multilingual-e5-small fused for English; multilingual-e5-small otherwise"),
}

#: the preset used when none is named (docs/benchmarks.md, "The text dev suite": chosen by leave-one-set-out)
DEFAULT_PRESET = "fast"


def check_preset(preset: str | None) -> str:
    """``preset`` (default :data:`DEFAULT_PRESET`) after a one-line check."""
    name = DEFAULT_PRESET if preset is None else str(preset)
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return name


def text_encoder_for(preset: str | None = None, language: str | None = None) -> str:
    """The text encoder of ``preset`` for items in ``language`` (ISO 639-1 code, ``"mul"`` for a mix; None or
    ``"en"``: English)."""
    p = PRESETS[check_preset(preset)]
    english = language in (None, "", ENGLISH)
    if preset is None and english:  # the documented default (:data:`transzero.defaults.DEFAULT_ENCODERS`)
        from .defaults import default_encoder

        return default_encoder("text")
    return p.english if english else p.multilingual
