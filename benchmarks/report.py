"""Print the markdown tables of docs/benchmarks.md from benchmarks/results/*.json.

Usage::

    python benchmarks/report.py zeroshot_text     # or zeroshot_text_dev, throughput_text, cache_text
    python benchmarks/report.py fewshot_cifar10   # any fewshot_* result: method x K, mean +- std

The image zero-shot, preprocessing and fine-tuning tables were written from their JSON by hand.
"""

from __future__ import annotations

import json
import sys

from _common import RESULTS


def zeroshot(name: str) -> None:
    d = json.loads((RESULTS / f"{name}.json").read_text())
    rows = d["rows"]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    print("| encoder | labels | method | " + " | ".join(f"{ds} acc / F1 / ECE" for ds in datasets) + " |")
    print("|---|---|---|" + "---|" * len(datasets))
    keys = list(dict.fromkeys((r["encoder"], r["labels"], r["method"]) for r in rows))
    for k in keys:
        cells = []
        for ds in datasets:
            r = next((r for r in rows if (r["encoder"], r["labels"], r["method"]) == k and r["dataset"] == ds), None)
            cells.append("-" if r is None else f"{r['accuracy']:.1f} / {r['macro_f1']:.1f} / {r['ece']:.1f}")
        print(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(cells) + " |")


def throughput() -> None:
    d = json.loads((RESULTS / "throughput_text.json").read_text())
    print(f"{d['n_texts']} AG News texts, batch size {d['batch_size']}, token budget per batch {d.get('max_tokens')} "
          f"(sentence-transformers: its default batch size 32), best of {d['rounds']} rounds\n")
    print("| engine | sentences/s | × sentence-transformers | cosine to fp32 (mean / min) |")
    print("|---|---|---|---|")
    for r in d["rows"]:
        cos = "-" if r["cosine_to_fp32_mean"] is None else f"{r['cosine_to_fp32_mean']:.5f} / {r['cosine_to_fp32_min']:.5f}"
        print(f"| {r['engine']} | {r['sentences_per_s']} | {r['speedup_vs_sentence_transformers']:.2f} | {cos} |")


def cache() -> None:
    d = json.loads((RESULTS / "cache_text.json").read_text())
    print("| run | wall seconds | cache hits / misses | accuracy |")
    print("|---|---|---|---|")
    for r in d["runs"]:
        print(f"| {r['run']} | {r['wall_seconds']} | {r['cache']['hits']} / {r['cache']['misses']} | {100 * r['accuracy']:.2f} |")
    print(f"\nwarm / cold speed-up: **{d['speedup_wall']}×**")


def curve(name: str) -> None:
    d = json.loads((RESULTS / f"{name}.json").read_text())
    rows = d["rows"]
    if "dataset" in rows[0] and "shots" in rows[0] and len({r.get("dataset") for r in rows}) > 1:
        keys = sorted({(r["dataset"], r["shots"]) for r in rows}, key=lambda k: (k[0], k[1]))
    else:
        keys = sorted({(None, r["shots"]) for r in rows}, key=lambda k: k[1])
    print("| method | " + " | ".join(f"{ds + ' ' if ds else ''}K = {k}" for ds, k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for m in dict.fromkeys(r["method"] for r in rows):
        cells = []
        for ds, k in keys:
            r = next((r for r in rows if r["method"] == m and r["shots"] == k and (ds is None or r["dataset"] == ds)), None)
            cells.append("-" if r is None else f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_std']:.1f}")
        print(f"| `{m}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "zeroshot_text"
    if which.startswith("fewshot"):
        curve(which)
    elif which.startswith("zeroshot_text"):
        zeroshot(which)
    elif which == "throughput_text":
        throughput()
    elif which == "cache_text":
        cache()
    else:
        sys.exit(f"no table for {which!r}; see the usage in this file")
