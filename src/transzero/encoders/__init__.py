"""Encoders: items -> vectors. See :mod:`transzero.encoders.registry` for names."""

from __future__ import annotations

from .base import Encoder, ProgressCallback, TextEncoder
from .protocols import HasConceptHead, HasTextTower, shares_space
from .registry import (
    EncoderSpec,
    create_encoder,
    encoder_from_config,
    encoder_info,
    list_encoders,
    list_schemes,
    register_encoder,
    register_scheme,
)

__all__ = [
    "Encoder",
    "EncoderSpec",
    "HasConceptHead",
    "HasTextTower",
    "ProgressCallback",
    "TextEncoder",
    "create_encoder",
    "encoder_from_config",
    "encoder_info",
    "list_encoders",
    "list_schemes",
    "register_encoder",
    "register_scheme",
    "shares_space",
]
