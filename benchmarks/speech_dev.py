"""Issue 22: choose the Whisper audio defaults on development clips only (the gate of ``whisper-fused``, the window).

Usage::

    python benchmarks/spoken_dev.py /tmp/spoken-dev          # once: speak the synthetic dev sets (espeak-ng)
    python benchmarks/speech_dev.py /tmp/spoken-dev [--fsdd-step 2] [--window auto]

Dev sets: FSDD clips of three speakers (george, jackson, lucas; every ``--fsdd-step``-th clip; the other three
speakers are never looked at here), and the synthetic sets of ``spoken_dev.py``: single words of three kinds and
spoken SNIPS requests whose classes are intents (topics, not words said). Each set's classes are its label names,
as ``transzero eval DATA`` uses them.

For every clip the two routes of ``whisper-fused`` are computed once (class log-probabilities of the spoken forms;
the transcript's text logits), then every gate setting is scored offline: the forms' log-probability alone
(``none``, adopted) and measured against the greedy transcript's (``transcript``, a likelihood ratio; tried). The gate
is chosen by leave-one-set-out: for each set, the setting that is best on the *other* sets (mean accuracy; among
equals the most text-leaning) is scored on it; the mean of those held-out scores is reported beside each route
alone. Writes benchmarks/results/speech_dev.json.
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

#: gate centers for the forms' log-probability alone ("none") and measured against the greedy transcript's
CENTERS = {"none": [-40.0, -30.0, -25.0, -20.0, -16.0, -14.0, -12.0, -10.0, -8.0, -6.0, -4.0],
           "transcript": [-16.0, -12.0, -10.0, -8.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0]}
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
    res = clf.method_._run(list(clips), transcribe=True, forms=True)
    lp = clf.method_._class_log_probs(res["scores"])
    zt = clf.method_._text_logits(res["transcripts"])
    dt = time.perf_counter() - t0
    y = np.asarray([classes.index(g) for g in labels])
    return {"clf": clf, "lp": lp, "zt": zt, "y": y, "texts": res["transcripts"], "seconds": dt,
            "text_lp": res["transcript_logprobs"]}


def fused_accuracy(r: dict, reference: str, center: float, width: float) -> float:
    m = r["clf"].method_
    total = np.logaddexp.reduce(r["lp"], axis=1) - (r["text_lp"] if reference == "transcript" else 0.0)
    gate = 1.0 / (1.0 + np.exp(-np.clip((total - center) / width, -50, 50)))
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
    grid = [(ref, c, w) for ref, cs in CENTERS.items() for c, w in itertools.product(cs, WIDTHS)]
    table = {name: {f"{ref}/{c}/{w}": fused_accuracy(r, ref, c, w) for ref, c, w in grid} for name, r in res.items()}
    only = {name: {"whisper": float(np.mean(np.argmax(r["lp"], 1) == r["y"])),
                   "whisper-text": float(np.mean(np.argmax(r["zt"], 1) == r["y"]))} for name, r in res.items()}
    def pick(keys: list[str], sets: list[str]) -> str:
        """The best mean over ``sets``; among equals the most text-leaning gate (highest center, then widest): the
        word sets are flat once the center is low enough, and only the transcript route can serve topics."""
        score = {k: float(np.mean([table[n][k] for n in sets])) for k in keys}
        top = max(score.values())
        tied = [k for k in keys if score[k] >= top - 1e-9]
        return max(tied, key=lambda k: (float(k.split("/")[1]), float(k.split("/")[2])))

    def choose(keys: list[str]) -> dict:
        loso = {}
        for held in res:
            best = pick(keys, [n for n in res if n != held])
            loso[held] = {"chosen": best, "accuracy": table[held][best]}
        overall = pick(keys, list(res))
        return {"leave_one_set_out": loso, "loso_mean": float(np.mean([v["accuracy"] for v in loso.values()])),
                "worst": min(v["accuracy"] for v in loso.values()),
                "best_on_all": overall, "best_on_all_per_set": {n: table[n][overall] for n in res}}

    keys = list(table["fsdd-dev"])
    by_reference = {ref: choose([k for k in keys if k.startswith(ref + "/")]) for ref in CENTERS}
    both = choose(keys)
    loso, overall = both["leave_one_set_out"], both["best_on_all"]
    out = {"window": args.window, "n": {k: len(v[0]) for k, v in sets.items()}, "routes_alone": only,
           "by_reference": by_reference, **both,
           "grid": table,
           "clips_per_s": {n: round(len(sets[n][0]) / r["seconds"], 2) for n, r in res.items()},
           "examples": {n: list(zip(r["texts"][:5], [str(sets[n][1][i]) for i in range(5)])) for n, r in res.items()}}
    for n in res:
        print(n, only[n], loso[n], flush=True)
    for ref, c in by_reference.items():
        print(ref, "LOSO mean", round(c["loso_mean"], 4), "worst", round(c["worst"], 4), "best on all", c["best_on_all"],
              {n: round(v, 4) for n, v in c["best_on_all_per_set"].items()})
    print("LOSO mean", out["loso_mean"], "best on all", overall, out["best_on_all_per_set"])
    write_result(f"speech_dev{'' if args.window == 'auto' else '_window' + args.window}", out)


if __name__ == "__main__":
    main()
