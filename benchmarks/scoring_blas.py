"""Issue 17: scoring N items against K classes, against the machine's BLAS rate.

Usage::

    python benchmarks/scoring_blas.py [--n 100000] [--k 1000] [--d 384] [--rounds 5]

Three timings in one run (best of ``--rounds``, float32): a large square ``sgemm`` (the machine's BLAS rate),
the bare product ``X @ C.T`` of the benchmark's shapes, and transzero's scoring path
(``SimilarityClassifier.decision_function``: input checks, row normalisation, product, scale; no softmax).
Rates are 2·N·K·D floating-point operations per second. Writes benchmarks/results/scoring_blas.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import write_result
from transzero.labels import ClassEmbeddings
from transzero.methods import create_method


def best_of(fn, rounds: int) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d), dtype=np.float32)
    C = rng.standard_normal((args.k, args.d), dtype=np.float32)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    sq = 4096
    A = rng.standard_normal((sq, sq), dtype=np.float32)
    t_peak = best_of(lambda: A @ A, args.rounds)
    peak = 2 * sq ** 3 / t_peak
    t_gemm = best_of(lambda: X @ C.T, args.rounds)
    ce = ClassEmbeddings([f"c{i}" for i in range(args.k)], C, C, np.arange(args.k), [])
    method = create_method("similarity").fit(class_embeddings=ce)
    t_ours = best_of(lambda: method.decision_function(X), args.rounds)
    flops = 2 * args.n * args.k * args.d
    rows = {
        "blas_peak_gflops": round(peak / 1e9, 1),
        "bare_product_gflops": round(flops / t_gemm / 1e9, 1),
        "transzero_scoring_gflops": round(flops / t_ours / 1e9, 1),
        "transzero_vs_peak": round(flops / t_ours / peak, 3),
        "transzero_vs_bare_product": round(t_gemm / t_ours, 3),
        "seconds": {"peak_4096": round(t_peak, 4), "bare_product": round(t_gemm, 4), "transzero": round(t_ours, 4)},
    }
    print(rows)
    write_result("scoring_blas", {"n": args.n, "k": args.k, "d": args.d, "rounds": args.rounds, **rows})


if __name__ == "__main__":
    main()
