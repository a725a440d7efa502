"""Sharded, resumable batch jobs (the local engine): resume, spec mismatch, damaged shards, full disk, formats."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from ..test_cli import ENC, LABELS, run  # noqa: E402
from .test_safety import SLOW_CLI, _wait_for_count, labelled_csv  # noqa: E402


def _texts(path: Path, n: int, bad_every: int = 0) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        for i in range(n):
            text = " " if bad_every and i % bad_every == bad_every - 1 else \
                ["a goal for the team", "the budget vote", "a new phone chip"][i % 3] + f" number {i}"
            w.writerow([f"id-{i}", text])
    return path


def _table(folder: Path) -> list[dict]:
    rows = []
    for f in sorted(folder.glob("part-*.parquet")):
        rows += pq.read_table(f).to_pylist()
    return rows


def test_shards_manifest_and_summary(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 250, bad_every=50)
    out, js = tmp_path / "out", tmp_path / "s.json"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "100",
                        "--json", str(js)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", "part-00000.parquet", "part-00001.parquet",
                                                     "part-00002.parquet"]
    s = json.loads(js.read_text())
    assert {"n_items", "n_bad", "n_shards", "n_shards_reused", "seconds", "timings", "engine"} <= set(s)
    assert s["n_items"] == 250 and s["n_bad"] == 5 and s["n_shards"] == 3 and s["engine"] == "local"
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "done" and [m["shards"][k]["rows"] for k in ("0", "1", "2")] == [[1, 100], [101, 200], [201, 250]]
    assert [m["shards"][k]["n_bad"] for k in ("0", "1", "2")] == [2, 2, 1]  # bad rows per shard, summed above
    done = [m["shards"][k]["finished_at"] for k in ("0", "1", "2")]  # per-shard rates come from these
    assert done == sorted(done) and all(isinstance(t, float) for t in done)
    rows = _table(out)
    assert [r["row"] for r in rows] == list(range(1, 251)) and rows[0]["id"] == "id-0"
    assert set(rows[0]) >= {"row", "id", "text", "label", "confidence", "error", "p:sports", "p:politics"}
    assert rows[49]["label"] is None and "empty" in rows[49]["error"]
    assert [r["label"] for r in rows[:3]] == ["sports", "politics", "technology"]
    # the same command again: every shard is reused
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "100",
                        "--json", str(js)], capsys)
    assert code == 0 and json.loads(js.read_text())["n_shards_reused"] == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_other_formats_and_output_rules(tmp_path: Path, capsys, fmt: str) -> None:
    src = _texts(tmp_path / "in.csv", 30)
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "o"), "--format", fmt,
                        "--shard-size", "20"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "o").glob("part-*")) == [f"part-00000.{fmt}", f"part-00001.{fmt}"]
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "single.csv")], capsys)
    assert code == 0 and (tmp_path / "single.csv").is_file()  # FILE.csv stays one file
    # the shards hold the single file's rows, in order, with the same columns and values
    single = list(csv.DictReader((tmp_path / "single.csv").open(newline="")))
    parts = sorted((tmp_path / "o").glob(f"part-*.{fmt}"))
    if fmt == "csv":
        rows = [r for f in parts for r in csv.DictReader(f.open(newline=""))]
    else:
        rows = [json.loads(line) for f in parts for line in f.read_text().splitlines()]
    assert len(rows) == len(single) == 30
    for got, want in zip(rows, single):
        assert str(got["row"]) == want["row"] and got["id"] == want["id"] and got["text"] == want["text"]
        assert got["label"] == want["label"]
        assert float(got["confidence"]) == pytest.approx(float(want["confidence"]), abs=1e-6)
        probs = got["probabilities"] if fmt == "jsonl" else {c: got[f"p:{c}"] for c in LABELS.split(",")}
        assert {c: float(v) for c, v in probs.items()} == pytest.approx(
            {c: float(want[f"p:{c}"]) for c in LABELS.split(",")}, abs=1e-6)


def test_a_changed_spec_refuses_to_mix(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 30)
    out = f"{tmp_path / 'o'}/"
    assert run(["classify", str(src), "--labels", LABELS, *ENC, "-o", out, "--shard-size", "10"], capsys)[0] == 0
    code, _, err = run(["classify", str(src), "--labels", "sports,politics", *ENC, "-o", out, "--shard-size", "10"], capsys)
    assert code == 2 and "holds shards of another job (labels differ)" in err and "--overwrite" in err
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", out, "--shard-size", "15"], capsys)
    assert code == 2 and "shard_size" in err
    code, _, err = run(["classify", str(src), "--labels", "sports,politics", *ENC, "-o", out, "--shard-size", "10",
                        "--overwrite"], capsys)
    assert code == 0, err
    assert len(list((tmp_path / "o").glob("part-*"))) == 3
    # what does not count: --json, --quiet, cache flags
    code, _, err = run(["classify", str(src), "--labels", "sports,politics", *ENC, "-o", out, "--shard-size", "10",
                        "--no-cache", "--quiet", "--json", str(tmp_path / "s.json")], capsys)
    assert code == 0 and json.loads((tmp_path / "s.json").read_text())["n_shards_reused"] == 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("x")
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "other")], capsys)
    assert code == 2 and "not empty" in err


def test_damaged_and_missing_shards_are_recomputed(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 40)
    out, js = tmp_path / "o", tmp_path / "s.json"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10", "--json", str(js)]
    assert run(args, capsys)[0] == 0
    before = _table(out)
    (out / "part-00001.parquet").write_bytes(b"garbage")
    (out / "part-00003.parquet").unlink()
    code, _, err = run(args, capsys)
    assert code == 0
    assert "part-00001.parquet was changed or damaged" in err and "part-00003.parquet is missing" in err
    assert json.loads(js.read_text())["n_shards_reused"] == 2
    assert _table(out) == before


def test_a_full_disk_keeps_finished_shards(tmp_path: Path, capsys, monkeypatch) -> None:
    import transzero.shards as shards

    src = _texts(tmp_path / "in.csv", 40)
    real = shards.write_table
    calls = {"n": 0}

    def full(path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(path, *a, **k)

    monkeypatch.setattr(shards, "write_table", full)
    out = tmp_path / "o"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"], capsys)
    assert code == 2 and "disk is full while writing part-00002.parquet" in err and "Traceback" not in err
    assert sorted(json.loads((out / "_manifest.json").read_text())["shards"]) == ["0", "1"]
    monkeypatch.setattr(shards, "write_table", real)
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10",
                        "--json", str(tmp_path / "s.json")], capsys)
    assert code == 0 and json.loads((tmp_path / "s.json").read_text())["n_shards_reused"] == 2


@pytest.mark.slow
def test_a_killed_job_resumes_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 1200)
    count = tmp_path / "count"
    base = ["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "--shard-size", "100", "--quiet"]
    env = {**os.environ, "TRANSZERO_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, str(SLOW_CLI), *base, "-o", f"{tmp_path / 'out'}/"],
                            env={**env, "TZ_SLOW_SECONDS": "0.003", "TZ_SLOW_COUNT": str(count)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_count(count, 750, proc)  # about 60 % of the job
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads((tmp_path / "out" / "_manifest.json").read_text())["shards"]
    assert len(done) >= 3
    js = tmp_path / "s.json"
    again = subprocess.run([sys.executable, str(SLOW_CLI), *base, "-o", f"{tmp_path / 'out'}/", "--json", str(js)],
                           env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads(js.read_text())["n_shards_reused"] >= 3
    clean = subprocess.run([sys.executable, str(SLOW_CLI), *base, "-o", f"{tmp_path / 'clean'}/", "--no-cache"],
                           env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert _table(tmp_path / "out") == _table(tmp_path / "clean")


def test_embed_shards_and_single_file(tmp_path: Path, capsys) -> None:
    from ..conftest import KeywordEncoder

    src = _texts(tmp_path / "in.csv", 25, bad_every=10)
    code, _, err = run(["embed", str(src), *ENC, "-o", f"{tmp_path / 'e'}/", "--shard-size", "10"], capsys)
    assert code == 0, err
    t = pq.read_table(tmp_path / "e" / "part-00000.parquet")
    assert pa.types.is_fixed_size_list(t.schema.field("vector").type) and t.schema.field("vector").type.list_size == 16
    rows = _table(tmp_path / "e")
    assert len(rows) == 25 and rows[9]["vector"] is None and rows[9]["error"]
    np.testing.assert_allclose(rows[0]["vector"], KeywordEncoder().encode([rows[0]["text"]])[0], rtol=1e-6)
    code, _, err = run(["embed", str(src), *ENC, "-o", str(tmp_path / "v.jsonl")], capsys)
    assert code == 0, err
    lines = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert len(lines) == 25 and len(lines[0]["vector"]) == 16 and lines[9]["vector"] is None


def test_parquet_input_streams(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "body": ["a goal", None, "the vote", "a chip"]}), src, row_group_size=2)
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--text-column", "body", "-o",
                        f"{tmp_path / 'o'}/", "--shard-size", "3"], capsys)
    assert code == 0, err
    rows = _table(tmp_path / "o")
    assert [r["label"] for r in rows] == ["sports", None, "politics", "technology"] and rows[1]["error"]
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--text-column", "nope"], capsys)
    assert code == 2 and "no column 'nope'" in err


def test_the_stream_reader_matches_the_whole_file_reader(tmp_path: Path) -> None:
    from transzero.data import read_text_table
    from transzero.data.stream import iter_shards

    src = tmp_path / "in.csv"
    src.write_text('text,label\n"multi\nline",a\nplain,b\n" ",c\n"x, y",d\n"unterminated,e\nlast,f\n')
    whole = read_text_table(src, label_column="label")
    parts = list(iter_shards(src, 2, label_column="label"))
    assert [len(p) for p in parts] == [2, 2, 2]
    assert [t for p in parts for t in p.texts] == whole.texts
    assert [r for p in parts for r in p.rows] == whole.rows
    assert sum(len(p.errors) for p in parts) == len(whole.errors) == 2


# ---------------------------------------------------------------------- untrusted manifests, locks, fingerprints
def _manifest(out: Path) -> dict:
    return json.loads((out / "_manifest.json").read_text())


def _tamper(out: Path, change) -> None:
    m = _manifest(out)
    change(m)
    (out / "_manifest.json").write_text(json.dumps(m))


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_manifest_cannot_delete_or_reuse_a_file_outside_its_folder(tmp_path: Path, capsys, where: str) -> None:
    src = _texts(tmp_path / "in.csv", 30)
    out = tmp_path / "o"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"]
    assert run(args, capsys)[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    name = "../victim.txt" if where == "relative" else str(victim)
    entry = {"index": 7, "file": name, "rows": [71, 80], "n_items": 10, "n_bad": 0, "sha256": _sha(victim),
             "bytes": victim.stat().st_size, "engine": "local"}
    _tamper(out, lambda m: m["shards"].__setitem__("7", entry))
    code, _, err = run(args, capsys)
    assert code == 2 and "_manifest.json: not a valid shard manifest (shards.7.file" in err and "Traceback" not in err
    assert victim.read_text() == "precious"
    code, _, err = run([*args, "--overwrite"], capsys)  # starting over deletes only part files and the manifest
    assert code == 0, err
    assert victim.read_text() == "precious" and sorted(_manifest(out)["shards"]) == ["0", "1", "2"]


def test_a_manifest_entry_naming_another_part_is_refused(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 30)
    out = tmp_path / "o"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"]
    assert run(args, capsys)[0] == 0
    _tamper(out, lambda m: m["shards"]["2"].update(file="part-00000.parquet", sha256=m["shards"]["0"]["sha256"]))
    code, _, err = run(args, capsys)
    assert code == 2 and "shards.2.file: 'part-00000.parquet' is not 'part-00002.parquet'" in err


@pytest.mark.parametrize("damage", [
    lambda m: m["shards"]["1"].pop("file"),
    lambda m: m["shards"]["1"].pop("sha256"),
    lambda m: m["shards"]["1"].update(n_bad="2"),
    lambda m: m["shards"]["1"].update(rows=[1]),
    lambda m: m.update(shards=[]),
    lambda m: m.update(format_version=99),
])
def test_a_damaged_manifest_entry_is_one_line(tmp_path: Path, capsys, damage) -> None:
    src = _texts(tmp_path / "in.csv", 30)
    out = tmp_path / "o"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"]
    assert run(args, capsys)[0] == 0
    _tamper(out, damage)
    code, _, err = run(args, capsys)
    assert code == 2 and "not a valid shard manifest" in err and "--overwrite" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_while_the_manifest_is_rewritten_keeps_the_shards(tmp_path: Path, capsys, monkeypatch) -> None:
    import transzero.shards as shards

    src = _texts(tmp_path / "in.csv", 40)
    out = tmp_path / "o"
    real_atomic = shards.atomic_path
    calls = {"n": 0}

    def fills_up(path):
        calls["n"] += Path(path).name == "_manifest.json"
        if calls["n"] == 4:  # (created, verified, shard 0 recorded; recording shard 1: the disk is full)
            raise OSError(28, "No space left on device")
        return real_atomic(path)

    monkeypatch.setattr(shards, "atomic_path", fills_up)
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"]
    code, _, err = run(args, capsys)
    assert code == 2 and "_manifest.json: the disk is full; the 1 finished shard(s) are kept" in err
    assert "Traceback" not in err and (out / "part-00000.parquet").is_file()
    monkeypatch.setattr(shards, "atomic_path", real_atomic)
    code, _, err = run([*args, "--json", str(tmp_path / "s.json")], capsys)
    assert code == 0 and json.loads((tmp_path / "s.json").read_text())["n_shards_reused"] == 1


def test_a_second_job_on_a_locked_folder_is_refused_naming_the_holder(tmp_path: Path, capsys) -> None:
    import socket

    from transzero.locks import LOCK_NAME, FolderLock

    src = _texts(tmp_path / "in.csv", 30)
    out = tmp_path / "o"
    out.mkdir()
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10", "--overwrite"]
    with FolderLock(out):  # another job writes this folder
        code, _, err = run(args, capsys)
        assert code == 2 and "is being written by another transzero job" in err
        assert f"pid {os.getpid()}, host {socket.gethostname()}" in err
        assert not list(out.glob("part-*"))
        code, _, err = run(["embed", str(src), *ENC, "-o", f"{out}/", "--overwrite"], capsys)
        assert code == 2 and "being written by another transzero job" in err
    assert not (out / LOCK_NAME).exists()
    code, _, err = run(args, capsys)
    assert code == 0, err
    assert not (out / LOCK_NAME).exists()  # released when the job ends


def test_a_stale_lock_of_a_dead_job_is_taken_over(tmp_path: Path, capsys) -> None:
    from transzero.locks import LOCK_NAME

    src = _texts(tmp_path / "in.csv", 30)
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "gone-host", "started": "2026-01-01"}))
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10"], capsys)
    assert code == 0, err
    assert "taking over the lock of a job that is no longer running (pid 999999, host gone-host" in err


def test_two_processes_never_write_one_folder(tmp_path: Path) -> None:
    """The lock is held across processes: a job started while another writes the folder is refused."""
    data = labelled_csv(tmp_path / "d.csv", 400)
    count = tmp_path / "count"
    out = f"{tmp_path / 'out'}/"
    base = ["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "--shard-size", "50", "--quiet",
            "--no-cache", "-o", out]
    env = {**os.environ, "TRANSZERO_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.Popen([sys.executable, str(SLOW_CLI), *base],
                             env={**env, "TZ_SLOW_SECONDS": "0.004", "TZ_SLOW_COUNT": str(count)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_count(count, 60, first)
        second = subprocess.run([sys.executable, str(SLOW_CLI), *base, "--overwrite", "--labels", "a,b"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and f"pid {first.pid}" in second.stderr, second.stderr
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    m = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert m["status"] == "done" and len(m["shards"]) == 8 and m["classes"] == LABELS.split(",")


def test_resume_compares_content_not_sizes_and_times(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    with src.open("w") as f:
        f.write("text\n")
        for i in range(1, 25_001):  # > 1 MB: the edit lies past the first megabyte
            f.write(f"a goal for the team number {i:06d} and more words to fill the line\n")
    assert src.stat().st_size > 1 << 20
    out, js = tmp_path / "o", tmp_path / "s.json"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{out}/", "--shard-size", "10000", "--json", str(js)]
    assert run(args, capsys)[0] == 0
    st = src.stat()
    body = src.read_bytes()
    edited = body[:-80] + body[-80:].replace(b"a goal for the team", b"the budget vote!!!!")
    assert len(edited) == len(body) and edited != body
    src.write_bytes(edited)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and time restored
    code, _, err = run(args, capsys)
    assert code == 2 and "holds shards of another job (input differ)" in err


def test_an_image_replaced_by_another_of_the_same_size_changes_the_fingerprint(tmp_path: Path) -> None:
    from PIL import Image

    from transzero.data.stream import input_fingerprint

    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    for i, color in enumerate(["red", "blue"]):
        Image.new("RGB", (8, 8), color).save(folder / f"{i}.bmp")
    before = input_fingerprint(tmp_path / "imgs")
    size = (folder / "1.bmp").stat().st_size
    Image.new("RGB", (8, 8), "green").save(folder / "1.bmp")
    assert (folder / "1.bmp").stat().st_size == size
    assert input_fingerprint(tmp_path / "imgs") != before
    listing = tmp_path / "list.txt"  # a .txt list of images: the listed files' content counts too
    listing.write_text(f"{folder / '0.bmp'}\n{folder / '1.bmp'}\n")
    before = input_fingerprint(listing)
    Image.new("RGB", (8, 8), "white").save(folder / "0.bmp")
    assert input_fingerprint(listing) != before


def test_sharded_transduction_is_one_pooled_adaptation(tmp_path: Path, capsys) -> None:
    """`--transductive -o DIR/` adapts once over every shard (the pipeline's pooled step): the shards hold exactly
    what one `--transductive` output file holds, bad rows included; a resumed run keeps the written shards."""
    src = _texts(tmp_path / "in.csv", 240, bad_every=40)
    one, out = tmp_path / "one.csv", tmp_path / "out"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--transductive", "-o", str(one)], capsys)
    assert code == 0, err
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--transductive", "-o", f"{out}/",
                        "--shard-size", "100"], capsys)
    assert code == 0, err
    with one.open() as f:
        single = list(csv.DictReader(f))
    rows = _table(out)
    assert len(rows) == len(single) == 240 and sum(r["label"] is None for r in rows) == 6
    assert [r["label"] for r in rows] == [s["label"] or None for s in single]
    got = np.array([[r["p:sports"], r["p:politics"]] for r in rows if r["label"] is not None], dtype=float)
    want = np.array([[s["p:sports"], s["p:politics"]] for s in single if s["label"]], dtype=float)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # an inductive run differs somewhere (the adaptation did something), so the comparison above means something
    ind = tmp_path / "ind.csv"
    assert run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(ind)], capsys)[0] == 0
    with ind.open() as f:
        inductive = np.array([[r["p:sports"], r["p:politics"]] for r in csv.DictReader(f) if r["label"]], dtype=float)
    assert np.abs(inductive - want).max() > 1e-3
    (out / "part-00001.parquet").unlink()  # resume: the missing shard is written again, the others are kept
    before = (out / "part-00000.parquet").stat().st_mtime_ns
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--transductive", "-o", f"{out}/",
                        "--shard-size", "100"], capsys)
    assert code == 0, err
    assert (out / "part-00000.parquet").stat().st_mtime_ns == before
    assert [r["label"] for r in _table(out)] == [r["label"] for r in rows]
