"""The one encoded-batch type: vectors of the items that encoded, their positions, and why the others failed.

The pipeline's encode stage, the service's micro-batcher and the Ray engine all hand an :class:`Encoded` to the
prediction path; :meth:`Encoded.from_report` builds one from what encoding returns (a row per item, bad ones
reported by index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["EncodeTiming", "Encoded"]


@dataclass
class EncodeTiming:
    """Where a batch's encoding time went (the service reports it per request)."""

    #: seconds the request waited for its micro-batch
    queue_seconds: float = 0.0
    #: seconds the encoder ran on that batch
    encode_seconds: float = 0.0
    #: items in the encoder call (the largest one, for a chunked request)
    batch_items: int = 0


@dataclass
class Encoded:
    """Vectors of the items that encoded (``positions``, in order), and why the others failed (``errors``).

    Attributes
    ----------
    X : ndarray (n_encoded, D)
        One row per encoded item (raw clips in an object array for methods that read items themselves).
    positions : list of int
        Each row's position in the batch, request or table.
    errors : dict int -> str
        Position -> why that item could not be encoded.
    logits : ndarray, optional
        Rows already scored by a remote copy of the classifier (the Ray engine runs a method that reads raw clips
        on its workers); then ``X`` holds those logits and the score step is skipped.
    transcripts : list of str, optional
        What a remote transcribing method heard, per row.
    timing : EncodeTiming, optional
        Queue and encoder seconds (the service's micro-batcher).
    """

    X: np.ndarray
    positions: list[int]
    errors: dict[int, str] = field(default_factory=dict)
    logits: np.ndarray | None = None
    transcripts: list[str] | None = None
    timing: EncodeTiming | None = None

    @classmethod
    def from_report(cls, X: np.ndarray, errors: dict[int, str], positions: Sequence[int] | None = None, *,
                    timing: EncodeTiming | None = None) -> Encoded:
        """From encoding's report: ``X`` with one row per item (bad rows are dropped), ``errors`` by row index,
        ``positions`` each row's position (default: the row index)."""
        pos = list(range(len(X))) if positions is None else list(positions)
        if len(pos) != len(X):
            raise ValueError(f"{len(X)} rows but {len(pos)} positions")
        ok = [j for j in range(len(pos)) if j not in errors]
        return cls(np.asarray(X)[ok] if ok else np.asarray(X)[:0], [pos[j] for j in ok],
                   {pos[j]: m for j, m in errors.items()}, timing=timing)

    @classmethod
    def concat(cls, parts: Sequence[Encoded], offsets: Sequence[int], *, dim: int = 0) -> Encoded:
        """One batch from consecutive parts, part ``k``'s positions shifted by ``offsets[k]``; timings summed
        (``batch_items``: the largest)."""
        if not parts:
            return cls(np.zeros((0, dim), np.float32), [], {}, timing=EncodeTiming())
        X = np.concatenate([p.X for p in parts])
        positions = [o + i for p, o in zip(parts, offsets) for i in p.positions]
        errors = {o + i: m for p, o in zip(parts, offsets) for i, m in p.errors.items()}
        times = [p.timing for p in parts if p.timing is not None]
        timing = EncodeTiming(sum(t.queue_seconds for t in times), sum(t.encode_seconds for t in times),
                              max((t.batch_items for t in times), default=0)) if times else None
        return cls(X, positions, errors, timing=timing)

    def relabel(self, positions: Sequence[int]) -> Encoded:
        """The same batch with every position ``i`` replaced by ``positions[i]`` (a request's good items back at
        their places among all its items)."""
        return Encoded(self.X, [positions[i] for i in self.positions],
                       {positions[i]: m for i, m in self.errors.items()}, self.logits, self.transcripts, self.timing)

    def rows(self) -> dict[int, np.ndarray]:
        """Position -> vector, for the items that encoded."""
        return {p: self.X[j] for j, p in enumerate(self.positions)}

    def __len__(self) -> int:
        return len(self.positions)
