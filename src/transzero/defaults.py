"""Documented defaults: which encoder and method are used when none is named."""

from __future__ import annotations

#: encoder used for a modality when ``--encoder`` / ``encoder=`` is not given
DEFAULT_ENCODERS: dict[str, str] = {"text": "minilm-l6"}
#: method used when ``--method`` / ``method=`` is not given
DEFAULT_METHOD = "similarity"


def default_encoder(modality: str = "text") -> str:
    """The default encoder name for ``modality``."""
    return DEFAULT_ENCODERS[modality]
