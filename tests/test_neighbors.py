"""Nearest neighbours: the HNSW index (faiss) against exact search, and the k-NN steps that use it."""

from __future__ import annotations

import numpy as np
import pytest

from transzero.errors import InputError
from transzero.neighbors import ANN_THRESHOLD, knn, resolve_index


def _clusters(n: int, d: int = 48, k: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    y = rng.integers(0, k, n)
    return (centres[y] + 0.6 * rng.normal(size=(n, d))).astype(np.float32), y


def test_resolve_index() -> None:
    assert resolve_index("auto", ANN_THRESHOLD) == "exact" and resolve_index("auto", ANN_THRESHOLD + 1) == "ann"
    assert resolve_index("exact", 10**7) == "exact" and resolve_index("ann", 10) == "ann"
    with pytest.raises(InputError, match="--index must be one of"):
        resolve_index("fast", 10)


def test_ann_recall_against_exact() -> None:
    X, _ = _clusters(20_000)
    sims_e, idx_e = knn(X, 10, index="exact")
    sims_a, idx_a = knn(X, 10, index="ann")
    assert idx_a.shape == idx_e.shape == (20_000, 10)
    assert not np.any(idx_e == np.arange(len(X))[:, None]) and not np.any(idx_a == np.arange(len(X))[:, None])
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(idx_a, idx_e)])
    assert recall >= 0.95, recall
    assert np.all(np.diff(sims_e, axis=1) <= 1e-6) and np.all(np.diff(sims_a, axis=1) <= 1e-6)  # best first
    Q = X[:50] + 0.01
    _, iq = knn(X, 5, queries=Q, index="ann")
    assert np.mean(iq[:, 0] == np.arange(50)) >= 0.9  # a query next to an item finds it


def test_exact_search_works_in_bounded_blocks(monkeypatch) -> None:
    """Exact search cuts the queries into blocks of at most _CHUNK_CELLS scores; the answer does not change."""
    import transzero.neighbors as nb

    X, _ = _clusters(3000)
    want = knn(X, 7, index="exact")
    seen: list[int] = []
    real_argpartition = np.argpartition

    def spy(a, *args, **kwargs):
        seen.append(a.size)
        return real_argpartition(a, *args, **kwargs)

    monkeypatch.setattr(nb, "_CHUNK_CELLS", 10 * len(X))
    monkeypatch.setattr(nb.np, "argpartition", spy)
    got = knn(X, 7, index="exact")
    assert max(seen) <= 10 * len(X) and len(seen) == 300
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)


def test_transduction_with_ann_matches_exact() -> None:
    from transzero.transductive import Transduction

    X, y = _clusters(6_000, k=6, seed=1)
    rng = np.random.default_rng(2)
    logits = np.eye(6)[np.where(rng.random(len(y)) < 0.6, y, rng.integers(0, 6, len(y)))] * 2.0  # 40 % noisy starts
    P_e = Transduction(index="exact").adapt(X, logits)
    P_a = Transduction(index="ann").adapt(X, logits)
    acc_e, acc_a = np.mean(P_e.argmax(1) == y), np.mean(P_a.argmax(1) == y)
    assert acc_e > 0.9 and abs(acc_e - acc_a) <= 0.005, (acc_e, acc_a)


def test_knn_method_and_tip_adapter_with_ann() -> None:
    from transzero.labels import ClassEmbeddings
    from transzero.methods import create_method

    X, y = _clusters(3_000, d=16, k=4, seed=3)
    names = [f"c{i}" for i in range(4)]
    ce = ClassEmbeddings(names, np.eye(4, 16, dtype=np.float32), np.eye(4, 16, dtype=np.float32), np.arange(4), names)
    labels = np.asarray(names, dtype=object)[y]
    for name in ("knn", "tip-adapter"):
        exact = create_method(name, index="exact").fit(X[:2000], labels[:2000], class_embeddings=ce, aligned=False)
        ann = create_method(name, index="ann").fit(X[:2000], labels[:2000], class_embeddings=ce, aligned=False)
        agree = np.mean(exact.predict(X[2000:]) == ann.predict(X[2000:]))
        assert agree >= 0.98, (name, agree)
