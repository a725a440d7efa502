"""Free Spoken Digit Dataset: few-shot digits and speakers with the audio encoders, and their throughput.

Usage::

    python benchmarks/audio_fewshot.py [--cache-dir DIR]

Data: ../shared/data/fsdd/fsdd.csv (3,000 clips, 8 kHz; 10 digits x 6 speakers x 50). Official split: test =
file index 0-4 (300 clips), the rest (2,700) is the pool the K shots per class are drawn from (seeds 0-2).
Digits: K = 1, 5, 20 per digit with `mfcc` and `speaker-ge2e`, methods `prototype` and `linear`.
Speakers: K = 1, 5, 20 per speaker with `speaker-ge2e` (6 classes). Throughput: clips/s of each encoder on the
300 test clips, cache off, best of 2 (decoding + resampling to 16 kHz + the model).
Writes benchmarks/results/audio_fewshot.json.
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np

from _common import require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.curves import learning_curve


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    root = require_data("fsdd")
    rows = list(csv.DictReader((root / "fsdd.csv").open()))
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in rows if r["split"] != "test"]
    assert len(test) == 300 and len(train) == 2700
    cache = EmbeddingCache(args.cache_dir)
    out: dict = {"n_test": len(test), "n_pool": len(train), "seeds": args.seeds, "curves": [], "throughput": []}
    for enc_name in ("mfcc", "speaker-ge2e"):
        enc = create_encoder(enc_name)
        paths = [str(root / r["audio"]) for r in test]
        for rep in range(2):  # throughput without the cache; the first pass also warms numba / torch
            t0 = time.perf_counter()
            enc.encode(paths)
            dt = time.perf_counter() - t0
        out["throughput"].append({"encoder": enc_name, "clips_per_s": round(len(paths) / dt, 1)})
        print(out["throughput"][-1], flush=True)
        X_te = cache.encode(enc, paths)
        X_tr = cache.encode(enc, [str(root / r["audio"]) for r in train])
        tasks = [("digit", "label")] + ([("speaker", "speaker")] if enc_name == "speaker-ge2e" else [])
        for task, col in tasks:
            y_te, y_tr = [r[col] for r in test], [r[col] for r in train]
            labels = LabelSpace(sorted(set(y_te)))

            def make(method: str) -> ZeroShotClassifier:
                return ZeroShotClassifier(labels, encoder=enc, method=method, cache=cache)

            curve = learning_curve(make, ["prototype", "linear"], X_tr, y_tr, X_te, y_te, [1, 5, 20], seeds=args.seeds)
            for r in curve:
                row = {"encoder": enc_name, "task": task, "method": r["method"], "shots": r["shots"],
                       "accuracy_mean": round(100 * r["accuracy_mean"], 2), "accuracy_std": round(100 * r["accuracy_std"], 2)}
                out["curves"].append(row)
                print(row, flush=True)
    write_result("audio_fewshot", out)


if __name__ == "__main__":
    main()
