"""Kill a sharded job and rerun it (issue #15).

Usage::

    python benchmarks/resume.py [--shards 12] [--shard-size 1000] [--at 0.6]

A 12-shard ``transzero classify IN -o OUT/ --no-cache`` job (AG News test texts, class names only) runs once
cleanly; the same job in a new folder is killed (SIGKILL) at 60 % of the clean wall time and rerun with the same
command. Reports the shards reused by the rerun (goal: at least 3), the rerun's time, and whether the resumed
output equals the uninterrupted one (every shard file byte for byte).

Writes benchmarks/results/resume.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import require_data, write_result, write_text_csv

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=12)
    ap.add_argument("--shard-size", type=int, default=600)
    ap.add_argument("--at", type=float, default=0.6)
    args = ap.parse_args()
    with require_data("ag_news", "ag_news_test.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    labels = ",".join(sorted({r["label"] for r in rows}))
    n = args.shards * args.shard_size
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = write_text_csv(work / "in.csv", [rows[i % len(rows)]["text"] for i in range(n)])

        def cmd(out: Path, js: Path) -> list[str]:
            return [sys.executable, "-m", "transzero.cli", "classify", str(src), "--labels", labels, "-o", f"{out}/",
                    "--shard-size", str(args.shard_size), "--no-cache", "-q", "--json", str(js)]

        env = {**os.environ, "TRANSZERO_CACHE_DIR": str(work / "cache")}
        t0 = time.perf_counter()
        subprocess.run(cmd(work / "clean", work / "clean.json"), check=True, env=env, cwd=ROOT)
        clean = time.perf_counter() - t0

        proc = subprocess.Popen(cmd(work / "killed", work / "killed.json"), env=env, cwd=ROOT)
        time.sleep(args.at * clean)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        manifest = json.loads((work / "killed" / "_manifest.json").read_text())
        done_at_kill = len(manifest["shards"])
        t1 = time.perf_counter()
        subprocess.run(cmd(work / "killed", work / "rerun.json"), check=True, env=env, cwd=ROOT)
        rerun = time.perf_counter() - t1
        summary = json.loads((work / "rerun.json").read_text())
        parts = sorted(p.name for p in (work / "clean").glob("part-*"))
        identical = parts == sorted(p.name for p in (work / "killed").glob("part-*")) and all(
            (work / "clean" / p).read_bytes() == (work / "killed" / p).read_bytes() for p in parts)
    out = {
        "data": f"{n} AG News test texts, minilm-l6, class names only, no cache",
        "command": f"transzero classify in.csv --labels {labels} -o OUT/ --shard-size {args.shard_size} --no-cache",
        "n_shards": summary["n_shards"], "clean_seconds": round(clean, 1), "killed_at_seconds": round(args.at * clean, 1),
        "shards_finished_at_kill": done_at_kill, "n_shards_reused": summary["n_shards_reused"],
        "rerun_seconds": round(rerun, 1), "output_identical_to_clean_run": identical,
        "goal": {"n_shards_reused": ">= 3"},
    }
    print(json.dumps(out, indent=1))
    write_result("resume", out)


if __name__ == "__main__":
    main()
