"""Saved classifiers: one format for single- and multi-task, component-owned parts, atomic writes, old folders load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from transzero import LabelSpace, MultiTaskClassifier, ZeroShotClassifier, load_classifier
from transzero.errors import SavedModelError
from transzero.persistence import ModelFolder

FORMAT1 = Path(__file__).parent / "fixtures" / "format1"
TEXTS = ["a goal", "vote", "chip and software", "tennis"]


@pytest.mark.parametrize("name, expected", [("similarity", "expected_similarity.npy"), ("knn-calibrated", "expected_knn.npy")])
def test_format_1_folders_still_load(tmp_path: Path, name: str, expected: str) -> None:
    clf = load_classifier(FORMAT1 / name)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), np.load(FORMAT1 / expected), rtol=1e-6, atol=1e-12)
    again = load_classifier(clf.save(tmp_path / name))  # re-saved in the current format
    assert json.loads((tmp_path / name / "config.json").read_text())["format_version"] == 2
    np.testing.assert_allclose(again.predict_proba(TEXTS), np.load(FORMAT1 / expected), rtol=1e-6, atol=1e-12)


def test_format_1_multitask_loads_and_resaves_in_one_config(tmp_path: Path) -> None:
    mt = load_classifier(FORMAT1 / "multitask")
    assert isinstance(mt, MultiTaskClassifier)
    P = mt.predict_proba(TEXTS)
    np.testing.assert_allclose(P["topic"], np.load(FORMAT1 / "expected_mt_topic.npy"), rtol=1e-5)
    np.testing.assert_allclose(P["tone"], np.load(FORMAT1 / "expected_mt_tone.npy"), rtol=1e-5)
    d = mt.save(tmp_path / "mt")
    assert sorted(p.name for p in d.iterdir() if p.is_dir()) == []  # no sub-folders: one config, arrays beside it
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["kind"] == "multitask" and [t["name"] for t in cfg["tasks"]] == ["topic", "tone"]
    back = load_classifier(d)
    for t in ("topic", "tone"):
        np.testing.assert_allclose(back.predict_proba(TEXTS)[t], P[t], rtol=1e-6)


def test_every_file_is_named_by_bare_name(tmp_path: Path) -> None:
    d = ZeroShotClassifier(["sports", "politics"], encoder="test-keywords", method="knn").fit(["budget vote"], ["politics"]) \
        .save(tmp_path / "c")
    cfg = json.loads((d / "config.json").read_text())
    names = [*cfg["tasks"][0]["class_embeddings"].values(), *cfg["tasks"][0]["method"]["arrays"].values()]
    files = [n for n in names if isinstance(n, str) and n.endswith(".npy")]
    assert files and all("/" not in f and (d / f).is_file() for f in files)


def test_array_names_outside_the_folder_are_refused(tmp_path: Path) -> None:
    d = ZeroShotClassifier(["a", "b"], encoder="test-keywords").fit().save(tmp_path / "c")
    (tmp_path / "secret.npy").write_bytes(b"")
    np.save(tmp_path / "secret.npy", np.zeros((2, 16), np.float32))
    cfg = json.loads((d / "config.json").read_text())
    for bad in ("../secret.npy", str(tmp_path / "secret.npy")):
        cfg["tasks"][0]["class_embeddings"]["vectors"] = bad
        (d / "config.json").write_text(json.dumps(cfg))
        with pytest.raises(SavedModelError, match="not a bare"):
            load_classifier(d)
    (d / "link.npy").symlink_to(tmp_path / "secret.npy")
    cfg["tasks"][0]["class_embeddings"]["vectors"] = "link.npy"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SavedModelError, match="points outside the folder"):
        load_classifier(d)


def test_a_config_linked_to_a_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    d = ZeroShotClassifier(["a", "b"], encoder="test-keywords").fit().save(tmp_path / "c")
    outside = tmp_path / "elsewhere.json"
    (d / "config.json").rename(outside)  # a valid config, but not the folder's own file
    (d / "config.json").symlink_to(outside)
    with pytest.raises(SavedModelError, match="'config.json' points outside the folder; refusing to read it"):
        load_classifier(d)


def test_a_missing_model_folder_is_named_as_missing(tmp_path: Path, capsys) -> None:
    from .test_cli import run

    with pytest.raises(SavedModelError, match="no such folder; check the path"):
        load_classifier(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    code, _, err = run(["classify", str(f := tmp_path / "f.txt"), "--model", str(tmp_path / "nope")], capsys)
    assert code == 2 and "nope: no such folder" in err and "no config.json" not in err
    code, _, err = run(["classify", str(f), "--model", str(f)], capsys)
    assert code == 2 and "is a file, not a saved classifier folder" in err


def test_save_is_atomic_and_never_deletes_other_files(tmp_path: Path) -> None:
    clf = ZeroShotClassifier(["a", "b"], encoder="test-keywords").fit()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("precious")
    with pytest.raises(SavedModelError, match="other files"):
        clf.save(other)
    assert (other / "notes.txt").read_text() == "precious"
    d = clf.save(tmp_path / "c")
    ZeroShotClassifier(["x", "y", "z"], encoder="test-keywords").fit().save(d)  # replaces a saved classifier
    assert list(load_classifier(d).classes_) == ["x", "y", "z"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folders left

    class Boom(Exception):
        pass

    def explode(*a, **k):
        raise Boom

    original = ModelFolder.write_config
    ModelFolder.write_config = explode  # type: ignore[method-assign]
    try:
        with pytest.raises(Boom):
            clf.save(d)
    finally:
        ModelFolder.write_config = original  # type: ignore[method-assign]
    assert list(load_classifier(d).classes_) == ["x", "y", "z"]  # the old one is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unsupported_format_version(tmp_path: Path) -> None:
    d = ZeroShotClassifier(["a", "b"], encoder="test-keywords").fit().save(tmp_path / "c")
    cfg = json.loads((d / "config.json").read_text())
    cfg["format_version"] = 99
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SavedModelError, match="unsupported format_version 99"):
        load_classifier(d)


def test_components_write_their_own_parts(tmp_path: Path) -> None:
    clf = ZeroShotClassifier(LabelSpace(["a", "b"], descriptions={"a": ["alpha"]}), encoder="test-keywords").fit()
    clf.calibrate(["a", "b", "alpha"], ["a", "b", "a"])
    d = clf.save(tmp_path / "c")
    task = json.loads((d / "config.json").read_text())["tasks"][0]
    assert set(task) >= {"labels", "class_embeddings", "method", "calibration"}
    assert task["calibration"]["use_bias"] is True and len(task["calibration"]["bias"]) == 2
    assert task["method"]["name"] == "similarity" and task["labels"]["descriptions"] == {"a": ["alpha"]}
    shutil.rmtree(d)
