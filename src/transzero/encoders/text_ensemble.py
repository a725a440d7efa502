"""Several text encoders as one: late fusion of their similarities.

Each member's vector is L2-normalised and scaled by ``sqrt(w_i / sum(w))`` before the members are joined, so the
cosine between two joined vectors is the weighted mean of the members' cosines. Class descriptions go through the
same encoder, so ``similarity`` (and every method that compares items with classes) fuses the members' scores
without knowing it. ``minilm-e5`` (MiniLM + multilingual-e5-small) is the registered ensemble; ``ensemble:a+b``
builds any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError
from .base import ProgressCallback, TextEncoder

__all__ = ["TextEnsembleEncoder"]


class TextEnsembleEncoder(TextEncoder):
    """Text encoders whose normalised vectors are joined with weights (a fusion of their cosines).

    Parameters
    ----------
    members : sequence of str
        Registered text encoders.
    weights : sequence of float, optional
        One per member (default equal).
    name : str
    """

    backend = "ensemble"

    def __init__(self, members: Sequence[str], weights: Sequence[float] | None = None, *, name: str | None = None,
                 **member_kwargs: Any) -> None:
        from .registry import create_encoder

        members = list(members)
        if len(members) < 2:
            raise InputError(f"a text ensemble needs at least 2 encoders, got {members}")
        w = [1.0] * len(members) if weights is None else [float(x) for x in weights]
        if len(w) != len(members) or min(w) <= 0:
            raise InputError(f"give one positive weight per ensemble member ({len(members)}), got {list(w)}")
        self.members = [create_encoder(m, **member_kwargs) for m in members]
        for m in self.members:
            if m.modality != "text":
                raise InputError(f"ensemble member {m.name} encodes {m.modality}, not text")
        total = sum(w)
        self.weights = [x / total for x in w]
        self.name = name or "ensemble:" + "+".join(members)
        self.default_logit_scale = float(sum(wi * m.default_logit_scale for wi, m in zip(self.weights, self.members)))
        self.max_length = max(m.max_length for m in self.members)

    @property
    def dim(self) -> int:
        return sum(m.dim for m in self.members)

    def _config(self) -> dict[str, Any]:
        return {"members": [m.fingerprint for m in self.members], "weights": [round(x, 6) for x in self.weights]}

    def load(self) -> None:
        for m in self.members:
            m.load()

    def normalize_vectors(self, V: np.ndarray) -> np.ndarray:
        """Each member's block of ``V`` L2-normalised and weighted again: a mean of joined vectors (a class's prompts)
        becomes a point of the joined space, so its cosine with an item is the weighted mean of the members' cosines
        with their own class centroids (a plain L2 norm would weight each member by its prompts' spread)."""
        V = np.asarray(V, dtype=np.float32)
        parts, start = [], 0
        for m, w in zip(self.members, self.weights):
            parts.append(l2_normalize(V[:, start:start + m.dim]) * np.float32(np.sqrt(w)))
            start += m.dim
        return np.concatenate(parts, axis=1)

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        parts = []
        for j, (m, w) in enumerate(zip(self.members, self.weights)):
            v = m.encode(items, progress=progress if j == len(self.members) - 1 else None)
            parts.append(l2_normalize(v) * np.float32(np.sqrt(w)))
        return np.concatenate(parts, axis=1)
