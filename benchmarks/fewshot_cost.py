"""What a few-shot evaluation costs next to the zero-shot one (issue 12's goal: at most 2x the wall time).

Usage::

    python benchmarks/fewshot_cost.py [--rows 300] [--shots 8]

Runs, as a user would (a fresh process each, no cache), on the first ROWS rows of SST-2's test split:

* ``transzero eval test.csv --no-cache`` (zero-shot, class names only), and
* ``transzero eval test.csv --support sst2_train.csv --shots 8 --seeds 1 --method prototype --no-cache``
  (the 6,920-row train file as the support pool: only the 16 sampled rows are encoded).

Each command runs twice, alternating; the best wall time of each is compared.
Writes benchmarks/results/fewshot_cost.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import require_data, write_result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--shots", type=int, default=8)
    args = ap.parse_args()
    test = require_data("sst2", "sst2_test.csv")
    train = require_data("sst2", "sst2_train.csv")
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "test.csv"
        with test.open() as f, part.open("w", newline="") as g:
            rows = list(csv.reader(f))
            csv.writer(g).writerows(rows[: args.rows + 1])
        base = [sys.executable, "-m", "transzero.cli", "eval", str(part), "--no-cache", "--quiet"]
        cmds = {
            "zero-shot": base + ["--json", f"{tmp}/zs.json"],
            "few-shot": base + ["--support", str(train), "--shots", str(args.shots), "--seeds", "1", "--method",
                                "prototype", "--json", f"{tmp}/fs.json"],
        }
        runs: dict[str, list[float]] = {k: [] for k in cmds}
        reports: dict[str, dict] = {}
        for _ in range(2):
            for name, cmd in cmds.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                runs[name].append(round(time.perf_counter() - t0, 2))
                reports[name] = json.loads(Path(cmd[-1]).read_text())
                print(name, runs[name][-1], flush=True)
    best = {k: min(v) for k, v in runs.items()}
    ratio = best["few-shot"] / best["zero-shot"]
    print(f"few-shot / zero-shot wall time: {ratio:.2f} (goal <= 2)")
    fs = reports["few-shot"]
    write_result("fewshot_cost", {
        "rows": args.rows, "shots": args.shots, "wall_seconds": runs, "best": best, "ratio": round(ratio, 2),
        "goal": "<= 2", "zero_shot_accuracy": reports["zero-shot"]["accuracy"], "few_shot_accuracy": fs["accuracy"],
        "n_support_pool": fs["n_support_pool"], "n_support_encoded": fs["n_support_encoded"],
        "timings": {k: r["timings"] for k, r in reports.items()},
        "commands": {k: "transzero " + " ".join(c[3:]) for k, c in cmds.items()},
    })


if __name__ == "__main__":
    main()
