"""Zero-shot spoken digits through pocketsphinx: asr-grammar and asr-text on the Free Spoken Digit Dataset.

Usage::

    python benchmarks/asr_fsdd.py [--text-clips 300]

Labels "zero" ... "nine" (no training data). asr-grammar on all 3,000 clips and on the official test split
(file index 0-4, 300 clips); asr-text (free transcription with the general English language model, then
minilm-l6 similarity of the transcript with the label words) on the official test split only (it decodes
at about 0.5 clips/s here). Throughput = clips/s including decoding the WAV and resampling 8 -> 16 kHz.
Writes benchmarks/results/asr_fsdd.json.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter

import numpy as np

from _common import require_data, write_result
from transzero import ZeroShotClassifier

DIGITS = "zero one two three four five six seven eight nine".split()


def run(method: str, rows: list[dict], root) -> dict:
    clf = ZeroShotClassifier(DIGITS, encoder="mfcc", method=method).fit()
    items = [str(root / r["audio"]) for r in rows]
    t0 = time.perf_counter()
    res = clf.predict_batch(items)
    dt = time.perf_counter() - t0
    gold = np.asarray([r["label"] for r in rows], dtype=object)
    pred = np.asarray(res.labels, dtype=object)
    per_speaker = {s: round(100 * float(np.mean(pred[[r["speaker"] == s for r in rows]] == gold[[r["speaker"] == s for r in rows]])), 1)
                   for s in sorted({r["speaker"] for r in rows})}
    confusions = Counter((g, p) for g, p in zip(gold, pred) if g != p).most_common(8)
    return {"method": method, "n": len(rows), "accuracy": round(100 * float(np.mean(pred == gold)), 2),
            "clips_per_s": round(len(rows) / dt, 2), "n_errors": len(res.errors), "per_speaker": per_speaker,
            "top_confusions": [f"{g}->{p} x{n}" for (g, p), n in confusions]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--text-clips", type=int, default=300)
    args = ap.parse_args()
    root = require_data("fsdd")
    rows = list(csv.DictReader((root / "fsdd.csv").open()))
    test = [r for r in rows if r["split"] == "test"]
    out = {"results": []}
    for name, subset, method in (("all", rows, "asr-grammar"), ("test", test, "asr-grammar"),
                                 ("test", test[: args.text_clips], "asr-text")):
        r = {"subset": name, **run(method, subset, root)}
        out["results"].append(r)
        print(r, flush=True)
    write_result("asr_fsdd", out)


if __name__ == "__main__":
    main()
