"""Multimodal records: late fusion against each field alone.

Usage::

    python benchmarks/multimodal.py [--noise 0.4] [--cache-dir DIR]

1. CIFAR-10 test images (10,000) paired with generated captions. Each caption fills one of 6 templates
   ("a photo of my {}", ...) with the image's class name; with probability ``--noise`` (default 0.4, numpy
   default_rng(0)) the class name is replaced by a uniformly drawn *other* class: a caption is then
   confidently wrong. Image field: efficientnet-lite0 + wordnet; text field: minilm-l6 + similarity.
2. AG News test (7,600) from test.csv: the title and the description as two text fields, both minilm-l6 +
   similarity with the label descriptions of benchmarks/labels/ag_news.yaml.
Fusion weights are 1 (no tuning). Writes benchmarks/results/multimodal.json.
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

from _common import ROOT, require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.data.image_folder import read_image_table
from transzero.multimodal import MultiModalClassifier

TEMPLATES = ["a photo of my {}", "look at this {}!", "{} spotted today", "here is a {}", "my favourite {}", "a {} in the wild"]
AG = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}


def score(mm: MultiModalClassifier, records: list[dict], gold: list[str]) -> dict:
    res = mm.predict_batch(records)
    g = np.asarray(gold, dtype=object)
    row = {"fused": round(100 * float(np.mean(np.asarray(res.labels, dtype=object) == g)), 2)}
    for f, P in res.per_field.items():
        row[f"{f} alone"] = round(100 * float(np.mean(mm.classes_[np.argmax(P, axis=1)] == g)), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--noise", type=float, default=0.4)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    out = {}
    test = read_image_table(require_data("cifar10", "test"), with_labels=True)
    classes = sorted(set(test.labels))
    rng = np.random.default_rng(0)
    captions, wrong = [], 0
    for g in test.labels:
        name = g
        if rng.random() < args.noise:
            name = rng.choice([c for c in classes if c != g])
            wrong += 1
        captions.append(TEMPLATES[rng.integers(len(TEMPLATES))].format(name))
    labels = LabelSpace(classes)
    mm = MultiModalClassifier({"image": ZeroShotClassifier(labels, encoder=create_encoder("efficientnet-lite0"),
                                                           method="wordnet", cache=cache),
                               "text": ZeroShotClassifier(labels, encoder="minilm-l6", cache=cache)}).fit()
    recs = [{"image": p, "text": c} for p, c in zip(test.texts, captions)]
    out["cifar10_captions"] = {"n": len(recs), "noise": args.noise, "wrong_captions": wrong, **score(mm, recs, test.labels)}
    print(out["cifar10_captions"], flush=True)
    rows = list(csv.reader(require_data("ag_news", "test.csv").open()))
    desc = LabelSpace.from_file(ROOT / "labels" / "ag_news.yaml")
    ag = LabelSpace(list(AG.values()), descriptions=desc.descriptions)
    mm2 = MultiModalClassifier({"title": ZeroShotClassifier(ag, encoder="minilm-l6", cache=cache),
                                "description": ZeroShotClassifier(ag, encoder="minilm-l6", cache=cache)}).fit()
    recs2 = [{"title": r[1], "description": r[2].replace("\\\\", " ")} for r in rows]
    out["ag_news_fields"] = {"n": len(recs2), **score(mm2, recs2, [AG[r[0]] for r in rows])}
    print(out["ag_news_fields"], flush=True)
    write_result("multimodal", out)


if __name__ == "__main__":
    main()
