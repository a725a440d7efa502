"""The tests' keyword encoder, ``test-keywords``, registered on import.

A module of its own (not the conftest) so that a server's other processes can import it too: the replicas of
``transzero serve --engine ray`` take it as ``--plugin tests.keyword_encoder``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np

from transzero.encoders import TextEncoder, register_encoder
from transzero.encoders.registry import list_encoders

# Words that identify the toy classes used across the tests.
VOCAB = [
    "sports", "match", "goal", "team", "striker", "tennis",
    "politics", "election", "parliament", "vote", "senator", "budget",
    "technology", "phone", "chip", "software", "computer", "compiler",
]
TOPIC = {w: i // 6 for i, w in enumerate(VOCAB)}


class KeywordEncoder(TextEncoder):
    """Bag of topic words -> 3 topic dims + hashed noise dims; counts its calls."""

    backend = "test"

    def __init__(self, name: str = "test-keywords", dim: int = 16) -> None:
        self.name = name
        self._dim = dim
        self.calls = 0
        self.items_encoded = 0

    @property
    def dim(self) -> int:
        return self._dim

    def _config(self) -> dict[str, Any]:
        return {"dim": self._dim}

    def _encode(self, items: list[Any], batch_size: int, progress: Any) -> np.ndarray:
        self.calls += 1
        self.items_encoded += len(items)
        out = np.zeros((len(items), self._dim), dtype=np.float32)
        for r, text in enumerate(items):
            for w in re.findall(r"[a-z]+", text.lower()):
                if w in TOPIC:
                    out[r, TOPIC[w]] += 1.0
                else:
                    out[r, 3 + zlib.crc32(w.encode()) % (self._dim - 3)] += 0.05  # stable across processes
            out[r, -1] += 0.01
            if progress:
                progress(1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


if "test-keywords" not in list_encoders():
    register_encoder("test-keywords", modality="text", description="keyword encoder for tests")(
        lambda **kw: KeywordEncoder(**kw)
    )


