"""Image zero-shot with EfficientNet-Lite0 bridged to language: CIFAR-10 and Tiny ImageNet.

Usage::

    python benchmarks/zeroshot_image.py [--datasets cifar10,tiny-imagenet] [--limit N] [--views 128,224]

Every bridge (conse; wordnet with the default ``aggregate="mean"`` and with ``"sum"``)
with and without prompt ensembles ("photo" templates on class and concept names), for the
default encoder and, with ``--views``, for the multi-scale encoder (low-res images also run
at these sizes, features averaged). Class names: CIFAR-10 folder names; Tiny ImageNet: the first
synonym in words.txt (what a user would type, not the WordNet id). Features are cached
(``--cache-dir``), so reruns only re-score. Writes benchmarks/results/zeroshot_image.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.data.image_folder import read_image_table


def load(dataset: str, limit: int, split: str = "test") -> tuple[list[str], list[str], dict[str, str]]:
    if dataset == "cifar10":
        if split != "test":
            raise SystemExit("cifar10: no dev split is used (labelled CIFAR data is off limits for choices)")
        t = read_image_table(require_data("cifar10", "test"), with_labels=True)
        names = {c: c for c in sorted(set(t.labels))}
    else:
        root = require_data("tiny-imagenet", "val" if split == "test" else "train50")
        t = read_image_table(root, with_labels=True)
        words = {}
        for line in require_data("tiny-imagenet", "words.txt").read_text().splitlines():
            wnid, _, syn = line.partition("\t")
            words[wnid] = syn.split(",")[0].strip()
        names = {w: words[w] for w in sorted(set(t.labels))}
    assert not t.errors
    files, gold = t.texts, t.labels
    if limit:
        pick = np.random.default_rng(0).choice(len(files), limit, replace=False)
        files, gold = [files[i] for i in pick], [gold[i] for i in pick]
    return files, gold, names  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="cifar10,tiny-imagenet")
    ap.add_argument("--methods", default="conse,wordnet,wordnet:sum")
    ap.add_argument("--views", default="", help="extra low-res sizes for a multi-scale encoder run, e.g. 128,224")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--split", choices=["test", "dev"], default="test",
                    help="dev: Tiny ImageNet train50 (not the val images), for choosing the default bridge")
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    encoders = [create_encoder("efficientnet-lite0")]
    if args.views:
        encoders.append(create_encoder("efficientnet-lite0", low_res_views=[int(v) for v in args.views.split(",")]))
    rows = []
    for ds, enc in ((d, e) for d in args.datasets.split(",") for e in encoders):
        views = list(enc.preprocess.low_res_views)
        files, gold, names = load(ds, args.limit, args.split)
        t0 = time.perf_counter()
        X = cache.encode(enc, files)
        t_enc = time.perf_counter() - t0
        # classes are named by words; the gold labels (folder names / WordNet ids) map onto them
        word_of = names
        y = np.asarray([word_of[g] for g in gold], dtype=object)
        class_words = list(dict.fromkeys(word_of[k] for k in sorted(word_of)))
        if len(class_words) != len(word_of):  # two ids with the same first word: keep ids distinct
            raise SystemExit(f"{ds}: class words are not unique")
        for templates in (None, "photo"):
            labels = LabelSpace(class_words, templates=templates)
            for spec in args.methods.split(","):
                method, _, agg = spec.partition(":")
                params = {"aggregate": agg} if agg else None
                clf = ZeroShotClassifier(labels, encoder=enc, method=method, method_params=params, cache=cache,
                                         concept_templates=templates).fit()
                proba = clf.method_.predict_proba(X)
                order = np.argsort(-proba, axis=1)
                top1 = clf.classes_[order[:, 0]]
                top5 = (clf.classes_[order[:, :5]] == y[:, None]).any(axis=1)
                row = {"dataset": ds, "split": args.split, "n": len(files), "method": spec, "low_res_views": views,
                       "templates": templates or "name",
                       "top1": round(100 * float((top1 == y).mean()), 2), "top5": round(100 * float(top5.mean()), 2),
                       "encode_seconds": round(t_enc, 1)}
                rows.append(row)
                print(row, flush=True)
    suffix = ("_dev" if args.split == "dev" else "") + (f"_limit{args.limit}" if args.limit else "")
    write_result("zeroshot_image" + suffix, {"encoder": encoders[0].name, "rows": rows})


if __name__ == "__main__":
    main()
