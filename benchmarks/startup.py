"""Issue 17: start-up time of the CLI, and a fully cached one-text classify.

Usage::

    python benchmarks/startup.py [--runs 5]

Medians of ``--runs`` fresh processes each, in one run: ``python -c "import numpy"`` (the yardstick),
``transzero --help``, ``transzero models``, ``transzero classify`` of one text whose vectors (and the label
prompts') are already in the cache (a warm-up run fills a private cache first), and the same classify with
``--no-cache`` (the model files are built, but the text and the prompts are encoded: what a new text costs).
Writes benchmarks/results/startup.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_result


def timed(cmd: list[str], runs: int) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    tz = [py, "-m", "transzero"]
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.txt"
        one.write_text("the striker scored a late goal\n")
        classify = tz + ["classify", str(one), "--labels", "sports,politics,technology", "--cache-dir", str(Path(tmp) / "c"), "-q"]
        subprocess.run(classify, check=True, capture_output=True)  # fills the cache
        res = {
            "import_numpy_s": timed([py, "-c", "import numpy"], args.runs),
            "help_s": timed(tz + ["--help"], args.runs),
            "models_s": timed(tz + ["models"], args.runs),
            "cached_classify_s": timed(classify, args.runs),
            "uncached_vectors_classify_s": timed([*classify, "--no-cache"], args.runs),
        }
    res = {k: round(v, 3) for k, v in res.items()}
    res["help_vs_numpy"] = round(res["help_s"] / res["import_numpy_s"], 2)
    res["models_vs_numpy"] = round(res["models_s"] / res["import_numpy_s"], 2)
    print(res)
    write_result("startup", {"runs": args.runs, **res})


if __name__ == "__main__":
    main()
