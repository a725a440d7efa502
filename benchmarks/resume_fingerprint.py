"""The cost of the resume fingerprint of sharded jobs (issue #24).

Usage::

    python benchmarks/resume_fingerprint.py

``transzero.data.stream.input_fingerprint`` hashes the *content* of the input and of every image or clip it lists
(BLAKE2b, streamed). For CIFAR-10 test (10,000 images, a folder), FSDD recordings (3,000 clips, a folder) and the
AG News test CSV this measures its wall time 3 times in a row (run 1 after asking the kernel to drop the files from
the page cache with ``posix_fadvise(DONTNEED)``: "cold-ish"; runs 2-3 warm), each and the median, beside the old
fingerprint (``old_fingerprint`` below, the code it replaced: a file's size, mtime and first MB under sha256; a
folder's relative names and sizes), measured the same way in the same run.

To put the time in proportion it times ``create_encoder("efficientnet-lite0")`` encoding 64 CIFAR images (after one
warm-up call) and *extrapolates* that rate to the 10,000 images of a full classify job (the default image encoder,
``efficientnet-lite02``, is timed the same way beside it). Writes benchmarks/results/resume_fingerprint.json.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _common import require_data, write_result

INPUTS = {"cifar10_test": ("cifar10", "test"), "fsdd_recordings": ("fsdd", "recordings"),
          "ag_news_test_csv": ("ag_news", "ag_news_test.csv")}
RUNS = 3
ENCODE_N = 64


def old_fingerprint(path: str | os.PathLike[str]) -> str:
    """The fingerprint before issue #24 (verbatim logic): a file's size, mtime and first megabyte; a folder's file
    names and sizes."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_file():
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|".encode())
        with p.open("rb") as f:
            h.update(f.read(1 << 20))
    elif p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(p)}|{f.stat().st_size}\n".encode())
    return h.hexdigest()[:32]


def files_of(p: Path) -> list[Path]:
    return [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())


def evict(files: list[Path]) -> None:
    """Ask the kernel to drop these files' clean pages from the page cache (no root needed; best effort)."""
    for f in files:
        try:
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        except (OSError, AttributeError):
            pass


def timed_runs(fn: Any, path: Path, files: list[Path]) -> dict[str, Any]:
    evict(files)
    secs, digest = [], ""
    for _ in range(RUNS):
        t0 = time.perf_counter()
        digest = fn(path)
        secs.append(round(time.perf_counter() - t0, 4))
    return {"seconds": secs, "cold_ish_seconds": secs[0], "median_seconds": round(statistics.median(secs), 4),
            "digest": digest}


def encode_rate(name: str, images: list[str]) -> dict[str, Any]:
    from transzero.encoders import create_encoder

    enc = create_encoder(name)
    enc.encode(images[:8])  # warm-up: loads the weights, first inference
    t0 = time.perf_counter()
    enc.encode(images[8 : 8 + ENCODE_N])
    s = time.perf_counter() - t0
    return {"encoder": name, "images": ENCODE_N, "seconds": round(s, 3), "images_per_second": round(ENCODE_N / s, 1),
            "extrapolated_10000_seconds": round(10_000 * s / ENCODE_N, 1)}


def main() -> None:
    from transzero.data.stream import input_fingerprint

    out: dict[str, Any] = {}
    for key, parts in INPUTS.items():
        p = require_data(*parts)
        files = files_of(p)
        size = sum(f.stat().st_size for f in files)
        new = timed_runs(input_fingerprint, p, files)
        old = timed_runs(old_fingerprint, p, files)
        out[key] = {"path": str(Path("../shared/data", *parts)), "files": len(files), "mb": round(size / 1e6, 1),
                    "new": new, "old": old,
                    "new_over_old_median": round(new["median_seconds"] / max(old["median_seconds"], 1e-6), 1),
                    "new_mb_per_second_warm": round(size / 1e6 / max(new["median_seconds"], 1e-6), 1)}
        print(key, {k: v for k, v in out[key].items() if k not in ("new", "old")},
              "new", new["seconds"], "old", old["seconds"], flush=True)

    cifar = require_data("cifar10", "test")
    images = [str(f) for f in files_of(cifar)][:: 10_000 // (ENCODE_N + 8)][: ENCODE_N + 8]  # every class
    rates = {name: encode_rate(name, images) for name in ("efficientnet-lite0", "efficientnet-lite02")}
    print(rates, flush=True)
    fp = out["cifar10_test"]["new"]
    share = {name: {"cold_ish_percent": round(100 * fp["cold_ish_seconds"] / r["extrapolated_10000_seconds"], 2),
                    "warm_median_percent": round(100 * fp["median_seconds"] / r["extrapolated_10000_seconds"], 2)}
             for name, r in rates.items()}
    print("fingerprint as % of extrapolated encode time", share)
    write_result("resume_fingerprint", {
        "runs": RUNS, "inputs": out, "encode": rates,
        "fingerprint_share_of_encode_cifar10": share,
        "note": ("encode time of 10,000 CIFAR images is an extrapolation from 64 images (after a warm-up call), "
                 "not a measured full job; run 1 follows posix_fadvise(DONTNEED) on every file (cold-ish)"),
        "command": "python benchmarks/resume_fingerprint.py",
    })


if __name__ == "__main__":
    main()
