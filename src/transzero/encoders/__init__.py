"""Encoders: items -> vectors. See :mod:`transzero.encoders.registry` for names."""

from __future__ import annotations

from .base import Encoder, ProgressCallback, TextEncoder
from .registry import (
    EncoderSpec,
    create_encoder,
    encoder_info,
    list_encoders,
    list_schemes,
    register_encoder,
    register_scheme,
)

__all__ = [
    "Encoder",
    "EncoderSpec",
    "ProgressCallback",
    "TextEncoder",
    "create_encoder",
    "encoder_info",
    "list_encoders",
    "list_schemes",
    "register_encoder",
    "register_scheme",
]
