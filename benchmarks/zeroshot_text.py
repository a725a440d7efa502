"""Zero-shot accuracy on AG News, Banking77 and SST-2: encoders x label configurations.

Usage::

    python benchmarks/zeroshot_text.py [--encoders minilm-l6,minilm-l6-int8] [--limit N]

Label configurations (none looks at any data set text):
  names        the class names alone
  prompts      the class names in a prompt-template ensemble (topic / intent / sentiment set)
  descriptions names + the hand-written descriptions in benchmarks/labels/<dataset>.yaml
Writes benchmarks/results/zeroshot_text.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import ROOT, require_data, write_result
from transzero import EmbeddingCache, LabelSpace, create_encoder
from transzero.data import read_text_table
from transzero.evaluate import classification_report
from transzero.methods import create_method

DATASETS = {
    "ag_news": ("ag_news/ag_news_test.csv", "text", "label", "topic"),
    "banking77": ("banking77/test.csv", "text", "category", "intent"),
    "sst2": ("sst2/sst2_test.csv", "text", "label", "sentiment"),
}
# Held-out labelled data that is NOT the test split, for choosing the default configuration
# (AG News ships no other split here). banking77 train is subsampled to keep runs short.
DEV = {
    "banking77": ("banking77/train.csv", "text", "category", "intent"),
    "sst2": ("sst2/sst2_dev.csv", "text", "label", "sentiment"),
}
DEV_MAX = 3000


def label_spaces(ds: str, names: list[str]) -> dict[str, LabelSpace]:
    tmpl = DATASETS[ds][3]
    desc = LabelSpace.from_file(ROOT / "labels" / f"{ds}.yaml")
    return {
        "names": LabelSpace(names),
        "prompts": LabelSpace(names, templates=tmpl),
        "descriptions": LabelSpace(names, descriptions=desc.descriptions),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoders", default="minilm-l6,minilm-l6-int8,e5-small")
    ap.add_argument("--methods", default="similarity,knn")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--limit", type=int, default=0, help="first N rows only (smoke runs)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--split", choices=["test", "dev"], default="test",
                    help="dev: banking77 train (3000-row sample) and sst2 dev, for choosing defaults")
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    rows = []
    sources = DATASETS if args.split == "test" else DEV
    for ds in args.datasets.split(","):
        if ds not in sources:
            print(f"{ds}: no {args.split} split, skipped")
            continue
        rel, tcol, lcol, _ = sources[ds]
        table = read_text_table(require_data(*rel.split("/")), text_column=tcol, label_column=lcol)
        assert not table.errors, table.error_lines()[:3]
        texts, gold = table.texts, table.labels
        if args.split == "dev" and len(texts) > DEV_MAX:
            pick = np.random.default_rng(0).choice(len(texts), DEV_MAX, replace=False)
            texts, gold = [texts[i] for i in pick], [gold[i] for i in pick]
        if args.limit:
            texts, gold = texts[: args.limit], gold[: args.limit]
        names = list(dict.fromkeys(table.labels))
        if ds == "banking77":
            import json

            names = json.loads(require_data("banking77", "categories.json").read_text())
        for enc_name in args.encoders.split(","):
            enc = create_encoder(enc_name)
            t0 = time.perf_counter()
            X = cache.encode(enc, texts)
            t_enc = time.perf_counter() - t0
            for cfg, ls in label_spaces(ds, names).items():
                ce = ls.embed(enc, cache)
                for mname in args.methods.split(","):
                    m = create_method(mname).fit(class_embeddings=ce, default_logit_scale=enc.default_logit_scale)
                    proba = m.predict_proba(X)
                    pred = m.classes_[proba.argmax(1)]
                    rep = classification_report(gold, pred, m.classes_, proba)
                    row = {"dataset": ds, "split": args.split, "encoder": enc_name, "labels": cfg, "method": mname,
                           "n": rep["n"], "accuracy": round(100 * rep["accuracy"], 2),
                           "macro_f1": round(100 * rep["macro_f1"], 2), "ece": round(100 * rep["ece"], 2),
                           "encode_seconds": round(t_enc, 1)}
                    rows.append(row)
                    print(row, flush=True)
    suffix = ("_dev" if args.split == "dev" else "") + (f"_limit{args.limit}" if args.limit else "")
    write_result("zeroshot_text" + suffix, {"rows": rows})


if __name__ == "__main__":
    main()
