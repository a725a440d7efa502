"""Does normalising WordNet class masses by class size help? A coarse zero-shot dev task.

Usage::

    python benchmarks/wordnet_normalisation.py

Dev data, not a test set: Tiny ImageNet *train50* images (20 per class) whose WordNet id
falls under exactly one of 12 generic categories (dog, bird, fish, insect, reptile,
vehicle, building, food, garment, furniture, container, device), at their native 64 px
and downsampled to 32 px (CIFAR's resolution, without CIFAR). Scores the `wordnet`
bridge with class scores ``sum_c A[y,c] p(c|x) / n_y**alpha`` (n_y = concepts under y;
alpha 0 is ``aggregate="sum"``, 1 is ``aggregate="mean"``). The categories hold unequal
numbers of images, so balanced accuracy (mean per-class recall) is what a balanced test
set such as CIFAR-10 would measure. Writes benchmarks/results/wordnet_normalisation.json.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from _common import require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.wordnet import load_wordnet

COARSE = ["dog", "bird", "fish", "insect", "reptile", "vehicle", "building", "food", "garment", "furniture", "container", "device"]


def main() -> None:
    wn = load_wordnet()
    syn = {c: wn.synsets(c, pos="n")[0] for c in COARSE}
    root = require_data("tiny-imagenet", "train50")
    files, gold = [], []
    for w in sorted(os.listdir(root)):
        s = wn.synset_from_pos_and_offset("n", int(w[1:]))
        anc = set(s.closure(lambda t: t.hypernyms() + t.instance_hypernyms())) | {s}
        hits = [c for c in COARSE if syn[c] in anc]
        if len(hits) == 1:
            for f in sorted(os.listdir(root / w))[:20]:
                files.append(root / w / f)
                gold.append(hits[0])
    y = np.asarray(gold)
    cache = EmbeddingCache()
    enc = create_encoder("efficientnet-lite0")
    small = [np.asarray(Image.open(f).convert("RGB").resize((32, 32), Image.Resampling.BICUBIC)) for f in files]
    clf = ZeroShotClassifier(LabelSpace(COARSE), encoder=enc, method="wordnet", cache=cache).fit()
    A = clf.method_.aggregation_
    n = A.sum(1, keepdims=True)
    rows = []
    for res, items in (("64px", files), ("32px", small)):
        P = clf.method_.concept_proba(enc.encode(items) if res == "32px" else cache.encode(enc, items))
        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
            pred = np.asarray(COARSE)[(P @ (A / n**alpha).T).argmax(1)]
            acc = float((pred == y).mean())
            bal = float(np.mean([(pred[y == c] == c).mean() for c in COARSE if (y == c).any()]))
            rows.append({"resolution": res, "alpha": alpha, "accuracy": round(100 * acc, 1),
                         "balanced_accuracy": round(100 * bal, 1)})
            print(rows[-1], flush=True)
    write_result("wordnet_normalisation", {"n": len(files), "classes": COARSE, "rows": rows})


if __name__ == "__main__":
    main()
