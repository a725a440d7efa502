"""Hostile files, tampered models, careless inputs: each ends in a one-line error or a per-row report."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transzero import ZeroShotClassifier, load_classifier
from transzero.errors import InputError, SavedModelError

from .test_cli import ENC, LABELS, run


# ---------------------------------------------------------------------- saved classifiers are untrusted
@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return ZeroShotClassifier(["sports", "politics"], encoder="test-keywords", method="knn") \
        .fit(["budget vote"], ["politics"]).save(tmp_path / "clf")


def _cfg(d: Path) -> dict:
    return json.loads((d / "config.json").read_text())


def _write(d: Path, cfg: object) -> None:
    (d / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("tamper, match", [
    (lambda c: [c], "holds a list, not an object"),
    (lambda c: {k: v for k, v in c.items() if k != "encoder"}, "encoder: Field required"),
    (lambda c: {**c, "format_version": 7}, "unsupported format_version 7"),
    (lambda c: {**c, "format_version": "2"}, "unsupported format_version '2'"),
    (lambda c: {**c, "tasks": []}, "tasks: List should have at least 1 item"),
    (lambda c: {**c, "surprise": 1}, "surprise: Extra inputs are not permitted"),
    (lambda c: _set(c, ["tasks", 0, "method", "params", "n_neighborz"], 3), "unknown parameter 'n_neighborz'"),
    (lambda c: _set(c, ["tasks", 0, "method", "params", "n_neighbors"], "many"), "parameter 'n_neighbors'"),
    (lambda c: _set(c, ["tasks", 0, "method", "name"], "os.system"), "unknown method 'os.system'"),
    (lambda c: _set(c, ["tasks", 0, "labels", "names"], "sports"), "labels.names: Input should be a valid list"),
    (lambda c: _set(c, ["tasks", 0, "method", "state"], {}), "cannot be restored"),
    (lambda c: _set(c, ["encoder", "fingerprint"], "x"), "String should match pattern"),
    (lambda c: _set(c, ["tasks", 0, "calibration"], {"bias_l2": 0.1, "temperature": -1, "bias": [0, 0]}),
     "greater than 0"),
])
def test_tampered_configs_are_one_line_errors(saved: Path, tamper, match: str) -> None:
    _write(saved, tamper(_cfg(saved)))
    with pytest.raises(SavedModelError, match=match) as exc:
        load_classifier(saved)
    assert "\n" not in str(exc.value)


def _set(cfg: dict, path: list, value: object) -> dict:
    node = cfg
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return cfg


@pytest.mark.parametrize("array, match", [
    (lambda a: a[:, :3], "do not match the class vectors"),
    (lambda a: np.full_like(a, np.nan), "NaN or infinite"),
    (lambda a: np.full_like(a, np.inf), "NaN or infinite"),
    (lambda a: a[:1], r"has shape \(1, 16\), expected \(2, dim\)"),
])
def test_bad_arrays_are_refused(saved: Path, array, match: str) -> None:
    f = saved / "class_vectors.npy"
    np.save(f, array(np.load(f)))
    with pytest.raises(SavedModelError, match=match):
        load_classifier(saved)


def test_method_arrays_that_do_not_fit_are_refused(saved: Path) -> None:
    f = saved / "method.bank_vectors_.npy"
    np.save(f, np.load(f)[:, :5])
    with pytest.raises(SavedModelError, match="does not work"):
        load_classifier(saved)


def test_truncated_and_pickled_arrays(saved: Path) -> None:
    f = saved / "class_vectors.npy"
    f.write_bytes(f.read_bytes()[:90])
    with pytest.raises(SavedModelError, match="cannot read class_vectors.npy"):
        load_classifier(saved)
    np.save(f, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(SavedModelError, match="pickle"):
        load_classifier(saved)


def test_a_pickled_encoder_file_is_never_loaded(tmp_path: Path, tiny_hf_dir: Path) -> None:
    clf = ZeroShotClassifier(["sports", "politics"], encoder=f"hf:{tiny_hf_dir}").fit()
    clf.encoder_.finetuned_dir = tiny_hf_dir  # as a fine-tuned text encoder would be: its folder travels
    d = clf.save(tmp_path / "ft")
    assert (d / "encoder" / "config.json").is_file()
    (d / "encoder" / "pytorch_model.bin").write_bytes(b"\x80\x04 not really a pickle")
    with pytest.raises(SavedModelError, match="pytorch_model.bin is a pickle file"):
        load_classifier(d)
    (d / "encoder" / "pytorch_model.bin").unlink()
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    (d / "encoder" / "extra.json").symlink_to(outside)
    with pytest.raises(SavedModelError, match="points outside the folder"):
        load_classifier(d)


def test_a_saved_hub_encoder_never_reaches_the_network(saved: Path) -> None:
    from . import conftest

    cfg = _cfg(saved)
    cfg["encoder"]["name"] = cfg["label_encoder"]["name"] = "hub:someone/some-model"
    _write(saved, cfg)
    with pytest.raises(SavedModelError, match="downloads from the network; pass allow_download=True"):
        load_classifier(saved)
    assert conftest.NETWORK_ATTEMPTS == []


def test_encoder_paths_outside_the_folder_need_the_user(saved: Path, tiny_hf_dir: Path) -> None:
    cfg = _cfg(saved)
    cfg["encoder"]["kwargs"] = {"weights": "/etc/passwd"}
    _write(saved, cfg)
    with pytest.raises(SavedModelError, match="names a file outside the folder"):
        load_classifier(saved)
    cfg["encoder"]["kwargs"] = {}
    cfg["encoder"]["name"] = f"hf:{tiny_hf_dir}"
    _write(saved, cfg)
    with pytest.raises(SavedModelError, match="reads files outside the folder"):
        load_classifier(saved)


def test_cli_with_a_tampered_model_is_one_line(saved: Path, tmp_path: Path, capsys) -> None:
    items = tmp_path / "x.txt"
    items.write_text("a goal\n")
    cfg = _cfg(saved)
    cfg["tasks"][0]["class_embeddings"]["vectors"] = "../../../etc/passwd"
    _write(saved, cfg)
    code, _, err = run(["classify", str(items), "--model", str(saved)], capsys)
    assert code == 2 and "not a bare array file name" in err and "Traceback" not in err


# ---------------------------------------------------------------------- inputs
def test_unterminated_quote_is_reported_and_later_rows_kept(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    src.write_text('text\na goal for the team\n"the budget vote\nnew phone chip\nthe striker scored\n')
    out = tmp_path / "out.csv"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(out)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(out.open()))
    assert [r["label"] for r in rows] == ["sports", "", "technology", "sports"]
    assert "never closes" in rows[1]["error"] and "row 2: a quoted field opens but never closes" in err


def test_spreadsheet_formulas_are_neutralised(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows([["=1+1", "=HYPERLINK(\"http://x\") goal"], ["@SUM(A1)", "+the vote"], ["-3", "-new chip"]])
    labels = tmp_path / "l.txt"
    labels.write_text("=cmd|' /C calc'!A0\n+politics\n@technology\n")
    for suffix in (".csv", ".tsv"):
        out = tmp_path / f"out{suffix}"
        code, _, err = run(["classify", str(src), "--labels-file", str(labels), *ENC, "-o", str(out)], capsys)
        assert code == 0, err
        body = out.read_text()
        cells = [c for line in body.splitlines()[1:] for c in next(csv.reader([line], delimiter="\t" if suffix == ".tsv" else ","))]
        assert not any(c.startswith(("=", "+", "-", "@")) for c in cells), cells
        assert "'=HYPERLINK" in body and "'@SUM(A1)" in body
    out = tmp_path / "out.jsonl"
    run(["classify", str(src), "--labels-file", str(labels), *ENC, "-o", str(out)], capsys)
    first = json.loads(out.read_text().splitlines()[0])
    assert first["text"].startswith("=HYPERLINK") and first["id"] == "=1+1"  # JSON stays raw


def test_undecodable_bytes_never_break_an_output(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\n\xff\xfe,a goal\nok,\xfd bad text\n")
    for suffix in (".csv", ".tsv", ".jsonl", ".json"):
        out = tmp_path / f"o{suffix}"
        code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(out)], capsys)
        assert code == 0, err
        text = out.read_bytes().decode("utf-8")
        assert "\ufffd" in text or "\\ufffd" in text


def test_lone_surrogate_is_reported_for_that_item_only() -> None:
    clf = ZeroShotClassifier(["sports", "politics", "technology"], encoder="test-keywords").fit()
    res = clf.predict_batch(["a goal", "bad \udcff text", "the vote"])
    assert res.labels[0] == "sports" and res.labels[2] == "politics" and res.labels[1] is None
    assert "lone surrogate" in res.errors[1]
    with pytest.raises(InputError, match=r"items\[1\]: character 5 .* lone surrogate"):
        clf.predict(["a goal", "bad \udcff text"])


def test_a_huge_text_is_clipped_before_tokenising(tiny_hf_dir: Path) -> None:
    from transzero import create_encoder
    from transzero.encoders.base import clip_text

    enc = create_encoder(f"hf:{tiny_hf_dir}")
    huge = "the match goal " * 400_000  # 6 MB
    clipped = clip_text(huge, enc.max_length)
    assert len(clipped) <= enc.max_length * 100
    np.testing.assert_allclose(enc.encode([huge]), enc.encode([clipped]), rtol=1e-6)


@pytest.mark.slow
def test_a_huge_16_bit_png_stays_within_memory(tmp_path: Path) -> None:
    from PIL import Image

    a = np.zeros((7900, 7900), dtype=np.uint16)
    a[::97] = 60000
    Image.fromarray(a).save(tmp_path / "big.png")
    for i in range(5):
        os.link(tmp_path / "big.png", tmp_path / f"big{i}.png")
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(tmp_path / "small.png")
    code = """
