"""End-to-end image throughput (files on disk -> concept probabilities), ONNX vs torch eager.

Usage::

    python benchmarks/throughput_image.py [--n 1000] [--dataset cifar10|tiny-imagenet]

Both backends read, decode, resize and classify the same JPEG files (no embedding cache),
best of ``--rounds`` rounds, in the same run. Writes benchmarks/results/throughput_image.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import require_data, write_result
from transzero import create_encoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dataset", default="cifar10", choices=["cifar10", "tiny-imagenet"])
    ap.add_argument("--encoder", default="efficientnet-lite0")
    ap.add_argument("--others", default="efficientnet-lite1,efficientnet-lite2,efficientnet-lite02",
                    help="more encoders timed (ONNX) in the same run, as a ratio to --encoder's ONNX speed")
    args = ap.parse_args()
    root = require_data("cifar10", "test") if args.dataset == "cifar10" else require_data("tiny-imagenet", "val", "images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    files = [files[i] for i in np.random.default_rng(0).choice(len(files), min(args.n, len(files)), replace=False)]
    engines = {b: create_encoder(args.encoder, backend=b) for b in ("onnx", "torch")}
    for name in filter(None, args.others.split(",")):
        engines[name] = create_encoder(name)
    for e in engines.values():
        e.load()
        e.concept_proba(e.encode(files[:8]))  # warm-up
    best = {b: float("inf") for b in engines}
    probs = {}
    for r in range(args.rounds):
        for b, e in engines.items():
            t0 = time.perf_counter()
            probs[b] = e.concept_proba(e.encode(files))
            best[b] = min(best[b], time.perf_counter() - t0)
            print(f"round {r} {b}: {len(files) / (time.perf_counter() - t0):.1f} images/s", flush=True)
    same_top1 = float((probs["onnx"].argmax(1) == probs["torch"].argmax(1)).mean())
    rows = [{"backend": b, "images_per_s": round(len(files) / best[b], 1),
             "cost_vs_onnx": round(best[b] / best["onnx"], 2)} for b in engines]
    ratio = best["torch"] / best["onnx"]
    print(rows, f"onnx/torch = {ratio:.2f}x, same top-1 on {100 * same_top1:.1f}%")
    write_result("throughput_image", {"dataset": args.dataset, "encoder": args.encoder, "n_images": len(files),
                                      "rounds": args.rounds,
                                      "rows": rows, "onnx_vs_torch": round(ratio, 2), "same_top1": same_top1,
                                      "preprocess": engines["onnx"].preprocess.to_dict()})


if __name__ == "__main__":
    main()
