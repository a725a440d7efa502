"""Issue 22: choose the Whisper audio defaults on development clips only (the gate of ``whisper-fused``, the window).

Usage::

    python benchmarks/spoken_dev.py /tmp/spoken-dev          # once: speak the synthetic dev sets (espeak-ng)
    python benchmarks/speech_dev.py /tmp/spoken-dev [--fsdd-step 2] [--window auto]

Dev sets: FSDD clips of three speakers (george, jackson, lucas; every ``--fsdd-step``-th clip; the other three
speakers are never looked at here), and the synthetic sets of ``spoken_dev.py``: single words of three kinds and
spoken SNIPS requests whose classes are intents (topics, not words said). Each set's classes are its label names,
as ``transzero eval DATA`` uses them.

For every clip the two routes of ``whisper-fused`` are computed once (class log-probabilities of the spoken forms;
the transcript's text logits), then every gate setting is scored offline. The gate is chosen by leave-one-set-out:
for each set, the setting that is best on the *other* sets (mean accuracy) is scored on it; the mean of those
held-out scores is reported beside each route alone. Writes benchmarks/results/speech_dev.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path

import numpy as np

from _common import require_data, write_result
from transzero import ZeroShotClassifier

CENTERS = [-40.0, -30.0, -25.0, -20.0, -16.0, -14.0, -12.0, -10.0, -8.0, -6.0, -4.0]
WIDTHS = [0.5, 1.0, 2.0]


def read_set(csv_path: Path, speakers: set[str] | None = None, step: int = 1) -> tuple[list[str], list[str]]:
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if speakers is not None:
        rows = [r for r in rows if r["speaker"] in speakers]
    rows = rows[::step]
    return [str(csv_path.parent / r["audio"]) for r in rows], [r["label"] for r in rows]


def routes(files: list[str], labels: list[str], window: str) -> dict:
    classes = sorted(set(labels))
    params = {} if window == "auto" else {"window": float(window)}
    clf = ZeroShotClassifier(classes, encoder="whisper-tiny-en", method="whisper-fused", method_params=params).fit()
    t0 = time.perf_counter()
    clips = clf.encode(files)
    lp, zt, _, texts, _ = clf.method_._routes(list(clips))
    dt = time.perf_counter() - t0
    y = np.asarray([classes.index(g) for g in labels])
    return {"clf": clf, "lp": lp, "zt": zt, "y": y, "texts": texts, "seconds": dt}


def fused_accuracy(r: dict, center: float, width: float) -> float:
    m = r["clf"].method_
    total = np.logaddexp.reduce(r["lp"], axis=1)
    gate = 1.0 / (1.0 + np.exp(-(total - center) / width))
    z = m._mix(r["lp"], r["zt"], gate)
    return float(np.mean(np.argmax(z, axis=1) == r["y"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spoken", type=Path, help="the folder spoken_dev.py wrote")
    ap.add_argument("--fsdd-step", type=int, default=2)
    ap.add_argument("--window", default="auto")
    args = ap.parse_args()
    fsdd = require_data("fsdd", "fsdd.csv")
    sets = {"fsdd-dev": read_set(fsdd, {"george", "jackson", "lucas"}, args.fsdd_step)}
    for name in ("words-colors", "words-animals", "words-days", "requests-snips"):
        sets[name] = read_set(args.spoken / name / "data.csv")
    res = {}
    for name, (files, labels) in sets.items():
        res[name] = routes(files, labels, args.window)
        r = res[name]
        print(name, len(files), "clips", f"{len(files) / r['seconds']:.1f} clips/s", flush=True)
    grid = list(itertools.product(CENTERS, WIDTHS))
    table = {name: {f"{c}/{w}": fused_accuracy(r, c, w) for c, w in grid} for name, r in res.items()}
    only = {name: {"whisper": float(np.mean(np.argmax(r["lp"], 1) == r["y"])),
                   "whisper-text": float(np.mean(np.argmax(r["zt"], 1) == r["y"]))} for name, r in res.items()}
    loso = {}
    for held in res:
        others = [n for n in res if n != held]
        best = max(table[held], key=lambda k: np.mean([table[n][k] for n in others]))
        loso[held] = {"chosen": best, "accuracy": table[held][best]}
    overall = max(table["fsdd-dev"], key=lambda k: np.mean([table[n][k] for n in res]))
    out = {"window": args.window, "n": {k: len(v[0]) for k, v in sets.items()}, "routes_alone": only,
           "leave_one_set_out": loso, "loso_mean": float(np.mean([v["accuracy"] for v in loso.values()])),
           "best_on_all": overall, "best_on_all_per_set": {n: table[n][overall] for n in res},
           "grid": table,
           "clips_per_s": {n: round(len(sets[n][0]) / r["seconds"], 2) for n, r in res.items()},
           "examples": {n: list(zip(r["texts"][:5], [str(sets[n][1][i]) for i in range(5)])) for n, r in res.items()}}
    for n in res:
        print(n, only[n], loso[n], flush=True)
    print("LOSO mean", out["loso_mean"], "best on all", overall, out["best_on_all_per_set"])
    write_result(f"speech_dev{'' if args.window == 'auto' else '_window' + args.window}", out)


if __name__ == "__main__":
    main()
