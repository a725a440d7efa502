"""Few-shot learning curves: K labelled examples per class, every method, mean ± std over seeds.

Usage::

    python benchmarks/fewshot.py [--dataset cifar10|tiny-imagenet|ag_news|...] [--shots 0,1,2,4,8,16] [--seeds 3]

CIFAR-10: shots from cifar10/train500, evaluated on all 10,000 test images. Tiny ImageNet:
shots from train50, evaluated on the 10,000 val images (classes named by the first synonym
in words.txt). Encoder: the modality default (efficientnet-lite0 for images). Hyper-parameters
of every method are chosen on the support set only. Features are cached (``--cache-dir``).
Writes benchmarks/results/fewshot_<dataset>.json and a PNG plot beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import RESULTS, require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.curves import learning_curve, parse_shots, plot_curve
from transzero.data.image_folder import read_image_table

METHODS = "wordnet,prototype,linear,zs-linear,tip-adapter,tip-adapter-f"


def load(dataset: str) -> tuple[list[str], list[str], list[str], list[str]]:
    if dataset == "cifar10":
        sup = read_image_table(require_data("cifar10", "train500"), with_labels=True)
        ev = read_image_table(require_data("cifar10", "test"), with_labels=True)
        name = {c: c for c in set(ev.labels)}
    elif dataset == "tiny-imagenet":
        sup = read_image_table(require_data("tiny-imagenet", "train50"), with_labels=True)
        ev = read_image_table(require_data("tiny-imagenet", "val"), with_labels=True)
        name = {}
        for line in require_data("tiny-imagenet", "words.txt").read_text().splitlines():
            wnid, _, syn = line.partition("\t")
            name[wnid] = syn.split(",")[0].strip()
    else:
        raise SystemExit(f"unknown dataset {dataset}")
    assert not sup.errors and not ev.errors
    return sup.texts, [name[g] for g in sup.labels], ev.texts, [name[g] for g in ev.labels]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--shots", default="0,1,2,4,8,16")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--tag", default="", help="suffix of the result name (runs of extra methods)")
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    enc = create_encoder("efficientnet-lite0")
    sup_files, y_sup, ev_files, y_ev = load(args.dataset)
    t0 = time.perf_counter()
    X_sup = cache.encode(enc, sup_files)
    X_ev = cache.encode(enc, ev_files)
    print(f"encoded {len(sup_files)} + {len(ev_files)} in {time.perf_counter() - t0:.0f}s", flush=True)
    labels = LabelSpace(sorted(set(y_ev)))

    def make(method: str) -> ZeroShotClassifier:
        return ZeroShotClassifier(labels, encoder=enc, method=method, cache=cache)

    shots = parse_shots(args.shots)
    methods = args.methods.split(",")
    t1 = time.perf_counter()
    rows = learning_curve(make, methods, X_sup, y_sup, X_ev, y_ev, shots, seeds=args.seeds,
                          on_row=lambda r: print({k: r[k] for k in ("method", "shots", "accuracy_mean", "accuracy_std")},
                                                 flush=True))
    name = f"fewshot_{args.dataset}" + (f"_{args.tag}" if args.tag else "")
    png = plot_curve(rows, RESULTS / f"{name}.png", title=f"{args.dataset} · efficientnet-lite0 · {args.seeds} seeds")
    write_result(name, {"dataset": args.dataset, "encoder": enc.name, "n_eval": len(ev_files),
                        "support_pool": len(sup_files), "seeds": args.seeds, "shots": shots,
                        "fit_seconds": round(time.perf_counter() - t1, 1), "plot": png.name, "rows": rows})


if __name__ == "__main__":
    main()
