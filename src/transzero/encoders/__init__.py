"""Encoders: items -> vectors. See :mod:`transzero.encoders.registry` for names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .protocols import HasConceptHead, HasTextTower, shares_space
from .registry import (
    EncoderSpec,
    create_encoder,
    encoder_from_config,
    encoder_info,
    list_encoders,
    list_schemes,
    register_encoder,
    unregister_encoder,
    register_scheme,
)

if TYPE_CHECKING:  # pragma: no cover
    from .base import Encoder, ProgressCallback, TextEncoder

_FROM_BASE = ("Encoder", "ProgressCallback", "TextEncoder")


def __getattr__(name: str) -> Any:
    """The base classes load on first use (PEP 562): listing encoders never imports numpy."""
    if name in _FROM_BASE:
        from . import base

        value = getattr(base, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "unregister_encoder",
    "register_scheme",
    "shares_space",
]
