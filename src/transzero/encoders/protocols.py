"""Abilities an encoder may have beyond items -> vectors, as typed protocols.

The classifier asks ``isinstance(encoder, HasTextTower)`` instead of probing attributes:

* :class:`HasTextTower` - a vision-language (or audio-language) model whose own text tower
  embeds class descriptions in the items' space (CLIP, SigLIP, CLAP), so ``similarity`` works
  across modalities;
* :class:`HasConceptHead` - a backbone trained as a classifier over named concepts (the
  ImageNet-1k head of EfficientNet, ResNet, ViT...), which the concept bridges (``conse``,
  ``wordnet``) and the few-shot priors of backbones read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..concepts import Concept
    from .base import Encoder

__all__ = ["HasConceptHead", "HasTextTower", "shares_space"]


@runtime_checkable
class HasTextTower(Protocol):
    """An encoder with an aligned text tower."""

    def text_encoder(self) -> Encoder:
        """The encoder of class descriptions into this encoder's space."""
        ...


@runtime_checkable
class HasConceptHead(Protocol):
    """An encoder whose features feed a classifier over named concepts."""

    def concepts(self) -> tuple[Concept, ...]:
        """The head's concepts, in output order."""
        ...

    def concept_head(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` with ``logits = features @ W.T + b``."""
        ...


def shares_space(encoder: Encoder, label_encoder: Encoder) -> bool:
    """True when items and class descriptions land in one space (one encoder, or a model's own text tower)."""
    if label_encoder is encoder or label_encoder.fingerprint == encoder.fingerprint:
        return True
    return isinstance(encoder, HasTextTower) and encoder.text_encoder().fingerprint == label_encoder.fingerprint
