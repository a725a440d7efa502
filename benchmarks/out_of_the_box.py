"""Issue 16: images, few-shot ``--method auto`` and speech, each run exactly as the CLI runs it.

Usage::

    python benchmarks/out_of_the_box.py [--parts images,auto,speech] [--cache-dir DIR]

images   zero-shot with the default method (``wordnet``), class names only, for every EfficientNet-Lite encoder and
         the Lite0+Lite2 ensemble. dev: CIFAR-10 train500 (5,000) and a Tiny ImageNet train50 sample (10 images per
         class, 2,000, random.Random(0), class = WordNet id); test: CIFAR-10 test (10,000). Encode seconds come from
         the same run (``timings.encode``, first encoding, 2 cores).
auto     ``eval --support S --shots K --method auto`` (3 seeds) beside every candidate method: CIFAR-10 16-shot (support
         train500, test 10,000) with the default image encoder and the ensemble; SST-2 64-shot (support sst2_train,
         dev and test) with MiniLM, names only, inductive and ``--transductive``.
speech   FSDD, all 3,000 clips, ``asr-grammar`` inductive and ``--transductive`` (paired with mfcc vectors).
Writes benchmarks/results/out_of_the_box.json (rows are appended per part as they finish).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DATA, RESULTS, require_data, write_result

ENCODERS = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "efficientnet-lite02"]
CANDIDATES = "auto,prototype,linear,zs-linear,tip-adapter"


def cli(args: list[str], cache: Path, work: Path) -> dict:
    js = work / f"r{time.monotonic_ns()}.json"
    cmd = [sys.executable, "-m", "transzero", "eval", *args, "--json", str(js), "--cache-dir", str(cache), "-q"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {p.stderr.strip()[-2000:]}")
    r = json.loads(js.read_text())
    r["wall_s"] = round(time.perf_counter() - t0, 1)
    return r


def tiny_sample(work: Path) -> Path:
    root = require_data("tiny-imagenet", "train50")
    rng = random.Random(0)
    out = work / "tiny2k"
    for wnid in sorted(os.listdir(root)):
        files = sorted(os.listdir(root / wnid))
        (out / wnid).mkdir(parents=True, exist_ok=True)
        for f in rng.sample(files, min(10, len(files))):
            (out / wnid / f).symlink_to(root / wnid / f)
    return out


def images(cache: Path, work: Path) -> list[dict]:
    rows = []
    sets = {"cifar10-train500 (dev)": require_data("cifar10", "train500"), "tiny-imagenet-train50-2k (dev)": tiny_sample(work),
            "cifar10-test (test)": require_data("cifar10", "test")}
    for enc in ENCODERS:
        for name, path in sets.items():
            r = cli([str(path), "--encoder", enc], cache, work)
            rows.append({"part": "images", "encoder": enc, "set": name, "accuracy": round(100 * r["accuracy"], 2),
                         "n": r["n"], "encode_s": r["timings"]["encode"]})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def auto(cache: Path, work: Path) -> list[dict]:
    rows = []
    runs = [
        ("cifar10 16-shot (test)", [str(require_data("cifar10", "test")), "--support", str(require_data("cifar10", "train500")),
                                    "--shots", "16"], ["efficientnet-lite0", "efficientnet-lite02"], [[]]),
        ("sst2 64-shot (dev)", [str(require_data("sst2", "sst2_dev.csv")), "--support", str(require_data("sst2", "sst2_train.csv")),
                                "--shots", "64"], ["minilm-l6"], [[], ["--transductive"]]),
        ("sst2 64-shot (test)", [str(require_data("sst2", "sst2_test.csv")), "--support", str(require_data("sst2", "sst2_train.csv")),
                                 "--shots", "64"], ["minilm-l6"], [[], ["--transductive"]]),
    ]
    for name, args, encs, extras in runs:
        for enc in encs:
            for extra in extras:
                r = cli([*args, "--seeds", "3", "--method", CANDIDATES, "--encoder", enc, *extra], cache, work)
                for row in r["curve"]:
                    rows.append({"part": "auto", "set": name, "encoder": enc, "transductive": bool(extra),
                                 "method": row["method"], "accuracy": round(100 * row["accuracy_mean"], 2),
                                 "std": round(100 * row["accuracy_std"], 2), "chosen": row.get("chosen")})
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def speech(cache: Path, work: Path) -> list[dict]:
    data = require_data("fsdd", "fsdd.csv")
    r = cli([str(data), "--audio-column", "audio", "--transductive"], cache, work)
    row = {"part": "speech", "set": "fsdd (3,000 clips)", "method": r["method"], "inductive": round(100 * r["inductive"]["accuracy"], 2),
           "transductive": round(100 * r["accuracy"], 2), "decisions": r["transduction"]["decisions"], "seconds": r["wall_s"]}
    print(json.dumps(row), flush=True)
    return [row]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="images,auto,speech")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "transzero-bench-cache")
    args = ap.parse_args()
    out = RESULTS / "out_of_the_box.json"
    old = json.loads(out.read_text())["rows"] if out.is_file() else []
    parts = args.parts.split(",")
    rows = [r for r in old if r["part"] not in parts]
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts:
            rows += {"images": images, "auto": auto, "speech": speech}[part](args.cache_dir, Path(tmp))
            write_result("out_of_the_box", {"data": str(DATA), "rows": rows})


if __name__ == "__main__":
    main()
