"""Accuracy of the int8 image backbones beside fp32: the check behind ``backend="onnx-int8"``.

Usage::

    python benchmarks/quantization_image.py [--split dev|test|both] [--datasets cifar10,tiny-imagenet]
        [--encoders efficientnet-lite0,efficientnet-lite02]

Zero-shot from the class names (the image default method, ``wordnet``, as ``transzero eval`` runs
with no labels file), fp32 ONNX and the int8 build of every encoder on the same files: accuracy,
its difference to fp32, the share of images whose prediction and whose ImageNet top-1 concept stay
the same, and the encoding speed. ``dev``: CIFAR-10 train500 and a 3,000-image sample of Tiny
ImageNet train50 (they chose the int8 recipe and the default); ``test``: the CIFAR-10 test split and
Tiny ImageNet val. Writes benchmarks/results/quantization_image.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import require_data, write_result
from transzero import ZeroShotClassifier, create_encoder
from transzero.defaults import default_method
from zeroshot_image import load as tiny_imagenet


def files_of(dataset: str, split: str) -> tuple[list[str], list[str], list[str]]:
    if dataset == "tiny-imagenet":
        files, gold, names = tiny_imagenet("tiny-imagenet", 3000 if split == "dev" else 0, split)
        return files, [names[g] for g in gold], sorted(set(names.values()))
    root = require_data("cifar10", "train500" if split == "dev" else "test")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files, gold = [], []
    for c in classes:
        fs = sorted(str(p) for p in (root / c).glob("*.jpg"))
        files += fs
        gold += [c] * len(fs)
    return files, gold, classes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test", "both"], default="both")
    ap.add_argument("--datasets", default="cifar10,tiny-imagenet")
    ap.add_argument("--encoders", default="efficientnet-lite0,efficientnet-lite02")
    args = ap.parse_args()
    rows = []
    for split, dataset in [(sp, ds) for sp in (["dev", "test"] if args.split == "both" else [args.split])
                           for ds in args.datasets.split(",")]:
        files, gold, classes = files_of(dataset, split)
        for name in args.encoders.split(","):
            out = {}
            for backend in ("onnx", "onnx-int8"):
                enc = create_encoder(name, backend=backend)
                enc.load()  # builds the int8 file on first use: not timed
                clf = ZeroShotClassifier(classes, encoder=enc, method=default_method("image")).fit()
                t0 = time.perf_counter()
                X = enc.encode(files)
                secs = time.perf_counter() - t0
                P = clf.predict_proba_encoded(X)
                out[backend] = (np.asarray(clf.classes_)[P.argmax(1)], enc.concept_logits(X).argmax(1), secs)
            ref_pred, ref_top1, _ = out["onnx"]
            ref_acc = float(np.mean(ref_pred == np.asarray(gold)))
            for backend, (pred, top1, secs) in out.items():
                acc = float(np.mean(pred == np.asarray(gold)))
                rows.append({"split": split, "dataset": dataset, "encoder": name, "backend": backend, "n": len(files),
                             "method": "wordnet (the image default)",
                             "accuracy": round(100 * acc, 2), "delta_vs_fp32": round(100 * (acc - ref_acc), 2),
                             "same_prediction": round(100 * float(np.mean(pred == ref_pred)), 2),
                             "same_imagenet_top1": round(100 * float(np.mean(top1 == ref_top1)), 2),
                             "images_per_s": round(len(files) / secs, 1)})
                print(rows[-1], flush=True)
    write_result("quantization_image", {"data": "dev: CIFAR-10 train500, Tiny ImageNet train50 (3,000 sampled); "
                                                "test: CIFAR-10 test, Tiny ImageNet val",
                                        "labels": "class names only", "rows": rows})


if __name__ == "__main__":
    main()
