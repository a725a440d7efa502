"""Presets: which text encoder a job uses when none is named, by speed and by the items' language.

``fast`` and ``accurate`` differ on English only; non-English items go to the multilingual encoder under
both (the English encoder places them near chance). :func:`transzero.defaults.text_encoder_for` is the one
place that maps a preset and a language to an encoder name: the CLI (``--preset``), the service (``preset`` in a request,
``--preset`` for the server's default) and the Python API (``ZeroShotClassifier(preset=...)``) all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "check_preset"]


@dataclass(frozen=True)
class Preset:
    """A speed/accuracy trade-off: the encoder for English items and the one for any other language."""

    name: str
    english: str
    multilingual: str
    description: str


PRESETS: dict[str, Preset] = {
    "fast": Preset("fast", "minilm-l6", "e5-small",
                   "MiniLM (int8 ONNX, ~3x sentence-transformers' speed) for English; multilingual-e5-small otherwise"),
    "accurate": Preset("accurate", "minilm-e5", "e5-small",
                       "MiniLM + multilingual-e5-small (both int8 ONNX) fused 1:3 for English (~1.1x sentence-"
                       "transformers' speed); multilingual-e5-small otherwise"),
}

#: the preset used when none is named (docs/benchmarks.md, "The text dev suite": chosen by leave-one-set-out)
DEFAULT_PRESET = "accurate"


def check_preset(preset: str | None) -> str:
    """``preset`` (default :data:`DEFAULT_PRESET`) after a one-line check."""
    name = DEFAULT_PRESET if preset is None else str(preset)
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return name
