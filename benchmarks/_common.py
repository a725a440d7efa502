"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DATA = Path(os.environ.get("TRANSZERO_DATA", ROOT.parent.parent / "shared" / "data"))


def require_data(*parts: str) -> Path:
    p = DATA.joinpath(*parts)
    if not p.exists():
        raise SystemExit(f"benchmark data {p} not found; set TRANSZERO_DATA to the shared data folder")
    return p


def _cpu_model() -> tuple[str, list[str]]:
    """The CPU's model name and the SIMD features that decide int8/fp32 speed (int8 needs VNNI to pay well)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return model or platform.machine(), simd


def machine() -> dict[str, Any]:
    import torch

    model, simd = _cpu_model()
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": model,
        "simd": simd,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **payload}
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")
    return out


def write_text_csv(path: Path, texts: list[str], labels: list[str] | None = None) -> Path:
    """A ``text`` (and ``label``) CSV for the CLI to read."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if labels is None:
            w.writerow(["text"])
            w.writerows([t] for t in texts)
        else:
            w.writerow(["text", "label"])
            w.writerows(zip(texts, labels))
    return path


def cli_eval(path: Path, flags: list[str], cache: Path, work: Path) -> dict[str, Any]:
    """``transzero eval PATH --json ... FLAGS`` in a subprocess (the real CLI, as a user runs it): the eval JSON plus
    ``wall_s``; a failed run is ``{"error": <the last of stderr>}``."""
    import subprocess
    import sys

    js = work / f"r{time.monotonic_ns()}.json"
    cmd = [sys.executable, "-m", "transzero", "eval", str(path), "--json", str(js), "--cache-dir", str(cache), "-q",
           *flags]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TRANSZERO_NO_PROGRESS": "1"})
    if p.returncode != 0:
        return {"error": f"{' '.join(cmd)} failed: {p.stderr.strip()[-2000:]}"}
    r: dict[str, Any] = json.loads(js.read_text())
    r["wall_s"] = round(time.perf_counter() - t0, 2)
    return r
