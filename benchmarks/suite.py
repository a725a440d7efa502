"""Issue 23: any configuration over the whole text dev suite, names only, through the real CLI.

Usage::

    python benchmarks/suite.py [--config NAME="FLAGS" ...] [--sets a,b] [--no-transductive] [--cache-dir DIR]

Data (the only data defaults are chosen on): every set of ``../shared/data/text-suite`` (``test.csv``: text,label)
plus SST-2 dev and a Banking77 *train* sample (3,000 rows, numpy default_rng(0)), as ``names_only.py`` builds them.
AG News, SST-2 and Banking77 *test* are reported with ``--public-tests`` and never used to choose.

For each set and configuration: ``transzero eval SET`` (no labels file: the classes are the gold label names) and the
same with ``--transductive``, each with its ``FLAGS`` (``default=""`` is what a new user gets). Beside them the
**plain baseline**: a plain MiniLM script — all-MiniLM-L6-v2 (``minilm-l6``, fp32 torch) cosine between each text and
the bare class name as written, argmax; no prompts, no readable names.

Writes benchmarks/results/suite[_NAME].json: per set and configuration the accuracies, and per configuration the
mean, the worst set and the mean change against the plain baseline. With several configurations it also reports the
leave-one-set-out choice: for each set, the configuration with the best mean on the *other* sets, scored on it. The
JSON is rewritten after every set, so an interrupted run keeps what it measured (``"complete": false``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import cli_eval as run_eval
from _common import require_data, write_result, write_text_csv


def read_csv(path: Path, tcol: str = "text", lcol: str = "label") -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r[tcol] for r in rows], [r[lcol] for r in rows]


def suite_sets(work: Path, only: set[str] | None, public_tests: bool) -> dict[str, tuple[str, Path]]:
    root = require_data("text-suite")
    out: dict[str, tuple[str, Path]] = {}
    meta = json.loads((root / "suite.json").read_text())
    for s in meta["sets"]:
        out[s["name"]] = (s.get("lang", "?"), root / s["name"] / "test.csv")
    out["sst2-dev"] = ("en", require_data("sst2", "sst2_dev.csv"))
    t, y = read_csv(require_data("banking77", "train.csv"), "text", "category")
    idx = np.random.default_rng(0).permutation(len(t))[:3000]
    out["banking77-train3k"] = ("en", write_text_csv(work / "banking77-train3k.csv", [t[i] for i in idx],
                                                     [y[i] for i in idx]))
    if public_tests:
        t, y = read_csv(require_data("banking77", "test.csv"), "text", "category")
        out["test:ag_news"] = ("en", require_data("ag_news", "ag_news_test.csv"))
        out["test:sst2"] = ("en", require_data("sst2", "sst2_test.csv"))
        out["test:banking77"] = ("en", write_text_csv(work / "banking77-test.csv", t, y))
    if only:
        out = {k: v for k, v in out.items() if k in only}
    return out


def cli_eval(path: Path, flags: list[str], cache: Path, work: Path) -> dict:
    r = run_eval(path, flags, cache, work)
    if "error" in r:
        return {"error": r["error"][-500:]}
    return {"accuracy": round(100 * r["accuracy"], 2), "seconds": r["wall_s"],
            "inductive": round(100 * r["inductive"]["accuracy"], 2) if "inductive" in r else None,
            "decisions": r.get("transduction", {}).get("decisions")}


def plain_baseline(path: Path, encoder: object) -> float:
    """A plain MiniLM script: cosine of each text with the bare class names, argmax."""
    texts, labels = read_csv(path)
    names = sorted(set(labels))
    T = encoder.encode(texts)  # type: ignore[attr-defined]
    C = encoder.encode(names)  # type: ignore[attr-defined]
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    pred = np.asarray(names, dtype=object)[np.argmax(T @ C.T, axis=1)]
    return round(100 * float(np.mean(pred == np.asarray(labels, dtype=object))), 2)


def summarise(rows: dict[str, dict], configs: list[str], chosen_on: list[str]) -> dict:
    out: dict = {}
    for c in configs:
        for mode in ("inductive", "transductive"):
            vals = {s: r[c][mode] for s, r in rows.items() if s in chosen_on and isinstance(r[c].get(mode), float)}
            if not vals:
                continue
            worst = min(vals, key=vals.get)  # type: ignore[arg-type]
            out[f"{c}/{mode}"] = {"mean": round(float(np.mean(list(vals.values()))), 2), "worst_set": worst,
                                  "worst": vals[worst],
                                  "mean_vs_plain": round(float(np.mean([vals[s] - rows[s]["plain"] for s in vals])), 2),
                                  "n_sets": len(vals)}
    if len(configs) > 1:
        for mode in ("inductive", "transductive"):
            loso = {}
            for held in chosen_on:
                others = [s for s in chosen_on if s != held]
                best = max(configs, key=lambda c: np.mean([rows[s][c].get(mode) or 0.0 for s in others]))
                loso[held] = {"chosen": best, "accuracy": rows[held][best].get(mode)}
            scores = [v["accuracy"] for v in loso.values() if isinstance(v["accuracy"], float)]
            out[f"leave_one_set_out/{mode}"] = {"per_set": loso, "mean": round(float(np.mean(scores)), 2) if scores
                                                else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", action="append", default=[], help='NAME="FLAGS" (default: default="")')
    ap.add_argument("--sets", default="", help="comma list of set names (default: all)")
    ap.add_argument("--public-tests", action="store_true", help="also report AG News, SST-2, Banking77 test")
    ap.add_argument("--no-transductive", action="store_true")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "transzero-bench-cache")
    ap.add_argument("--name", default="suite")
    args = ap.parse_args()
    configs = dict(c.split("=", 1) for c in (args.config or ['default=']))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from transzero import create_encoder

    plain_enc = create_encoder("minilm-l6", backend="torch")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sets = suite_sets(work, set(args.sets.split(",")) if args.sets else None, args.public_tests)
        for name, (lang, path) in sets.items():
            row: dict = {"lang": lang, "plain": plain_baseline(path, plain_enc)}
            for c, flags in configs.items():
                f = flags.split()
                row[c] = {"inductive": cli_eval(path, f, args.cache_dir, work).get("accuracy")}
                if not args.no_transductive:
                    tr = cli_eval(path, ["--transductive", *f], args.cache_dir, work)
                    row[c]["transductive"] = tr.get("accuracy")
                    row[c]["decisions"] = tr.get("decisions")
            rows[name] = row
            print(name, json.dumps({k: v for k, v in row.items()}), flush=True)
            chosen_on = [s for s in rows if not s.startswith("test:")]
            write_result(args.name, {"configs": configs, "complete": len(rows) == len(sets), "rows": rows,
                                     "summary": summarise(rows, list(configs), chosen_on)})


if __name__ == "__main__":
    main()
