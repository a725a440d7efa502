"""The evaluation report on Banking77 (issue #26): size and time to open from disk in Chromium.

Usage::

    python benchmarks/eval_report.py

Runs ``transzero eval banking77/test.csv --text-column text --label-column category --report ... --predictions ...``
exactly as a new user would (class names only: no labels file), then opens the report from disk in Debian's
Chromium with Playwright 5 times (fresh page each time) and times navigation until the page's script has rendered
the confusion matrix (``body[data-ready]``). Also rebuilds the same report with ``transzero report RESULT.json``
and checks that it is byte-identical. Writes benchmarks/results/eval_report.json.
Goals: under 3 MB, opens in under 2 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cli_eval, require_data, write_result


def open_times(path: Path, runs: int = 5) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("TRANSZERO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            out.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return out


def main() -> None:
    data = require_data("banking77", "test.csv")
    work = Path(tempfile.mkdtemp(prefix="tz-report-"))
    cache = Path(os.environ.get("TRANSZERO_CACHE_DIR", work / "cache"))
    report, preds = work / "banking77.html", work / "banking77.jsonl"
    r = cli_eval(data, ["--label-column", "category", "--report", str(report), "--predictions", str(preds)], cache, work)
    if "error" in r:
        raise SystemExit(r["error"])
    again = work / "again.html"
    js = max(work.glob("r*.json"), key=lambda p: p.stat().st_mtime)
    subprocess.run([sys.executable, "-m", "transzero", "report", str(js), "-o", str(again), "-q"], check=True)
    times = open_times(report)
    size = report.stat().st_size
    result = {
        "data": "banking77/test.csv", "n": r["n"], "n_classes": r["n_classes"], "accuracy_names_only": r["accuracy"],
        "encoder": r["encoder"], "method": r["method"], "eval_wall_s": r["wall_s"],
        "report_bytes": size, "report_mb": round(size / 2**20, 3), "goal_mb": 3.0,
        "open_s": [round(t, 3) for t in times], "open_s_median": round(statistics.median(times), 3), "goal_open_s": 2.0,
        "rebuilt_identical": again.read_bytes() == report.read_bytes(),
    }
    print(result)
    write_result("eval_report", result)


if __name__ == "__main__":
    main()
