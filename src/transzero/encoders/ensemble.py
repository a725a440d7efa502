"""Ensembles of ImageNet backbones: features side by side, concept probabilities fused.

Each member embeds the image at its own resolution; the ensemble's vector is the members' features
concatenated (so few-shot heads and the transductive graph see all of them), and its concept head averages
the members' concept logits - a late fusion of the backbones' ImageNet concept probabilities that the
concept bridges (``wordnet``, ``conse``) read like any single backbone's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..concepts import Concept
from ..errors import InputError
from .base import ProgressCallback
from .image import ImageEncoder, LinearConceptHead

__all__ = ["BackboneEnsembleEncoder"]


class BackboneEnsembleEncoder(LinearConceptHead, ImageEncoder):
    """Several image encoders with concept heads over the same concepts, used as one.

    Parameters
    ----------
    members : sequence of str
        Registered image encoders with a concept head (e.g. ``efficientnet-lite0``, ``efficientnet-lite2``).
    name : str
        The ensemble's name.
    backend : str, optional
        Passed to every member (``onnx`` or ``torch``).
    """

    def __init__(self, members: Sequence[str] = ("efficientnet-lite0", "efficientnet-lite2"), *,
                 name: str = "efficientnet-lite02", backend: str | None = None, **member_kwargs: Any) -> None:
        from .protocols import HasConceptHead
        from .registry import create_encoder

        if len(members) < 2:
            raise InputError(f"{name}: an ensemble needs at least 2 members, got {list(members)}")
        kw = dict(member_kwargs)
        if backend is not None:
            kw["backend"] = backend
        self.members = [create_encoder(m, **kw) for m in members]
        for m in self.members:
            if m.modality != "image" or not isinstance(m, HasConceptHead):
                raise InputError(f"{name}: member {m.name} is not an image encoder with a concept head")
        heads = {len(m.concepts()) for m in self.members}
        if len(heads) != 1:
            raise InputError(f"{name}: members have different concept heads ({sorted(heads)} concepts)")
        self.name = name
        self.backend = self.members[0].backend
        self.preprocess = self.members[0].preprocess
        self._head: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def dim(self) -> int:
        return sum(m.dim for m in self.members)

    def _config(self) -> dict[str, Any]:
        return {"members": [m.fingerprint for m in self.members]}

    def load(self) -> None:
        for m in self.members:
            m.load()

    def cache_key(self, item: Any) -> str:
        return self.members[0].cache_key(item)

    def _encode_report(
        self, items: list[Any], batch_size: int, progress: ProgressCallback | None
    ) -> tuple[np.ndarray, dict[int, str]]:
        parts: list[np.ndarray] = []
        errors: dict[int, str] = {}
        for j, m in enumerate(self.members):
            vecs, errs = m.encode_report(items, batch_size=batch_size,
                                         progress=progress if j == len(self.members) - 1 else None)
            parts.append(vecs)
            errors.update(errs)
        out = np.concatenate(parts, axis=1).astype(np.float32)
        if errors:
            out[list(errors)] = np.nan
        return out, errors

    # ---------------------------------------------------------------- concept head
    def concepts(self) -> tuple[Concept, ...]:
        """The members' (shared) concepts."""
        return self.members[0].concepts()  # type: ignore[attr-defined, no-any-return]

    def concept_head(self) -> tuple[np.ndarray, np.ndarray]:
        """``W = [W_1 ... W_n] / n`` and ``b = mean(b_i)``: ``concept_logits`` is the mean of the members'."""
        if self._head is None:
            heads = [m.concept_head() for m in self.members]  # type: ignore[attr-defined]
            n = float(len(heads))
            self._head = (np.concatenate([W for W, _ in heads], axis=1) / np.float32(n),
                          (np.sum([b for _, b in heads], axis=0) / np.float32(n)).astype(np.float32))
        return self._head
