"""Approximate nearest neighbours for transduction at scale (issue #15).

Usage::

    python benchmarks/ann_transduction.py [--n 1000000] [--sample 2000]

1. AG News (7,600 test texts, `minilm-l6`, class names only): transduction accuracy with the exact k-NN graph
   against the HNSW one (`--index ann`), on the same vectors and zero-shot logits.
2. One million vectors: the AG News MiniLM vectors repeated with Gaussian noise (a Gaussian vector of norm 0.35 added to
   each unit vector before re-normalising, so no two are equal), logits from the same zero-shot classifier. Reports the HNSW graph's build
   and search time, recall@k against exact search on a sample of queries, and the whole transduction (graph +
   propagation + balancing) wall time and peak memory (RSS). Goal: under 10 minutes and 8 GB.

Writes benchmarks/results/ann_transduction.json.
"""

from __future__ import annotations

import argparse
import csv
import resource
import time

import numpy as np

from _common import require_data, write_result


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--noise", type=float, default=0.35, help="relative norm of the noise added to each copy")
    args = ap.parse_args()
    from transzero import EmbeddingCache, ZeroShotClassifier
    from transzero.neighbors import knn
    from transzero.transductive import Transduction

    data = require_data("ag_news", "ag_news_test.csv")
    with data.open() as fh:
        rows = list(csv.DictReader(fh))
    texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
    names = sorted(set(gold))
    clf = ZeroShotClassifier(names, cache=EmbeddingCache()).fit()   # class names only: what `transzero eval` does
    X = clf.encode(texts)
    Z = clf.decision_function_encoded(X)
    y = np.array([names.index(g) for g in gold])
    out: dict = {"data": "AG News test (7,600), minilm-l6, class names only", "k": args.k}
    inductive = float(np.mean(Z.argmax(1) == y))
    agn = {"inductive": round(100 * inductive, 2)}
    for index in ("exact", "ann"):
        t0 = time.perf_counter()
        P = Transduction(k=args.k, index=index).adapt(X, Z)
        agn[index] = round(100 * float(np.mean(P.argmax(1) == y)), 2)
        agn[f"{index}_seconds"] = round(time.perf_counter() - t0, 2)
    agn["difference"] = round(agn["ann"] - agn["exact"], 2)
    out["ag_news"] = agn
    print("AG News", agn, flush=True)

    # ---------------------------------------------------------------- one million vectors
    rng = np.random.default_rng(0)
    d = X.shape[1]
    base = np.resize(np.arange(len(X)), args.n)          # each test vector ~n/7600 times
    # relative noise: a Gaussian vector of norm ~args.noise added to each unit vector, then re-normalised
    big = X[base]
    for s in range(0, args.n, 100_000):  # (in float32 chunks: the set-up must not dominate the peak memory)
        part = big[s : s + 100_000]
        part += rng.standard_normal(part.shape, dtype=np.float32) * np.float32(args.noise / np.sqrt(d))
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    Zbig = clf.decision_function_encoded(big)
    ybig = y[base]
    del base
    setup_rss = rss_gb()
    print(f"{args.n} vectors ready; RSS {setup_rss:.2f} GB", flush=True)
    t0 = time.perf_counter()
    sims, idx = knn(big, args.k, index="ann")
    t_graph = time.perf_counter() - t0
    sample = rng.choice(args.n, size=args.sample, replace=False)
    t1 = time.perf_counter()
    _, exact = knn(big, args.k + 1, queries=big[sample], index="exact", exclude_self=False)
    t_exact = time.perf_counter() - t1
    exact = [[j for j in row if j != q][: args.k] for row, q in zip(exact, sample)]   # drop the query itself
    recall = float(np.mean([len(set(a) & set(e)) / args.k for a, e in zip(idx[sample], exact)]))
    del sims, idx
    print(f"HNSW k-NN of {args.n}: {t_graph:.0f} s, recall@{args.k} {recall:.3f}", flush=True)
    t2 = time.perf_counter()
    P = Transduction(k=args.k, index="ann").adapt(big, Zbig)
    t_trans = time.perf_counter() - t2
    out["million"] = {
        "n": args.n, "vectors": f"AG News MiniLM vectors repeated with Gaussian noise of relative norm {args.noise}, re-normalised",
        "knn_graph_seconds": round(t_graph, 1), "recall_at_k": round(recall, 4), "recall_sample": args.sample,
        "exact_seconds_for_sample": round(t_exact, 1),
        "transduction_seconds": round(t_trans, 1), "peak_rss_gb": round(rss_gb(), 2),
        "rss_after_setup_gb": round(setup_rss, 2),
        "inductive_accuracy": round(100 * float(np.mean(Zbig.argmax(1) == ybig)), 2),
        "transductive_accuracy": round(100 * float(np.mean(P.argmax(1) == ybig)), 2),
        "goals": {"transduction_seconds": "< 600", "peak_rss_gb": "< 8"},
    }
    print("million", out["million"], flush=True)
    write_result("ann_transduction", out)


if __name__ == "__main__":
    main()
