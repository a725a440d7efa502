"""Fine-tuning efficientnet-lite0 on K-shot CIFAR-10, and what it costs zero-shot elsewhere.

Usage::

    python benchmarks/finetune_image.py [--shots 16] [--seeds 3] [--epochs 12]

For each seed: K images per class from cifar10/train500 (the same samples as
benchmarks/fewshot.py), :func:`transzero.finetune.finetune` (LP-FT, early stopping and the
WiSE-FT weight chosen on a held-out part of the K-shot support only). Reported on all 10,000
CIFAR-10 test images: the chosen WiSE-FT model and the plain fine-tuned one (alpha = 1).
Zero-shot retention: the `wordnet` bridge on the 10,000 Tiny ImageNet val images with the
fine-tuned backbone, against the pretrained one. Writes benchmarks/results/finetune_image.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from _common import require_data, write_result
from fewshot import load
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.curves import sample_shots
from transzero.finetune import FineTuneConfig, finetune


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    sup_files, y_sup, ev_files, y_ev = load("cifar10")
    _, _, tiny_files, tiny_y = load("tiny-imagenet")
    classes = sorted(set(y_ev))
    tiny_classes = sorted(set(tiny_y))
    y_sup_a, y_ev_a, tiny_y_a = np.asarray(y_sup, dtype=object), np.asarray(y_ev, dtype=object), np.asarray(tiny_y, dtype=object)
    base = create_encoder("efficientnet-lite0")

    def tiny_zero_shot(enc) -> float:
        clf = ZeroShotClassifier(LabelSpace(tiny_classes), encoder=enc, method="wordnet", cache=cache).fit()
        return float((clf.method_.predict(cache.encode(enc, tiny_files)) == tiny_y_a).mean())

    tiny_before = tiny_zero_shot(base)
    print(f"tiny-imagenet zero-shot, pretrained: {100 * tiny_before:.2f}", flush=True)
    rows = []
    for seed in range(args.seeds):
        s = sample_shots(y_sup_a, args.shots, seed, classes=classes)
        items = [sup_files[i] for i in s.indices]
        yi = np.asarray([classes.index(v) for v in y_sup_a[s.indices]])
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            res = finetune(base, items, yi, len(classes), FineTuneConfig(epochs=args.epochs, seed=seed), output_dir=tmp,
                           keep_finetuned=True)
            t_fit = time.perf_counter() - t0
            row = {"seed": seed, "shots": args.shots, "alpha": res.alpha, "alpha_val_accuracy": res.alpha_scores,
                   "fit_seconds": round(t_fit, 1), "history": res.history}
            variants = [("wise", res.encoder, res.coef, res.intercept)]
            if res.ft_weights_path is not None and res.alpha != 1.0:
                ft_enc = create_encoder("efficientnet-lite0", weights=str(res.ft_weights_path))
                variants.append(("ft", ft_enc, res.ft_coef, res.ft_intercept))
            for name, enc, W, b in variants:
                X = cache.encode(enc, ev_files)
                pred = np.asarray(classes, dtype=object)[(X @ W.T + b).argmax(1)]
                row[f"{name}_accuracy"] = float((pred == y_ev_a).mean())
                row[f"{name}_tiny_zero_shot"] = tiny_zero_shot(enc)
            if res.alpha == 1.0:
                row["ft_accuracy"], row["ft_tiny_zero_shot"] = row["wise_accuracy"], row["wise_tiny_zero_shot"]
        rows.append(row)
        print({k: v for k, v in row.items() if k != "history"}, flush=True)

    def ms(key: str) -> dict[str, float]:
        v = np.asarray([r[key] for r in rows])
        return {"mean": float(v.mean()), "std": float(v.std())}

    write_result("finetune_image", {
        "dataset": "cifar10", "shots": args.shots, "seeds": args.seeds, "epochs": args.epochs,
        "tiny_imagenet_zero_shot_pretrained": tiny_before,
        "wise_accuracy": ms("wise_accuracy"), "ft_accuracy": ms("ft_accuracy"),
        "wise_tiny_zero_shot": ms("wise_tiny_zero_shot"), "ft_tiny_zero_shot": ms("ft_tiny_zero_shot"),
        "rows": rows,
    })


if __name__ == "__main__":
    main()
