"""Accuracy of the int8 text path beside fp32: the check behind the default ``minilm-l6`` backend.

Usage::

    python benchmarks/quantization_text.py [--split test|dev|both] [--backends torch,onnx,onnx-int8]

For AG News, Banking77 and SST-2 (test), and the dev sets (Banking77 train sample, SST-2 dev)
that chose the int8 recipe, every backend of ``minilm-l6`` encodes the same texts and the
same label spaces: the class names as ``transzero eval`` uses them (default prompt ensemble)
and the names with the hand-written descriptions of benchmarks/labels/. Reports accuracy
(zero-shot ``similarity``), its difference to torch fp32, the texts whose prediction changed,
and the cosine of every vector to fp32. Writes benchmarks/results/quantization_text.json.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from _common import ROOT, require_data, write_result
from transzero import LabelSpace, create_encoder
from transzero.data import read_text_table
from transzero.methods import create_method
from zeroshot_text import DATASETS, DEV, DEV_MAX

SOURCES = {"test": DATASETS, "dev": DEV}


def load(split: str, ds: str) -> tuple[list[str], list[str], list[str]]:
    rel, tcol, lcol, _ = SOURCES[split][ds]
    table = read_text_table(require_data(*rel.split("/")), text_column=tcol, label_column=lcol)
    texts, gold = table.texts, table.labels
    if split == "dev" and len(texts) > DEV_MAX:  # the same sample as zeroshot_text.py --split dev
        pick = np.random.default_rng(0).choice(len(texts), DEV_MAX, replace=False)
        texts, gold = [texts[i] for i in pick], [gold[i] for i in pick]
    names = list(dict.fromkeys(table.labels))
    if ds == "banking77":
        names = json.loads(require_data("banking77", "categories.json").read_text())
    return texts, [str(g) for g in gold], names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["test", "dev", "both"], default="both")
    ap.add_argument("--backends", default="torch,onnx,onnx-int8", help="the first is the reference")
    args = ap.parse_args()
    backends = args.backends.split(",")
    encoders = {b: create_encoder("minilm-l6", backend=b) for b in backends}
    rows = []
    for split in (["dev", "test"] if args.split == "both" else [args.split]):
        for ds in SOURCES[split]:
            texts, gold, names = load(split, ds)
            spaces = {"names": LabelSpace(names),
                      "descriptions": LabelSpace(names, descriptions=LabelSpace.from_file(
                          ROOT / "labels" / f"{ds}.yaml").descriptions)}
            vecs = {b: e.encode(texts) for b, e in encoders.items()}
            ref_b = backends[0]
            for cfg, ls in spaces.items():
                preds = {}
                for b, enc in encoders.items():
                    m = create_method("similarity").fit(class_embeddings=ls.embed(enc),
                                                        default_logit_scale=enc.default_logit_scale)
                    preds[b] = m.classes_[m.predict_proba(vecs[b]).argmax(1)]
                ref_acc = float(np.mean(preds[ref_b] == np.asarray(gold)))
                for b in backends:
                    acc = float(np.mean(preds[b] == np.asarray(gold)))
                    cos = (vecs[b] * vecs[ref_b]).sum(1)
                    rows.append({"split": split, "dataset": ds, "labels": cfg, "backend": b, "n": len(texts),
                                 "accuracy": round(100 * acc, 2), "delta_vs_fp32": round(100 * (acc - ref_acc), 2),
                                 "changed_predictions": int((preds[b] != preds[ref_b]).sum()),
                                 "cosine_to_fp32_mean": round(float(cos.mean()), 5),
                                 "cosine_to_fp32_min": round(float(cos.min()), 5)})
                    print(rows[-1], flush=True)
    write_result("quantization_text", {"encoder": "minilm-l6", "reference": backends[0], "method": "similarity",
                                       "rows": rows})


if __name__ == "__main__":
    main()
