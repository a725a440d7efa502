"""Safe with the user's data: killed runs keep their work, outputs are atomic and never clobber, cache faults
never cost the job, progress shows without a terminal, few-shot runs encode only what they sample."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from transzero import EmbeddingCache
from transzero.errors import CacheWarning

from ..conftest import VOCAB, KeywordEncoder
from ..test_cli import ENC, LABELS, run

SLOW_CLI = Path(__file__).parents[1] / "slow_cli.py"
TOPICS = {"sports": VOCAB[0:6], "politics": VOCAB[6:12], "technology": VOCAB[12:18]}


def labelled_csv(path: Path, n: int, seed: int = 0) -> Path:
    """n distinct texts (a running number keeps them distinct) with a gold topic."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(n):
            label = names[i % 3]
            w.writerow([f"{rng.choice(TOPICS[label])} {rng.choice(TOPICS[label])} report number w{i}", label])
    return path


def _slow(args: list[str], env_extra: dict[str, str], cache: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRANSZERO_CACHE_DIR": str(cache), **env_extra}
    return subprocess.Popen([sys.executable, str(SLOW_CLI), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for_count(count_file: Path, at_least: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    t0 = time.time()
    while time.time() - t0 < timeout:
        text = count_file.read_text().strip() if count_file.exists() else ""
        if text and int(text) >= at_least:
            return int(text)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.02)
    raise AssertionError("the slow run did not get far enough")


@pytest.mark.slow
def test_kill_during_encoding_keeps_the_work_and_rerun_is_identical(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 2000)
    cache, count = tmp_path / "cache", tmp_path / "count"
    args = ["eval", str(data), "--labels", LABELS, "--encoder", "test-slow", "--quiet"]
    proc = _slow([*args, "--json", str(tmp_path / "killed.json")], {"TZ_SLOW_SECONDS": "0.002", "TZ_SLOW_COUNT": str(count)}, cache)
    _wait_for_count(count, 700, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    encoded_before_kill = int(count.read_text())
    assert not (tmp_path / "killed.json").exists()
    again = subprocess.run([sys.executable, str(SLOW_CLI), *args, "--json", str(tmp_path / "rerun.json")],
                           env={**os.environ, "TRANSZERO_CACHE_DIR": str(cache)}, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    rerun = json.loads((tmp_path / "rerun.json").read_text())
    assert rerun["cache"]["hits"] >= encoded_before_kill / 2, (rerun["cache"], encoded_before_kill)
    clean = subprocess.run([sys.executable, str(SLOW_CLI), *args, "--no-cache", "--json", str(tmp_path / "clean.json")],
                           capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    ref = json.loads((tmp_path / "clean.json").read_text())
    for key in ("accuracy", "macro_f1", "per_class_accuracy", "ece", "n"):
        assert rerun[key] == ref[key], key


def test_cache_commits_every_chunk(tmp_path: Path) -> None:
    """Every chunk of at most 256 misses is committed before the next one starts."""
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path)
    seen_on_disk: list[int] = []
    original = enc._encode

    def spy(items, batch_size, progress):
        db = cache.path_for(enc)
        if db.exists():
            with sqlite3.connect(str(db)) as conn:
                seen_on_disk.append(conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        return original(items, batch_size, progress)

    enc._encode = spy  # type: ignore[method-assign]
    cache.encode(enc, [f"text number {i}" for i in range(1000)])
    assert len(seen_on_disk) >= 4 and seen_on_disk == sorted(seen_on_disk)
    assert all(b - a <= 256 for a, b in zip(seen_on_disk, seen_on_disk[1:]))


@pytest.mark.slow
def test_atomic_output_survives_a_kill(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 2000)
    out = tmp_path / "out.csv"
    out.write_text("the previous predictions\n")
    count = tmp_path / "count"
    proc = _slow(["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "-o", str(out), "--overwrite",
                  "--quiet"], {"TZ_SLOW_SECONDS": "0.002", "TZ_SLOW_COUNT": str(count)}, tmp_path / "cache")
    _wait_for_count(count, 300, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert out.read_text() == "the previous predictions\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []


def test_existing_output_is_refused_before_encoding(tmp_path: Path, capsys) -> None:
    data = labelled_csv(tmp_path / "d.csv", 30)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    code, _, err = run(["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "-o", str(out)], capsys)
    assert code == 2 and "already exists; pass --overwrite" in err
    assert out.read_text() == "keep me\n"
    assert "encode" not in err  # refused before any encoding
    code, _, err = run(["classify", str(data), "--labels", LABELS, *ENC, "-o", str(out), "--overwrite"], capsys)
    assert code == 0, err
    assert len(list(csv.DictReader(out.open()))) == 30
    for argv in (["-o", str(data)], ["-o", str(data), "--overwrite"]):  # the input itself: always refused
        code, _, err = run(["classify", str(data), "--labels", LABELS, *ENC, *argv], capsys)
        assert code == 2 and "is the input file" in err
    assert data.read_text().startswith("text,label")
    code, _, err = run(["eval", str(data), *ENC, "--predictions", str(tmp_path / "p.xlsx")], capsys)
    assert code == 2 and "unsupported type .xlsx" in err and "encode" not in err
    code, _, err = run(["classify", str(data), "--labels", LABELS, *ENC, "-o", str(tmp_path / "nope" / "o.csv")], capsys)
    assert code == 2 and "does not exist" in err


def test_json_and_plots_are_replaced(tmp_path: Path, capsys) -> None:
    data = labelled_csv(tmp_path / "d.csv", 30)
    js = tmp_path / "m.json"
    js.write_text("old")
    code, _, err = run(["eval", str(data), *ENC, "--json", str(js)], capsys)
    assert code == 0, err
    m = json.loads(js.read_text())
    assert set(m["timings"]) >= {"read", "load", "encode", "fit", "score", "adapt", "total"}
    assert all(v >= 0 for v in m["timings"].values())
    assert m["timings"]["total"] <= m["seconds"] + 0.5


# ---------------------------------------------------------------------- cache faults
def _eval_json(tmp_path: Path, capsys, data: Path, *extra: str) -> tuple[dict, str]:
    js = tmp_path / f"m{len(list(tmp_path.glob('m*.json')))}.json"
    code, _, err = run(["eval", str(data), *ENC, "--json", str(js), *extra], capsys)
    assert code == 0, err
    return json.loads(js.read_text()), err


def _same_metrics(a: dict, b: dict) -> None:
    for key in ("accuracy", "macro_f1", "per_class_accuracy", "ece", "n"):
        assert a[key] == b[key], key


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return labelled_csv(tmp_path / "d.csv", 60)


def test_uncreatable_cache_folder_warns_and_goes_on(tmp_path: Path, capsys, data: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    got, err = _eval_json(tmp_path, capsys, data, "--cache-dir", str(blocker / "cache"))
    ref, _ = _eval_json(tmp_path, capsys, data, "--no-cache")
    assert err.count("warning:") == 1 and "cannot create folder" in err and "Traceback" not in err
    _same_metrics(got, ref)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 50, "foreign"])
def test_corrupt_or_foreign_cache_file_is_moved_aside(tmp_path: Path, capsys, data: Path, content) -> None:
    cache_dir = tmp_path / "c"
    first, _ = _eval_json(tmp_path, capsys, data, "--cache-dir", str(cache_dir))
    (db,) = cache_dir.glob("*.sqlite")
    for side in cache_dir.glob("*.sqlite-*"):
        side.unlink()
    db.unlink()
    if content == "foreign":
        with sqlite3.connect(str(db)) as conn:
            conn.execute("CREATE TABLE people (name TEXT)")
    else:
        db.write_bytes(content)
    got, err = _eval_json(tmp_path, capsys, data, "--cache-dir", str(cache_dir))
    assert "moved it to" in err and err.count("warning:") == 1
    assert len(list(cache_dir.glob("*.bad-*"))) == 1
    _same_metrics(got, first)
    again, err = _eval_json(tmp_path, capsys, data, "--cache-dir", str(cache_dir))
    assert "warning" not in err and again["cache"]["misses"] == 0  # the rebuilt cache works


def test_wrong_length_vectors_are_re_encoded(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path, warn=(seen := []).append)
    ref = cache.encode(enc, ["a goal", "a chip"])
    with sqlite3.connect(str(cache.path_for(enc))) as conn:
        conn.execute("UPDATE vectors SET vec = ?", (np.zeros(3, np.float32).tobytes(),))
    again = EmbeddingCache(tmp_path, warn=seen.append)
    np.testing.assert_array_equal(again.encode(enc, ["a goal", "a chip"]), ref)
    assert again.stats.misses == 2 and any("wrong length" in w for w in seen)


class _FullDiskCache(EmbeddingCache):
    """A cache whose database may hold only a few pages: writes fail with SQLite's real 'database or disk is full'."""

    def _open(self, path, encoder):
        conn = super()._open(path, encoder)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn


def test_full_disk_warns_once_and_results_are_unchanged(tmp_path: Path) -> None:
    enc = KeywordEncoder(dim=256)
    warned: list[str] = []
    cache = _FullDiskCache(tmp_path, warn=warned.append, chunk_size=16)
    texts = [f"text number {i} about the match" for i in range(400)]
    got = cache.encode(enc, texts)
    np.testing.assert_allclose(got, KeywordEncoder(dim=256).encode(texts), rtol=1e-6)
    assert len(warned) == 1 and "full" in warned[0]


def test_cache_warning_category(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.warns(CacheWarning, match="cannot create folder"):
        EmbeddingCache(blocker / "c").encode(KeywordEncoder(), ["a goal"])


# ---------------------------------------------------------------------- progress
def test_progress_lines_without_a_terminal(tmp_path: Path, capsys, data: Path) -> None:
    code, _, err = run(["eval", str(data), *ENC, "--no-cache"], capsys)
    assert code == 0
    lines = [ln for ln in err.splitlines() if ln.startswith("encode ")]
    assert lines[0] == "encode 0/60 items" and lines[-1].startswith("encode 60/60 items") and "done in" in lines[-1]
    code, _, err = run(["eval", str(data), *ENC, "--no-cache", "--quiet"], capsys)
    assert code == 0 and "encode" not in err


def test_line_progress_ticks_during_a_long_batch() -> None:
    import io

    from transzero.pipeline import LineProgress

    stream = io.StringIO()
    p = LineProgress("encode", 3000, stream, interval=0.2).start()
    t0 = time.perf_counter()
    p.advance(1200)
    time.sleep(0.9)  # one long batch: no advance, yet lines keep coming
    p.advance(1800)
    p.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "encode 0/3000 items"
    assert len(lines) >= 5, lines  # start + >= 3 ticks + end
    assert any(ln.startswith("encode 1200/3000 items, ") and "/s, ETA " in ln for ln in lines)
    assert lines[-1].startswith("encode 3000/3000 items") and time.perf_counter() - t0 < 2


# ---------------------------------------------------------------------- few-shot sampling
def test_few_shot_encodes_only_the_sampled_support(tmp_path: Path, capsys) -> None:
    from transzero.encoders import register_encoder

    shared = KeywordEncoder(name="test-counted")
    register_encoder("test-counted", modality="text", description="counts what it encodes")(lambda **kw: shared)
    evald = labelled_csv(tmp_path / "e.csv", 30, seed=1)
    support = labelled_csv(tmp_path / "s.csv", 600, seed=2)
    js = tmp_path / "c.json"
    code, _, err = run(["eval", str(evald), "--labels", LABELS, "--encoder", "test-counted", "--no-cache",
                        "--support", str(support), "--shots", "2,4", "--seeds", "2", "--method", "prototype",
                        "--json", str(js)], capsys)
    assert code == 0, err
    r = json.loads(js.read_text())
    from transzero.templates import TEMPLATE_SETS

    prompts = 3 * len(TEMPLATE_SETS["ensemble"])  # every class's name in the default prompt ensemble
    assert r["n_support_pool"] == 600
    assert r["n_support_encoded"] <= 2 * 4 * 3  # the union of the samples, far below the pool
    assert shared.items_encoded == prompts + 30 + r["n_support_encoded"]
    assert "few-shot: encoding 30 evaluation items and" in err and "of the 600 support items" in err


@pytest.mark.parametrize("target", ["input", "existing.parquet", "existing.jsonl", "nodir/x.parquet"])
def test_embed_follows_the_output_rules_before_encoding(tmp_path: Path, capsys, monkeypatch, target: str) -> None:
    import transzero.pipeline.stages as stages

    src = labelled_csv(tmp_path / "in.csv", 12)
    before = src.read_bytes()
    for name in ("existing.parquet", "existing.jsonl"):
        (tmp_path / name).write_text("keep me")
    out = src if target == "input" else tmp_path / target

    def no_encoding(*a, **k):
        raise AssertionError("encoded before the output was checked")

    monkeypatch.setattr(stages.EncodeStage, "run", no_encoding)
    code, _, err = run(["embed", str(src), *ENC, "-o", str(out)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    want = {"input": "is the input file", "existing.parquet": "already exists; pass --overwrite",
            "existing.jsonl": "already exists; pass --overwrite", "nodir/x.parquet": "does not exist; create it first"}
    assert want[target] in err
    assert src.read_bytes() == before
    assert (tmp_path / "existing.parquet").read_text() == "keep me" and (tmp_path / "existing.jsonl").read_text() == "keep me"
