"""Cold vs warm embedding cache: the same `transzero eval` run twice, as a user would.

Usage::

    python benchmarks/cache_text.py [--encoder minilm-l6] [--dataset ag_news]

Runs the CLI in a subprocess with an empty cache folder, then again with the now-warm
cache, and reports both wall times (process start-up included) and their ratio.
Writes benchmarks/results/cache_text.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, require_data, write_result

DATA = {
    "ag_news": ("ag_news/ag_news_test.csv", "label"),
    "banking77": ("banking77/test.csv", "category"),
    "sst2": ("sst2/sst2_test.csv", "label"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default="minilm-l6")
    ap.add_argument("--dataset", default="ag_news")
    args = ap.parse_args()
    rel, label_col = DATA[args.dataset]
    data = require_data(*rel.split("/"))
    labels = ROOT / "labels" / f"{args.dataset}.yaml"
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "transzero.cli", "eval", str(data), "--label-column", label_col,
               "--labels-file", str(labels), "--encoder", args.encoder, "--cache-dir", f"{tmp}/cache",
               "--json", f"{tmp}/m.json", "--quiet"]
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            m = json.loads(Path(f"{tmp}/m.json").read_text())
            runs.append({"run": name, "wall_seconds": round(wall, 2), "reported_seconds": m["seconds"],
                         "accuracy": m["accuracy"], "cache": m["cache"]})
            print(runs[-1], flush=True)
    assert runs[0]["accuracy"] == runs[1]["accuracy"]
    speedup = runs[0]["wall_seconds"] / runs[1]["wall_seconds"]
    print(f"warm run is {speedup:.1f}x faster")
    write_result("cache_text", {"dataset": args.dataset, "encoder": args.encoder, "runs": runs,
                                "speedup_wall": round(speedup, 1),
                                "command": "transzero eval " + " ".join(cmd[4:])})


if __name__ == "__main__":
    main()
