"""Long jobs talk: whole-job progress, a resume line at the start, what Ctrl-C kept, one line per model build
(no repeated "0/50 items" meanwhile), progress for large label sets."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


from ..test_cli import ENC, LABELS, run
from .test_safety import SLOW_CLI, _wait_for_count, labelled_csv


def test_progress_counts_the_whole_job_and_names_the_shard(tmp_path: Path, capsys) -> None:
    src = labelled_csv(tmp_path / "in.csv", 250)
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{tmp_path / 'o'}/", "--shard-size",
                        "100", "--no-cache"], capsys)
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if re.match(r"classify shard \d/3 ", ln)]
    assert lines[0] == "classify shard 1/3 0/250 rows"
    assert lines[-1].startswith("classify shard 3/3 250/250 rows") and "done in" in lines[-1]
    assert not [ln for ln in err.splitlines() if re.match(r"encode \d+/100 items", ln)]  # no per-shard counters
    # resumed: said at the start, and the reused rows count towards the job
    (tmp_path / "o" / "part-00001.parquet").unlink()
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", f"{tmp_path / 'o'}/", "--shard-size",
                        "100", "--no-cache"], capsys)
    assert code == 0, err
    lines = err.splitlines()
    resume = lines.index("resuming: 2 of 3 shards reused")
    first = next(i for i, ln in enumerate(lines) if ln.startswith("classify shard"))
    assert resume < first
    assert [ln for ln in lines if ln.startswith("classify shard")][-1].startswith("classify shard 2/3 250/250 rows")


def _interrupt(args: list[str], tmp_path: Path, at_least: int) -> subprocess.CompletedProcess[str]:
    count = tmp_path / "count"
    env = {**os.environ, "TRANSZERO_CACHE_DIR": str(tmp_path / "cache"), "TZ_SLOW_SECONDS": "0.004",
           "TZ_SLOW_COUNT": str(count)}
    proc = subprocess.Popen([sys.executable, str(SLOW_CLI), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,  # (Ctrl-C's default action, even if ignored here)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for_count(count, at_least, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, "", err)


def test_ctrl_c_says_how_many_shards_are_done_and_how_to_resume(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 800)
    res = _interrupt(["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "--shard-size", "100",
                      "-o", f"{tmp_path / 'out'}/"], tmp_path, 330)
    assert res.returncode == 130, res.stderr
    m = re.search(r"interrupted: (\d)/8 shards done; rerun the same command to resume", res.stderr)
    assert m and int(m.group(1)) >= 2 and "Traceback" not in res.stderr, res.stderr
    again = subprocess.run([sys.executable, str(SLOW_CLI), "classify", str(data), "--labels", LABELS, "--encoder",
                            "test-slow", "--shard-size", "100", "-o", f"{tmp_path / 'out'}/"],
                           env={**os.environ, "TRANSZERO_CACHE_DIR": str(tmp_path / "cache")},
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"resuming: {m.group(1)} of 8 shards reused" in again.stderr


def test_ctrl_c_of_a_single_file_job_says_what_the_cache_kept(tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "d.csv", 600)
    res = _interrupt(["classify", str(data), "--labels", LABELS, "--encoder", "test-slow", "-o",
                      str(tmp_path / "p.csv")], tmp_path, 200)
    assert res.returncode == 130, res.stderr
    m = re.search(r"interrupted: (\d+)/600 items encoded and kept in the embedding cache; rerun the same command "
                  r"to resume", res.stderr)
    assert m and int(m.group(1)) >= 100 and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "p.csv").exists()


def test_no_progress_ticks_while_a_model_is_built() -> None:
    from transzero.encoders.model_cache import building
    from transzero.pipeline import LineProgress

    stream = io.StringIO()
    p = LineProgress("encode", 50, stream, interval=0.2).start()
    with building("some-model", Path(".")):
        time.sleep(0.9)  # the build: it printed one line saying so; no "encode 0/50 items" every 0.2 s
    p.advance(50)
    p.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "encode 0/50 items" and len(lines) == 2 and lines[-1].startswith("encode 50/50 items")


def test_a_large_label_set_reports_its_encoding(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.txt"
    src.write_text("a goal for the team\n")
    labels = ",".join(f"class {i}" for i in range(60))  # x its prompt templates: hundreds of texts to encode
    code, _, err = run(["classify", str(src), "--labels", labels, *ENC, "--no-cache"], capsys)
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("encode labels (60 classes)")]
    assert lines and re.match(r"encode labels \(60 classes\) 0/\d+ prompts", lines[0])
    total = int(lines[0].split("/")[1].split()[0])
    assert total >= 500 and lines[-1].startswith(f"encode labels (60 classes) {total}/{total} prompts")
    code, _, err = run(["classify", str(src), "--labels", "a,b,c", *ENC, "--no-cache"], capsys)
    assert "encode labels" not in err  # a few labels encode in no time: no line
