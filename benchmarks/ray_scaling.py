"""Ray Data engine against the local engine, and 1 against 2 workers (issue #15).

Usage::

    python benchmarks/ray_scaling.py [--n 60000] [--shard-size 4000] [--encoder minilm-l6]

The input is N texts of the shared data (SST-2 train, Banking77 train, AG News test, cycled until N; each row is
encoded, the cache is off). Three runs of ``transzero embed IN -o OUT/ --no-cache``, one after the other, each in a
fresh process with one thread per encoder (``OMP_NUM_THREADS=1``):

* ``local``: the local engine;
* ``ray-1``: ``--engine ray --workers 1`` (a local Ray instance, one single-threaded actor);
* ``ray-2``: ``--engine ray --workers 2``.

Steady-state rate: items of shards 2..last divided by the time between the first and the last shard being written
(``finished_at`` in ``_manifest.json``), so Ray's start-up and model loading are excluded, as the issue asks.
Goals: ray-2 / ray-1 >= 1.7 (encoding on this 2-core machine); Ray's per-item overhead (local rate / ray-1 rate - 1)
<= 10 %.

Writes benchmarks/results/ray_scaling.json and ray_scaling.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import require_data, write_result, write_text_csv

ROOT = Path(__file__).resolve().parent.parent


def texts(n: int) -> list[str]:
    out: list[str] = []
    for parts, col in ((("sst2", "sst2_train.csv"), "text"), (("banking77", "train.csv"), "text"),
                       (("ag_news", "ag_news_test.csv"), "text")):
        with require_data(*parts).open(newline="") as fh:
            out += [r[col] for r in csv.DictReader(fh)]
    return [out[i % len(out)] for i in range(n)]


def run(name: str, src: Path, work: Path, args: argparse.Namespace, extra: list[str]) -> dict:
    out, js = work / name, work / f"{name}.json"
    cmd = [sys.executable, "-m", "transzero.cli", "embed", str(src), "-o", f"{out}/", "--shard-size",
           str(args.shard_size), "--no-cache", "-q", "--json", str(js), "--encoder", args.encoder, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    summary = json.loads(js.read_text())
    shards = sorted(json.loads((out / "_manifest.json").read_text())["shards"].values(), key=lambda e: e["index"])
    t = [e["finished_at"] for e in shards]
    steady_items = sum(e["n_items"] for e in shards[1:])
    rate = steady_items / (t[-1] - t[0])
    res = {"command": " ".join(["transzero", *cmd[3:]]), "wall_seconds": round(wall, 1),
           "job_seconds": summary["seconds"], "items": summary["n_items"], "n_bad": summary["n_bad"],
           "steady_items_per_second": round(rate, 1),
           "shard_times": [round(b - a, 2) for a, b in zip(t, t[1:])]}
    print(name, {k: v for k, v in res.items() if k != "shard_times"}, flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--shard-size", type=int, default=4000)
    ap.add_argument("--encoder", default="minilm-l6")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = write_text_csv(work / "texts.csv", texts(args.n))
        runs = {"local": run("local", src, work, args, []),
                "ray-1": run("ray-1", src, work, args, ["--engine", "ray", "--workers", "1"]),
                "ray-2": run("ray-2", src, work, args, ["--engine", "ray", "--workers", "2"])}
    r = {k: v["steady_items_per_second"] for k, v in runs.items()}
    out = {
        "data": f"{args.n} texts (SST-2 train, Banking77 train, AG News test, cycled), {args.encoder}, no cache",
        "shard_size": args.shard_size, "threads_per_encoder": 1, "runs": runs,
        "speedup_2_vs_1_workers": round(r["ray-2"] / r["ray-1"], 3),
        "ray_overhead_per_item": round(r["local"] / r["ray-1"] - 1, 4),
        "goals": {"speedup_2_vs_1_workers": ">= 1.7", "ray_overhead_per_item": "<= 0.10"},
    }
    print(json.dumps({k: out[k] for k in ("speedup_2_vs_1_workers", "ray_overhead_per_item")}), flush=True)
    write_result("ray_scaling", out)
    figure(out)


def figure(out: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from _common import RESULTS

    runs = out["runs"]
    names = ["local", "ray-1", "ray-2"]
    rates = [runs[k]["steady_items_per_second"] for k in names]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(["local\n1 thread", "Ray\n1 worker", "Ray\n2 workers"], rates, color=["#888", "#4a7bd0", "#1f4fa0"])
    ax.axhline(2 * rates[1], ls="--", c="k", lw=0.8, label="linear (2 x Ray 1 worker)")
    for i, v in enumerate(rates):
        ax.text(i, v, f"{v:.0f}/s", ha="center", va="bottom")
    ax.set_ylim(0, 1.2 * max(2 * rates[1], *rates))
    ax.set_ylabel("texts / s (steady state)")
    ax.set_title(f"transzero embed, {out['runs']['local']['items']} texts, 2-core machine", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(RESULTS / "ray_scaling.png", dpi=120)


if __name__ == "__main__":
    main()
