"""Property-based fuzzing of every reader and of the CLI entry point (hypothesis; seeded, bounded).

Properties:

* readers (text tables, labels files, images, audio, saved classifier folders, xlsa17 files) raise only
  :class:`~transzero.errors.TranszeroError` for bad input - never a traceback of another kind;
* ``transzero.cli.main(argv)`` ends in ``SystemExit`` 0, 1 (``--strict`` with bad rows) or 2 (a user error),
  or returns, for arbitrary bytes and for well-formed files that hold wrong types;
* good rows are never lost: every well-formed row written comes back, in order, with its text.

``TRANSZERO_FUZZ_EXAMPLES`` scales the number of examples per property (default 60; CI uses the default).
Runs are derandomized, so a failure reproduces with the same command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transzero.errors import TranszeroError

N = int(os.environ.get("TRANSZERO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEW = settings(FUZZ, max_examples=max(10, N // 3))


@contextmanager
def scratch() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="tz-fuzz-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# JSON-like values of any shape: what a well-formed file holding the wrong types contains
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(lambda t: t.strip())


# ---------------------------------------------------------------------- text tables
@FUZZ
@given(data=st.binary(max_size=1500), suffix=st.sampled_from([".txt", ".csv", ".tsv", ".jsonl"]))
def test_text_reader_on_arbitrary_bytes(data: bytes, suffix: str) -> None:
    from transzero.data import read_text_table

    with scratch() as d:
        p = d / f"in{suffix}"
        p.write_bytes(data)
        try:
            t = read_text_table(p, label_column=None)
        except TranszeroError:
            return
        assert len(t.texts) == len(t.rows) == len(t.records)
        for i, v in enumerate(t.texts):
            assert (v is None) == (i in t.errors)
            assert v is None or (isinstance(v, str) and v.strip())


@FUZZ
@given(rows=st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=25),
       suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_good_rows_are_never_lost(rows: list[tuple[str, bool]], suffix: str) -> None:
    """Well-formed rows written by a standard writer, mixed with blank ones, all come back in order."""
    from transzero.data import read_text_table

    with scratch() as d:
        p = d / f"in{suffix}"
        values = [t if good else " " for t, good in rows]
        if suffix == ".jsonl":
            p.write_text("".join(json.dumps({"text": v, "n": i}) + "\n" for i, v in enumerate(values)), encoding="utf-8")
        else:
            with p.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, delimiter="\t" if suffix == ".tsv" else ",")
                w.writerow(["text", "n"])
                w.writerows([[v, i] for i, v in enumerate(values)])
        t = read_text_table(p)
        assert len(t.texts) == len(values)
        for i, (v, (text, good)) in enumerate(zip(t.texts, rows)):
            if good:
                assert v == text, (i, v, text)
            else:
                assert v is None and i in t.errors


# ---------------------------------------------------------------------- labels files
@FUZZ
@given(value=json_values, fmt=st.sampled_from(["json", "yaml"]))
def test_labels_files_with_wrong_types(value: Any, fmt: str) -> None:
    import yaml

    from transzero.labels import LabelSpace

    with scratch() as d:
        p = d / f"labels.{fmt}"
        p.write_text(json.dumps(value) if fmt == "json" else yaml.safe_dump(value, allow_unicode=True))
        try:
            ls = LabelSpace.from_file(p)
        except TranszeroError:
            return
        assert len(ls.names) >= 2 and all(isinstance(n, str) for n in ls.names)


@FUZZ
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".yaml", ".json", ".txt"]))
def test_labels_files_of_arbitrary_bytes(data: bytes, suffix: str) -> None:
    from transzero.labels import LabelSpace

    with scratch() as d:
        p = d / f"labels{suffix}"
        p.write_bytes(data)
        try:
            LabelSpace.from_file(p)
        except TranszeroError:
            pass


# ---------------------------------------------------------------------- images and audio
def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(48 * 3, dtype=np.uint8).reshape(4, 12, 3)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _wav() -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(np.arange(4000) / 9)).astype(np.float32), 8000, format="WAV")
    return buf.getvalue()


def _mutate(base: bytes, cuts: int, flips: list[tuple[int, int]]) -> bytes:
    b = bytearray(base[: max(0, len(base) - cuts)])
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b)


mutations = st.tuples(st.integers(0, 200), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8))


@FUZZ
@given(kind=st.sampled_from(["png", "jpeg", "random"]), m=mutations, raw=st.binary(max_size=400),
       suffix=st.sampled_from([".png", ".jpg", ".gif", ".tif"]))
def test_image_loader(kind: str, m: tuple[int, list[tuple[int, int]]], raw: bytes, suffix: str) -> None:
    from transzero.data.images import load_image

    data = raw if kind == "random" else _mutate(_png() if kind == "png" else _jpeg(), *m)
    with scratch() as d:
        p = d / f"x{suffix}"
        p.write_bytes(data)
        for item in (p, data):
            try:
                img = load_image(item)
            except TranszeroError:
                continue
            assert img.mode == "RGB" and min(img.size) >= 1


@FUZZ
@given(kind=st.sampled_from(["wav", "random"]), m=mutations, raw=st.binary(max_size=400))
def test_audio_loader(kind: str, m: tuple[int, list[tuple[int, int]]], raw: bytes) -> None:
    from transzero.data.audio import load_audio

    data = raw if kind == "random" else _mutate(_wav(), *m)
    with scratch() as d:
        p = d / "x.wav"
        p.write_bytes(data)
        for item in (p, data):
            try:
                x = load_audio(item, 16000)
            except TranszeroError:
                continue
            assert x.ndim == 1 and x.dtype == np.float32 and np.all(np.isfinite(x))


# ---------------------------------------------------------------------- saved classifier folders
_SAVED: dict[str, Path] = {}


def _saved_folder() -> Path:
    if "knn" not in _SAVED:
        from transzero import ZeroShotClassifier

        d = Path(tempfile.mkdtemp(prefix="tz-fuzz-saved-"))
        clf = ZeroShotClassifier(["sports", "politics", "technology"], encoder="test-keywords", method="knn")
        clf.fit(["budget vote", "a goal"], ["politics", "sports"]).calibrate(["a goal", "the vote", "a chip"],
                                                                             ["sports", "politics", "technology"])
        _SAVED["knn"] = clf.save(d / "clf")
    return _SAVED["knn"]


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _tamper(obj: Any, pick: int, value: Any, drop: bool) -> Any:
    """``obj`` (parsed JSON) with the ``pick``-th value replaced by ``value`` (or dropped from its dict)."""
    paths = [p for p in _paths(obj) if p]
    path = paths[pick % len(paths)]
    node = obj
    for k in path[:-1]:
        node = node[k]
    if drop and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return obj


@FUZZ
@given(pick=st.integers(0, 10**6), value=json_values, drop=st.booleans())
def test_saved_folder_with_a_tampered_config(pick: int, value: Any, drop: bool) -> None:
    from transzero import load_classifier

    src = _saved_folder()
    cfg = _tamper(json.loads((src / "config.json").read_text()), pick, value, drop)
    with scratch() as d:
        dst = d / "clf"
        shutil.copytree(src, dst)
        (dst / "config.json").write_text(json.dumps(cfg))
        try:
            clf = load_classifier(dst)
        except TranszeroError:
            return
        P = clf.predict_proba(["a goal", "the vote"])  # whatever loads must work
        assert P.shape[0] == 2 and np.all(np.isfinite(P))


# ---------------------------------------------------------------------- shard manifests
def _shard_job(d: Path) -> tuple[list[str], Path]:
    """A finished 3-shard classify job in ``d/out`` and its command."""
    src = d / "in.txt"
    src.write_text("".join(f"a goal for the team {i}\n" for i in range(30)))
    argv = ["classify", str(src), "--labels", "sports,politics,technology", "--encoder", "test-keywords", "--no-cache",
            "--quiet", "-o", f"{d / 'out'}/", "--shard-size", "10"]
    assert _cli_code(argv) == 0
    return argv, d / "out"


def _cli_code(argv: list[str]) -> int:
    from transzero.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@FEW
@given(pick=st.integers(0, 10**6), value=json_values | st.sampled_from(["../victim.txt", "/etc/hostname", "part-00000.parquet"]),
       drop=st.booleans(), raw=st.binary(max_size=200), use_raw=st.booleans(), overwrite=st.booleans())
def test_a_tampered_shard_manifest(pick: int, value: Any, drop: bool, raw: bytes, use_raw: bool,
                                   overwrite: bool) -> None:
    """A manifest is untrusted: any change ends in status 0 or a one-line error (2), never a traceback, and no
    file outside the folder is read as a shard or deleted."""
    with scratch() as d:
        argv, out = _shard_job(d)
        victim = d / "victim.txt"
        victim.write_text("precious")
        m = json.loads((out / "_manifest.json").read_text())
        if use_raw:
            (out / "_manifest.json").write_bytes(raw)
        else:
            (out / "_manifest.json").write_text(json.dumps(_tamper(m, pick, value, drop)))
        code = _cli_code([*argv, "--overwrite"] if overwrite else argv)
        assert code in (0, 2)
        assert victim.read_text() == "precious"
        if code == 0:  # what it wrote is whole: every row once, in order
            import pyarrow.parquet as pq

            rows = [r["row"] for f in sorted(out.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
            assert rows == list(range(1, 31))


@FUZZ
@given(target=st.sampled_from(["config.json", "class_vectors.npy", "method.bank_vectors_.npy", "prompt_labels.npy"]),
       m=mutations, raw=st.binary(max_size=300), use_raw=st.booleans())
def test_saved_folder_with_damaged_files(target: str, m: tuple[int, list[tuple[int, int]]], raw: bytes,
                                         use_raw: bool) -> None:
    from transzero import load_classifier

    src = _saved_folder()
    with scratch() as d:
        dst = d / "clf"
        shutil.copytree(src, dst)
        f = dst / target
        f.write_bytes(raw if use_raw else _mutate(f.read_bytes(), *m))
        try:
            clf = load_classifier(dst)
        except TranszeroError:
            return
        assert np.all(np.isfinite(clf.predict_proba(["a goal"])))


# ---------------------------------------------------------------------- xlsa17
@FEW
@given(fields=st.dictionaries(st.sampled_from(["att", "original_att", "allclasses_names", "trainval_loc",
                                                "test_seen_loc", "test_unseen_loc", "train_loc", "val_loc"]),
                              st.one_of(st.integers(-5, 50), st.lists(st.integers(-3, 40), max_size=12),
                                        st.lists(st.lists(st.floats(-2, 2), min_size=2, max_size=2), max_size=6),
                                        st.text(max_size=10)), max_size=8),
       raw=st.binary(max_size=300), use_raw=st.booleans())
def test_xlsa17_reader(fields: dict[str, Any], raw: bytes, use_raw: bool) -> None:
    from scipy.io import savemat

    from transzero.data.xlsa17 import read_att_splits, read_res101

    with scratch() as d:
        p = d / "att_splits.mat"
        if use_raw:
            p.write_bytes(raw)
        else:
            savemat(p, {k: (np.asarray(v) if not isinstance(v, str) else v) for k, v in fields.items()})
        for reader in (read_att_splits, read_res101):
            try:
                reader(p)
            except TranszeroError:
                pass


# ---------------------------------------------------------------------- the CLI entry point, in-process
def _main(argv: list[str]) -> int:
    from transzero.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)  # an int: anything else fails the int() here
    return 0


def _silence(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()


@FUZZ
@given(data=st.binary(max_size=800), suffix=st.sampled_from([".txt", ".csv", ".jsonl", ".tsv", ".json", ".xyz"]),
       command=st.sampled_from(["classify", "eval"]), strict=st.booleans(),
       out=st.sampled_from([None, "o.csv", "o.jsonl", "o.json", "o.tsv"]))
def test_cli_on_arbitrary_input_bytes(data: bytes, suffix: str, command: str, strict: bool, out: str | None,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with scratch() as d:
        p = d / f"in{suffix}"
        p.write_bytes(data)
        argv = [command, str(p), "--encoder", "test-keywords", "--cache-dir", str(d / "c"), "--quiet"]
        argv += ["--labels", "sports,politics,technology"] if command == "classify" else []
        if out:
            argv += ["-o" if command == "classify" else "--predictions", str(d / out)]
        argv += ["--strict"] if strict and command == "classify" else []
        code = _main(argv)
        assert code in (0, 1, 2) and (code != 1 or strict)
        if out and code in (0, 1):
            written = (d / out).read_bytes()
            written.decode("utf-8")  # outputs are valid UTF-8 whatever the input held
            if out.endswith((".json", ".jsonl")):
                assert b"NaN" not in written
    _silence(capsys)


@FUZZ
@given(value=json_values, fmt=st.sampled_from(["json", "yaml"]), extra=st.sampled_from([
    [], ["--templates", "topic"], ["--multi-label"], ["--reject", "0.5"], ["--explain", "2"], ["--transductive"]]))
def test_cli_with_a_labels_file_holding_wrong_types(value: Any, fmt: str, extra: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    with scratch() as d:
        items = d / "x.txt"
        items.write_text("a goal for the team\nthe budget vote\nnew phone chip\n")
        lf = d / f"labels.{fmt}"
        lf.write_text(json.dumps(value) if fmt == "json" else yaml.safe_dump(value, allow_unicode=True))
        code = _main(["classify", str(items), "--labels-file", str(lf), "--encoder", "test-keywords", "--no-cache",
                      "--quiet", *extra])
        assert code in (0, 2)
    _silence(capsys)


FLAGS = {
    "--shots": st.text(max_size=8), "--seeds": st.text(max_size=4), "--reject": st.text(max_size=6),
    "--threshold": st.text(max_size=6), "--batch-size": st.text(max_size=4), "--method": st.text(max_size=12),
    "--encoder": st.text(max_size=12), "--templates": st.text(max_size=12), "--transduction-steps": st.text(max_size=16),
    "--target-frr": st.text(max_size=6), "--calibration-shots": st.text(max_size=4), "--gamma": st.text(max_size=6),
    "--fusion-weights": st.text(max_size=12), "--label-column": st.text(max_size=8), "--text-column": st.text(max_size=8),
}


@FUZZ
@given(flags=st.dictionaries(st.sampled_from(sorted(FLAGS)), st.just(""), min_size=1, max_size=3), data=st.data(),
       command=st.sampled_from(["classify", "eval"]))
def test_cli_with_arbitrary_flag_values(flags: dict[str, str], data: st.DataObject, command: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with scratch() as d:
        src = d / "d.csv"
        src.write_text("text,label\na goal for the team,sports\nthe budget vote,politics\nnew phone chip,technology\n")
        argv = [command, str(src), "--no-cache", "--quiet"]
        if "--encoder" not in flags:
            argv += ["--encoder", "test-keywords"]
        if command == "classify":
            argv += ["--labels", "sports,politics,technology"]
        for flag in flags:
            value = data.draw(FLAGS[flag], label=flag)
            if "\x00" in value:
                continue  # (the OS refuses NUL in argv: no user can pass it)
            argv += [flag, value]
            if flag == "--shots":
                argv += ["--support", str(src)]
        code = _main(argv)
        assert code in (0, 2)
    _silence(capsys)
