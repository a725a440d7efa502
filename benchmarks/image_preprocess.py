"""Choose image preprocessing for EfficientNet-Lite0 on non-test data.

Usage::

    python benchmarks/image_preprocess.py [--per-class 6]

Scores the ImageNet-1k concept head (top-1 / top-5) on Tiny-ImageNet *train* images
(train50, the classes that are ImageNet-1k classes) at their native 64 px and
downsampled to 32 px (CIFAR's resolution, without touching CIFAR), for pixel scalings
and input sizes, and multi-scale views of low-resolution images. Writes benchmarks/results/image_preprocess.json.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from PIL import Image

from _common import require_data, write_result
from transzero.concepts import imagenet_concepts
from transzero.encoders.image import EfficientNetLiteEncoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=6)
    args = ap.parse_args()
    idx = {c.wnid: c.index for c in imagenet_concepts()}
    root = require_data("tiny-imagenet", "train50")
    files, y = [], []
    for w in sorted(os.listdir(root)):
        if w in idx:
            for f in sorted(os.listdir(root / w))[: args.per_class]:
                files.append(root / w / f)
                y.append(idx[w])
    gold = np.asarray(y)
    small = [np.asarray(Image.open(f).convert("RGB").resize((32, 32), Image.Resampling.BICUBIC)) for f in files]
    configs = [
        {"scaling": "imagenet", "size": 224, "crop_pct": 0.875, "low_res_size": None},
        {"scaling": "lite", "size": 224, "crop_pct": 0.875, "low_res_size": None},
        {"scaling": "lite", "size": 224, "crop_pct": 1.0, "low_res_size": None},
        *({"scaling": "lite", "size": s, "crop_pct": 1.0, "low_res_size": None} for s in (128, 160, 192)),
        # the shipped rule (low-res images whole at 160 px), alone and with multi-scale views averaged
        {"scaling": "lite", "low_res_size": 160},
        {"scaling": "lite", "low_res_size": 160, "low_res_views": (224,)},
        {"scaling": "lite", "low_res_size": 160, "low_res_views": (128, 224)},
    ]
    rows = []
    for cfg in configs:
        enc = EfficientNetLiteEncoder(**cfg)
        for res, items in (("64px", files), ("32px", small)):
            top5 = np.argsort(-enc.concept_logits(enc.encode(items)), axis=1)[:, :5]
            row = {**cfg, "low_res_views": list(cfg.get("low_res_views", ())), "resolution": res, "n": len(items),
                   "top1": round(100 * float((top5[:, 0] == gold).mean()), 1),
                   "top5": round(100 * float((top5 == gold[:, None]).any(1).mean()), 1)}
            rows.append(row)
            print(row, flush=True)
    write_result("image_preprocess", {"rows": rows})


if __name__ == "__main__":
    main()
