"""Nearest neighbours by cosine: exact (chunked matrix products) or approximate (a faiss HNSW index).

Every k-NN step of the library goes through :func:`knn`: the transductive graph, the ``knn`` method's bank,
Tip-Adapter's cache and the service's choice of what to label next. ``index="auto"`` searches exactly up to
:data:`ANN_THRESHOLD` vectors and builds an HNSW graph above it (faiss; never a hand-written index), where exact
search costs O(N²).
"""

from __future__ import annotations

import numpy as np

from ._util import l2_normalize
from .errors import InputError

__all__ = ["ANN_THRESHOLD", "INDEXES", "knn", "resolve_index"]

INDEXES = ("auto", "exact", "ann")
#: above this many vectors ``index="auto"`` uses the approximate index
ANN_THRESHOLD = 50_000
_CHUNK_CELLS = 1 << 26


def resolve_index(index: str, n: int) -> str:
    """``"exact"`` or ``"ann"`` for ``n`` vectors (``auto``: ann above :data:`ANN_THRESHOLD`)."""
    if index not in INDEXES:
        raise InputError(f"--index must be one of {', '.join(INDEXES)}, got {index!r}")
    if index == "auto":
        return "ann" if n > ANN_THRESHOLD else "exact"
    return index


def knn(
    X: np.ndarray,
    k: int,
    *,
    queries: np.ndarray | None = None,
    index: str = "auto",
    exclude_self: bool | None = None,
    chunk: int = 2048,
    hnsw_m: int = 32,
    ef_search: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar rows of ``X`` for each query (default: each row of ``X``).

    Returns ``(similarities (Q, k), indices (Q, k))``, most similar first. When the queries are ``X`` itself, an
    item is not its own neighbour (``exclude_self``). Rows are L2-normalised here.
    """
    Xn = l2_normalize(np.asarray(X, dtype=np.float32))
    self_query = queries is None
    Qn = Xn if self_query else l2_normalize(np.asarray(queries, dtype=np.float32))
    skip = self_query if exclude_self is None else bool(exclude_self)
    n = len(Xn)
    k = int(min(k, n - (1 if skip else 0)))
    if k < 1:
        return np.zeros((len(Qn), 0), np.float32), np.zeros((len(Qn), 0), np.int64)
    if resolve_index(index, n) == "ann":
        return _hnsw(Xn, Qn, k, skip and self_query, hnsw_m, ef_search)
    sims = np.empty((len(Qn), k), np.float32)
    idx = np.empty((len(Qn), k), np.int64)
    chunk = max(1, min(int(chunk), _CHUNK_CELLS // n))  # a (chunk, n) block of scores stays under ~256 MB
    for s in range(0, len(Qn), chunk):
        S = Qn[s : s + chunk] @ Xn.T
        if skip and self_query:
            S[np.arange(len(S)), np.arange(s, s + len(S))] = -np.inf
        top = np.argpartition(S, n - k, axis=1)[:, n - k :]
        v = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-v, axis=1, kind="stable")
        sims[s : s + chunk] = np.take_along_axis(v, order, axis=1)
        idx[s : s + chunk] = np.take_along_axis(top, order, axis=1)
    return sims, idx


def _hnsw(Xn: np.ndarray, Qn: np.ndarray, k: int, skip_self: bool, m: int, ef_search: int | None
          ) -> tuple[np.ndarray, np.ndarray]:
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a dependency
        raise InputError("approximate nearest neighbours need faiss: pip install faiss-cpu") from None
    index = faiss.IndexHNSWFlat(Xn.shape[1], int(m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(np.ascontiguousarray(Xn))
    want = k + (1 if skip_self else 0)
    index.hnsw.efSearch = int(ef_search or max(64, 2 * want))
    D, I = index.search(np.ascontiguousarray(Qn), want)
    if skip_self:  # drop each item itself (wherever HNSW ranked it), keep the k best others
        rows = np.arange(len(Qn))[:, None]
        keep = I != rows
        D = np.where(keep, D, -np.inf)
        order = np.argsort(-D, axis=1, kind="stable")[:, :k]
        D, I = np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)
    # (a missing neighbour is -1 with score -inf in faiss; it gets weight 0 downstream)
    return D.astype(np.float32), I.astype(np.int64)
