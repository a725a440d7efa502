"""End-to-end image throughput (files on disk -> concept probabilities): ONNX, int8 ONNX and torch eager.

Usage::

    python benchmarks/throughput_image.py [--n 1000] [--dataset cifar10|tiny-imagenet]

Every engine reads, decodes, resizes and classifies the same JPEG files (no embedding cache), best of
``--rounds`` rounds, in the same run; ``--encoder`` runs with backends onnx, torch (a plain eager
forward) and onnx-int8, ``--others`` add more encoders (the default image encoder, efficientnet-lite02,
with its three backends too). Speed-ups are to the same encoder's torch run, with the share of images
whose ImageNet top-1 is unchanged. Writes benchmarks/results/throughput_image.json.
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
    ap.add_argument("--others", default="efficientnet-lite1@onnx,efficientnet-lite2@onnx,efficientnet-lite02@onnx,"
                                        "efficientnet-lite02@torch,efficientnet-lite02@onnx-int8",
                    help="more encoders timed in the same run (NAME@BACKEND; a bare NAME runs its default backend)")
    args = ap.parse_args()
    root = require_data("cifar10", "test") if args.dataset == "cifar10" else require_data("tiny-imagenet", "val", "images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    files = [files[i] for i in np.random.default_rng(0).choice(len(files), min(args.n, len(files)), replace=False)]
    engines = {b: create_encoder(args.encoder, backend=b) for b in ("onnx", "torch", "onnx-int8")}
    for name in filter(None, args.others.split(",")):
        base, _, backend = name.partition("@")
        engines[name] = create_encoder(base, **({"backend": backend} if backend else {}))
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

    def torch_run(b: str) -> str:
        """The engine that runs the same encoder as ``b`` with torch eager."""
        return "torch" if b in ("onnx", "onnx-int8") else b.partition("@")[0] + "@torch"

    rows = []
    for b in engines:
        row = {"backend": b, "images_per_s": round(len(files) / best[b], 1),
               "cost_vs_onnx": round(best[b] / best["onnx"], 2)}
        t = torch_run(b)
        if t in engines:  # speed-up over the same encoder's torch eager run, and ImageNet top-1 kept vs that run
            row["speedup_vs_torch"] = round(best[t] / best[b], 2)
            row["same_top1_as_torch"] = round(float((probs[b].argmax(1) == probs[t].argmax(1)).mean()), 4)
        rows.append(row)
    ratio = best["torch"] / best["onnx"]
    ratio8 = best["torch"] / best["onnx-int8"]
    print(rows, f"onnx/torch = {ratio:.2f}x (same top-1 on {100 * same_top1:.1f}%), onnx-int8/torch = {ratio8:.2f}x")
    write_result("throughput_image", {"dataset": args.dataset, "encoder": args.encoder, "n_images": len(files),
                                      "rounds": args.rounds,
                                      "rows": rows, "onnx_vs_torch": round(ratio, 2), "same_top1": same_top1,
                                      "onnx_int8_vs_torch": round(ratio8, 2),
                                      "preprocess": engines["onnx"].preprocess.to_dict()})


if __name__ == "__main__":
    main()
