"""A big label set against small requests on `transzero serve` (issue #24, item 9).

Usage::

    python benchmarks/serve_big_labels.py [--labels 1000] [--small 20] [--encoder NAME]

The issue: "One 20 KB request with 1,000 labels holds the encoder for 26 s, and other clients wait 23 s". The
service now encodes a label set's prompts through the micro-batcher a batch at a time (``encode_chunked``), so
other requests' items join the batches in between, and refuses more than ``--max-labels`` (default 512) with 413.

One server (``transzero serve --max-labels 1000``, loopback, a fresh empty cache folder, the default text encoder
unless ``--encoder``) is warmed up, then:

* baseline: SMALL requests (3 fixed labels - built once, then memoised - and 1 new AG News text each), one after
  the other, alone;
* contended: a thread POSTs ``/v1/classify`` with LABELS distinct labels (the most frequent AG News words, never
  seen by the server) and 1 item; 0.5 s later the same SMALL requests (other texts) run one after the other.

Reports the big request's seconds and the small requests' p50/p95/max latency in both phases (and how many small
ones finished while the big one ran). A second server with the default ``--max-labels`` answers 513 labels.
Writes benchmarks/results/serve_big_labels.json.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _common import require_data, write_result
from serve_load import free_port, stop, wait_ready

SMALL_LABELS = ["sports", "politics", "technology"]


def start(tmp: Path, *flags: str) -> tuple[Any, str]:
    import subprocess

    port = free_port()
    cache = tmp / f"cache-{port}"
    proc = subprocess.Popen([sys.executable, "-m", "transzero.cli", "serve", "--port", str(port), "--store",
                             str(tmp / f"store-{port}"), "--cache-dir", str(cache), *flags],
                            env={**os.environ, "TRANSZERO_CACHE_DIR": str(cache)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/healthz", proc)
    return proc, base


def stats(lat: list[float]) -> dict[str, Any]:
    s = sorted(lat)
    return {"n": len(s), "p50": round(statistics.median(s), 3), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 3),
            "max": round(s[-1], 3), "latencies": [round(x, 3) for x in lat]}


def small_run(base: str, texts: list[str], enc: dict[str, Any]) -> tuple[list[float], list[float], list[int]]:
    lat, ends, codes = [], [], []
    with httpx.Client(timeout=600) as c:
        for t in texts:
            t0 = time.perf_counter()
            r = c.post(base + "/v1/classify", json={"items": [t], "labels": SMALL_LABELS, **enc})
            ends.append(time.perf_counter())
            lat.append(ends[-1] - t0)
            codes.append(r.status_code)
    return lat, ends, codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, default=1000)
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--encoder", default=None, help="text encoder (default: the server's default)")
    args = ap.parse_args()
    with require_data("ag_news", "ag_news_test.csv").open() as fh:
        rows = [r["text"] for r in csv.DictReader(fh)]
    words = collections.Counter(w for t in rows for w in re.findall(r"[a-z]{5,}", t.lower()))
    big_labels = [w for w, _ in words.most_common(args.labels)]
    enc = {"encoder": args.encoder} if args.encoder else {}
    out: dict[str, Any] = {"labels": args.labels, "small_requests": args.small}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        proc, base = start(tmp, "--max-labels", str(args.labels))
        try:
            t0 = time.perf_counter()  # warm-up: loads the model, builds the small requests' classifier
            w = httpx.post(base + "/v1/classify", json={"items": ["warm up"], "labels": SMALL_LABELS, **enc},
                           timeout=600).json()
            out["encoder"] = w.get("encoder")
            out["warmup_seconds"] = round(time.perf_counter() - t0, 2)
            print("warm-up", out["encoder"], out["warmup_seconds"], flush=True)
            lat, _, codes = small_run(base, rows[100 : 100 + args.small], enc)
            out["baseline"] = {**stats(lat), "status_codes": sorted(set(codes))}
            print("baseline", out["baseline"], flush=True)

            big: dict[str, Any] = {}

            def big_request() -> None:
                t = time.perf_counter()
                r = httpx.post(base + "/v1/classify", json={"items": [rows[0]], "labels": big_labels, **enc},
                               timeout=1200)
                big["end"] = time.perf_counter()
                big["seconds"] = round(big["end"] - t, 2)
                big["status"] = r.status_code
                body = r.json()
                big["timings"] = body.get("timings")
                big["predicted"] = (body.get("predictions") or [{}])[0].get("label")

            th = threading.Thread(target=big_request)
            th.start()
            time.sleep(0.5)
            lat, ends, codes = small_run(base, rows[200 : 200 + args.small], enc)
            th.join()
            during = [x for x, e in zip(lat, ends) if e <= big["end"]]
            out["big"] = {k: v for k, v in big.items() if k != "end"}
            out["big"]["request_kb"] = round(len(httpx.Request("POST", base, json={"items": [rows[0]],
                                                                                  "labels": big_labels}).content) / 1e3, 1)
            out["contended"] = {**stats(lat), "status_codes": sorted(set(codes)),
                                "finished_while_big_ran": len(during)}
            print("big", out["big"], "\ncontended", out["contended"], flush=True)
            out["ratios"] = {"contended_p50_over_baseline_p50": round(out["contended"]["p50"] / out["baseline"]["p50"], 1),
                             "contended_max_over_big_seconds": round(out["contended"]["max"] / big["seconds"], 3)}
        finally:
            stop(proc)
        proc, base = start(tmp)  # the default --max-labels
        try:
            r = httpx.post(base + "/v1/classify", json={"items": ["x"], "labels": [f"label {i}" for i in range(513)]},
                           timeout=60)
            out["default_limit_513_labels"] = {"status": r.status_code, "body": r.json()}
            print("513 labels:", r.status_code, r.text, flush=True)
        finally:
            stop(proc)
    write_result("serve_big_labels", {**out, "command": "python benchmarks/serve_big_labels.py"
                                      + (f" --encoder {args.encoder}" if args.encoder else "")})


if __name__ == "__main__":
    main()