import resource, sys
from transzero import create_encoder
enc = create_encoder("efficientnet-lite0")
enc.encode([sys.argv[1]])
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
X, errors = enc.encode_report(sys.argv[2:])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) / 1024, len(errors))
"""
    big = [str(tmp_path / "big.png")] + [str(tmp_path / f"big{i}.png") for i in range(5)]
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "small.png"), *big], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    extra_mb, n_errors = out.stdout.split()
    assert int(n_errors) == 0 and float(extra_mb) < 300, out.stdout


def test_an_image_too_large_to_decode_is_a_row_error(tmp_path: Path) -> None:
    from PIL import Image

    from transzero.data.images import MAX_DECODE_BYTES, load_image

    p = tmp_path / "wide.png"
    Image.new("RGBA", (12000, 6000)).save(p)  # 288 MB as RGBA pixels
    assert 12000 * 6000 * 4 > MAX_DECODE_BYTES
    with pytest.raises(InputError, match="MB to decode .* downscale it first"):
        load_image(p)


# ---------------------------------------------------------------------- quiet and honest
def test_models_prints_no_deprecation_warning() -> None:
    out = subprocess.run([sys.executable, "-m", "transzero", "models"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "pkg_resources" not in out.stderr and "Warning" not in out.stderr, out.stderr


def test_message_nits(tmp_path: Path, capsys) -> None:
    code, _, err = run(["classify", str(tmp_path / "photos"), "--labels", LABELS, *ENC], capsys)
    assert code == 2 and "no such file or folder" in err
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a goal"}\n{"text": "the vote", oops}\n')
    code, out, err = run(["classify", str(src), "--labels", LABELS, *ENC], capsys)
    assert "invalid JSON at column" in err and "1 bad row reported" in err and "1 bad rows" not in err
