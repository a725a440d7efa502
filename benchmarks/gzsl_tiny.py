"""Tiny ImageNet generalized zero-shot learning: every classical method, with and without calibrated stacking.

Usage::

    python benchmarks/gzsl_tiny.py [--methods dap,eszsl,sae,devise,ale,sje,conse] [--cache-dir DIR]

Split: benchmarks/splits/tiny-imagenet-gzsl.json (150 seen / 50 unseen classes, drawn once
with a fixed seed; its ``description`` says how). Training: the train50 images of the seen
classes (7,500). Test: all 10,000 val images (7,500 of seen, 2,500 of unseen classes).
Features: efficientnet-lite0 pooled features (1,280-d). Class semantics: minilm-l6
embeddings of each class's WordNet lemmas and gloss (``semantics="gloss"``, e.g.
"goldfish, Carassius auratus: small golden or orange-red freshwater fishes ..."), one unit
vector per class. gamma is chosen on the split's 30 validation classes, never on test data.
Writes benchmarks/results/gzsl_tiny.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import ROOT, require_data, write_result

from transzero import EmbeddingCache, LabelSpace, create_encoder
from transzero.data.image_folder import read_image_table
from transzero.gzsl import GZSLSplit, evaluate_gzsl
from transzero.methods import create_method

METHODS = "dap,eszsl,sae,devise,ale,sje,conse"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--semantics", default="gloss")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--tag", default="")
    ap.add_argument("--timing", action="store_true",
                    help="instead: time fit + predict of each method on all 10,000 train50 features (1,280-d, 200 classes)")
    args = ap.parse_args()
    split_file = ROOT / "splits" / "tiny-imagenet-gzsl.json"
    d = json.loads(split_file.read_text())
    split = GZSLSplit(d["seen"], d["unseen"], d["val"])
    cache = EmbeddingCache(args.cache_dir)
    enc = create_encoder("efficientnet-lite0")
    train = read_image_table(require_data("tiny-imagenet", "train50"), with_labels=True)
    test = read_image_table(require_data("tiny-imagenet", "val"), with_labels=True)
    assert not train.errors and not test.errors
    t0 = time.perf_counter()
    X_train = cache.encode(enc, train.texts)
    X_test = cache.encode(enc, test.texts)
    print(f"encoded {len(train.texts)} + {len(test.texts)} images in {time.perf_counter() - t0:.0f}s", flush=True)
    labels = LabelSpace(split.classes, semantics=args.semantics)  # class names are the wnids
    ce = labels.embed(create_encoder("minilm-l6"), cache)
    if args.timing:
        timing(args, X_train, train.labels, X_test, ce)
        return
    rows = []
    for name in args.methods.split(","):
        t1 = time.perf_counter()
        r = evaluate_gzsl(create_method(name), X_train, train.labels, X_test, test.labels, ce, split)
        r["method"] = name
        r["total_seconds"] = round(time.perf_counter() - t1, 2)
        rows.append(r)
        u0 = r["uncalibrated"]
        print(f"{name:>7}  zsl {100 * r['zsl_accuracy']:5.1f}  | γ=0: u {100 * u0['unseen_accuracy']:5.1f} "
              f"s {100 * u0['seen_accuracy']:5.1f} H {100 * u0['harmonic_mean']:5.1f} | γ={r['gamma']:.2f}: "
              f"u {100 * r['unseen_accuracy']:5.1f} s {100 * r['seen_accuracy']:5.1f} H {100 * r['harmonic_mean']:5.1f}"
              f" | AUSUC {100 * r['ausuc']:5.1f} | {r['total_seconds']:.1f}s", flush=True)
    # Reference, not a ZSL method: the WordNet bridge over the backbone's own ImageNet head (issue #3) needs no
    # seen-class training at all, because the ImageNet-1k classifier already knows these (ImageNet) classes.
    from transzero import ZeroShotClassifier
    from transzero.gzsl_metrics import per_class_accuracy

    un = np.asarray([v in set(split.unseen) for v in test.labels])
    wn = ZeroShotClassifier(LabelSpace(split.unseen), encoder=enc, method="wordnet", cache=cache).fit()
    pred = wn.method_.predict(X_test[un])
    index = {c: i for i, c in enumerate(split.unseen)}
    ref = per_class_accuracy(np.asarray([index[v] for v in np.asarray(test.labels)[un]]),
                             np.asarray([index[str(p)] for p in pred]))
    print(f"reference: wordnet bridge over the ImageNet head, 50 unseen classes: {100 * ref:.1f}", flush=True)
    write_result("gzsl_tiny" + (f"_{args.tag}" if args.tag else ""),
                 {"split": str(split_file.relative_to(ROOT.parent)), "encoder": enc.name, "semantics": args.semantics,
                  "semantic_encoder": "minilm-l6", "n_train_pool": len(train.texts), "n_test": len(test.texts),
                  "rows": rows, "reference_wordnet_zsl_accuracy": ref})


def timing(args: argparse.Namespace, X: np.ndarray, y: list, X_test: np.ndarray, ce) -> None:
    """Wall time of fit (hyper-parameter search included) and predict on 10,000 x 1,280 features."""
    rows = []
    for name in args.methods.split(","):
        t0 = time.perf_counter()
        m = create_method(name).fit(X, y, class_embeddings=ce, default_logit_scale=1.0)
        t1 = time.perf_counter()
        m.predict(X_test)
        t2 = time.perf_counter()
        rows.append({"method": name, "n_train": len(X), "dim": int(X.shape[1]), "n_classes": len(set(y)),
                     "fit_seconds": round(t1 - t0, 2), "predict_seconds_10k": round(t2 - t1, 2)})
        print(rows[-1], flush=True)
    write_result("gzsl_timing", {"rows": rows})


if __name__ == "__main__":
    main()
