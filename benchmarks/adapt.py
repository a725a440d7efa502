"""Issue 6: transduction over the test inputs, open-set rejection, and calibration.

Usage::

    python benchmarks/adapt.py [--parts transductive,open_set,calibration] [--cache-dir DIR]

transductive  AG News (7,600), Banking77 (3,080), SST-2 (1,821) with minilm-l6 + similarity and the
              hand-written label descriptions of benchmarks/labels/ (the zero-shot configuration of issue 2),
              and CIFAR-10 (10,000 test images) with efficientnet-lite0 + wordnet. Each: inductive, the default
              recipe (propagate + balance, chosen on SST-2 dev / Banking77 train / CIFAR-10 train500), and the
              other steps alone for comparison. No labels are used by any adaptation.
open_set      Banking77: 20 of the 77 intents held out of the label space (numpy default_rng(77) permutation
              of the sorted category names; the first 20), their 800 test items are "out of scope". The
              threshold rejects 5 % of in-scope examples: 16 per in-scope intent from banking77/train.csv.
calibration   16 labelled examples per class used only to fit a temperature and class biases. AG News: from the
              first half of the test file, ECE on the second half (AG News has no other split here); CIFAR-10:
              from train500, ECE on the 10,000 test images.
Writes benchmarks/results/adapt.json and reliability PNGs beside it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.special import softmax

from _common import RESULTS, ROOT, require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.calibration import expected_calibration_error, plot_reliability
from transzero.curves import sample_shots
from transzero.data import read_text_table
from transzero.data.image_folder import read_image_table
from transzero.decisions import open_set_report, rejection_scores, threshold_for_frr
from transzero.transductive import Transduction

TEXT = {
    "ag_news": ("ag_news/ag_news_test.csv", "text", "label"),
    "banking77": ("banking77/test.csv", "text", "category"),
    "sst2": ("sst2/sst2_test.csv", "text", "label"),
}
RECIPES = {"default (propagate,balance)": ("propagate", "balance"), "propagate": ("propagate",),
           "balance": ("balance",), "prior": ("prior",), "center": ("center",), "self-train": ("self-train",)}


def text_classifier(ds: str, names: list[str], cache: EmbeddingCache) -> ZeroShotClassifier:
    desc = LabelSpace.from_file(ROOT / "labels" / f"{ds}.yaml")
    ls = LabelSpace(names, descriptions={n: desc.descriptions[n] for n in names if n in desc.descriptions})
    return ZeroShotClassifier(ls, encoder="minilm-l6", cache=cache).fit()


def text_data(ds: str) -> tuple[list[str], list[str], list[str]]:
    rel, tcol, lcol = TEXT[ds]
    t = read_text_table(require_data(*rel.split("/")), text_column=tcol, label_column=lcol)
    names = list(dict.fromkeys(t.labels))
    if ds == "banking77":
        names = json.loads(require_data("banking77", "categories.json").read_text())
    return t.texts, t.labels, names


def cifar(cache: EmbeddingCache) -> tuple[ZeroShotClassifier, dict[str, tuple[list[str], list[str]]]]:
    test = read_image_table(require_data("cifar10", "test"), with_labels=True)
    train = read_image_table(require_data("cifar10", "train500"), with_labels=True)
    clf = ZeroShotClassifier(LabelSpace(sorted(set(test.labels))), encoder=create_encoder("efficientnet-lite0"),
                             method="wordnet", cache=cache).fit()
    return clf, {"test": (test.texts, test.labels), "train": (train.texts, train.labels)}


def acc(P: np.ndarray, y: np.ndarray) -> float:
    return round(100 * float(np.mean(P.argmax(1) == y)), 2)


def part_transductive(cache: EmbeddingCache) -> list[dict]:
    rows = []
    jobs = []
    for ds in TEXT:
        texts, gold, names = text_data(ds)
        jobs.append((ds, text_classifier(ds, names, cache), texts, gold))
    clf, d = cifar(cache)
    jobs.append(("cifar10", clf, *d["test"]))
    for ds, clf, items, gold in jobs:
        X = clf.encode(items)
        Z = clf.decision_function_encoded(X)
        y = np.asarray([list(clf.classes_).index(g) for g in gold])
        P0 = softmax(Z.astype(np.float64), axis=1)
        row = {"dataset": ds, "encoder": clf.encoder_.name, "method": type(clf.method_).__name__, "n": len(y),
               "inductive": acc(P0, y), "inductive_ece": round(100 * expected_calibration_error(P0, y), 2)}
        for name, steps in RECIPES.items():
            t0 = time.perf_counter()
            P = Transduction(steps=steps, sharpen=2.5 if steps == ("propagate", "balance") else 1.0).adapt(X, Z)
            row[name] = acc(P, y)
            row[f"{name} seconds"] = round(time.perf_counter() - t0, 2)
            if steps == ("propagate", "balance"):
                row["transductive_ece"] = round(100 * expected_calibration_error(P, y), 2)
                plot_reliability(P, y, RESULTS / f"adapt_reliability_transductive_{ds}.png", title=f"{ds} · transductive",
                                 others={"inductive": P0})
        rows.append(row)
        print(row, flush=True)
    return rows


def part_open_set(cache: EmbeddingCache) -> dict:
    texts, gold, names = text_data("banking77")
    order = np.random.default_rng(77).permutation(sorted(names))
    unknown = sorted(order[:20])
    known = [n for n in names if n not in set(unknown)]
    clf = text_classifier("banking77", known, cache)
    tr = read_text_table(require_data("banking77", "train.csv"), text_column="text", label_column="category")
    pool = [i for i, g in enumerate(tr.labels) if g in set(known)]
    pick = sample_shots([tr.labels[i] for i in pool], 16, seed=0).indices
    sup_items, sup_y = [tr.texts[pool[int(i)]] for i in pick], [tr.labels[pool[int(i)]] for i in pick]
    X, Xs = clf.encode(texts), clf.encode(sup_items)
    out = {"held_out_intents": unknown, "n_threshold_examples": len(sup_items), "target_frr": 0.05, "rows": []}
    Z = clf.decision_function_encoded(X)
    P = softmax(Z.astype(np.float64), axis=1)
    zs = clf.decision_function_encoded(Xs)
    for score in ("max_proba", "max_logit"):
        thr = threshold_for_frr(rejection_scores(softmax(zs.astype(np.float64), axis=1), zs, score), 0.05)
        s = rejection_scores(P, Z, score)
        pred = np.where(s < thr, "none", clf.classes_[P.argmax(1)]).astype(object)
        r = open_set_report(gold, pred, s, known)
        r.update(score=score, threshold=thr,
                 closed_set_accuracy=float(np.mean([clf.classes_[k] == g for k, g in zip(P.argmax(1), gold) if g in set(known)])))
        out["rows"].append(r)
        print({k: (round(100 * v, 2) if isinstance(v, float) and k != "threshold" else v) for k, v in r.items()}, flush=True)
    return out


def part_calibration(cache: EmbeddingCache) -> list[dict]:
    rows = []
    texts, gold, names = text_data("ag_news")
    half = len(texts) // 2
    clf = text_classifier("ag_news", names, cache)
    pick = sample_shots(gold[:half], 16, seed=0).indices
    jobs = [("ag_news", clf, [texts[int(i)] for i in pick], [gold[int(i)] for i in pick], texts[half:], gold[half:])]
    cclf, d = cifar(cache)
    tr_items, tr_gold = d["train"]
    pick = sample_shots(tr_gold, 16, seed=0).indices
    jobs.append(("cifar10", cclf, [tr_items[int(i)] for i in pick], [tr_gold[int(i)] for i in pick], *d["test"]))
    for ds, clf, c_items, c_gold, e_items, e_gold in jobs:
        clf.calibrator_ = None
        X = clf.encode(e_items)
        y = np.asarray([list(clf.classes_).index(g) for g in e_gold])
        P0 = clf._proba(X)
        row = {"dataset": ds, "n_calibration": len(c_items), "n_eval": len(y), "accuracy_before": acc(P0, y),
               "ece_before": round(100 * expected_calibration_error(P0, y), 2)}
        for bias in (False, True):
            clf.calibrator_ = None
            clf.calibrate(c_items, c_gold, bias=bias)
            P = clf._proba(X)
            key = "temperature+bias" if bias else "temperature"
            row[f"ece_{key}"] = round(100 * expected_calibration_error(P, y), 2)
            row[f"accuracy_{key}"] = acc(P, y)
            row[f"T_{key}"] = round(clf.calibrator_.temperature_, 3)
            if bias:
                plot_reliability(P, y, RESULTS / f"adapt_reliability_calibration_{ds}.png",
                                 title=f"{ds} · 16 labelled per class", others={"uncalibrated": P0})
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="transductive,open_set,calibration")
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    result: dict = {}
    for part in args.parts.split(","):
        result[part] = {"transductive": part_transductive, "open_set": part_open_set,
                        "calibration": part_calibration}[part](cache)
    write_result("adapt" + ("" if args.parts == "transductive,open_set,calibration" else "_" + args.parts.replace(",", "_")),
                 result)


if __name__ == "__main__":
    main()
