"""Synthetic spoken development sets (espeak-ng), for choosing the audio defaults beyond spoken digits.

Usage::

    python benchmarks/spoken_dev.py OUT_FOLDER [--per-class 12] [--requests 25]

FSDD (spoken digits) is one kind of speech: one word per clip, every class a word said. The default audio route
must also handle other words and voices, and requests whose class is a *topic* rather than a word said. No such
recordings ship here, so this script speaks them with Debian's ``espeak-ng`` (``apt-get install espeak-ng``),
varying voice (6 English accents x male/female variants), speed and pitch with ``random.Random(0)``:

``words-colors``, ``words-animals``, ``words-days``
    single words (8, 8 and 7 classes), ``--per-class`` clips each, one word per clip.
``requests-snips``
    spoken voice-assistant requests: ``--requests`` texts per class drawn from the dev suite's SNIPS test set
    (../shared/data/text-suite/snips; 7 intents such as ``GetWeather``, ``PlayMusic``).

Each set is a folder ``OUT_FOLDER/<set>/`` of 16 kHz WAV files and a ``data.csv`` (``audio,label``) that
``transzero eval OUT_FOLDER/<set>/data.csv`` reads. Nothing is written outside ``OUT_FOLDER``. These are
development data: defaults are chosen on them and on three FSDD speakers, never on held-out sets.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
from pathlib import Path

from _common import require_data

WORDS = {
    "words-colors": ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"],
    "words-animals": ["horse", "rabbit", "tiger", "monkey", "snake", "turtle", "eagle", "whale"],
    "words-days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan"]
VARIANTS = ["", "+f1", "+f2", "+f3", "+m1", "+m3", "+f4", "+m7"]


def speak(text: str, path: Path, rng: random.Random) -> None:
    voice = rng.choice(VOICES) + rng.choice(VARIANTS)
    cmd = ["espeak-ng", "-v", voice, "-s", str(rng.randint(130, 190)), "-p", str(rng.randint(30, 70)),
           "-w", str(path), text]
    subprocess.run(cmd, check=True, capture_output=True)


def write_set(out: Path, name: str, rows: list[tuple[str, str]], rng: random.Random) -> None:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["audio", "label"])
        for i, (text, label) in enumerate(rows):
            wav = folder / f"{i:04d}.wav"
            speak(text, wav, rng)
            w.writerow([wav.name, label])
    print(f"{name}: {len(rows)} clips, {len({lab for _, lab in rows})} classes", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-class", type=int, default=12)
    ap.add_argument("--requests", type=int, default=25)
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found; apt-get install espeak-ng")
    rng = random.Random(0)
    for name, words in WORDS.items():
        write_set(args.out, name, [(w, w) for w in words for _ in range(args.per_class)], rng)
    snips = require_data("text-suite", "snips", "test.csv")
    with snips.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    by_class: dict[str, list[str]] = {}
    for r in table:
        by_class.setdefault(r["label"], []).append(r["text"])
    rows = []
    for label in sorted(by_class):
        texts = by_class[label]
        for t in random.Random(label).sample(texts, min(args.requests, len(texts))):
            rows.append((t, label))
    write_set(args.out, "requests-snips", rows, rng)


if __name__ == "__main__":
    main()
