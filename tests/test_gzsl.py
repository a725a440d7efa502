"""GZSL evaluation driver, splits, and the `transzero eval` GZSL paths (xlsa17 folder, text + split file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero.errors import InputError
from transzero.gzsl import GZSLSplit, evaluate_gzsl, read_split
from transzero.labels import LabelSpace
from transzero.methods import create_method

from .test_cli import run

KEYS = {"zsl_accuracy", "seen_accuracy", "unseen_accuracy", "harmonic_mean", "ausuc", "gamma"}


def synthetic(n_classes: int = 12, n_unseen: int = 4, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    S = (rng.random((n_classes, 20)) < 0.4).astype(float)
    M = rng.normal(size=(20, 48))
    names = [f"k{i}" for i in range(n_classes)]

    def sample(k: int, n: int) -> np.ndarray:
        return S[k] @ M + 1.5 * rng.normal(size=(n, 48))

    seen, unseen = names[: n_classes - n_unseen], names[n_classes - n_unseen:]
    X = np.vstack([sample(k, 30) for k in range(n_classes)])  # includes unseen-class rows: must be ignored
    y = [names[k] for k in range(n_classes) for _ in range(30)]
    Xt = np.vstack([sample(k, 15) for k in range(n_classes)])
    yt = [names[k] for k in range(n_classes) for _ in range(15)]
    return {"S": S, "names": names, "seen": seen, "unseen": unseen, "X": X, "y": y, "Xt": Xt, "yt": yt,
            "ce": LabelSpace.from_attributes(names, S).embed(None)}


def test_evaluate_gzsl_report_and_ignored_rows() -> None:
    d = synthetic()
    split = GZSLSplit(d["seen"], d["unseen"])
    r = evaluate_gzsl(create_method("eszsl"), d["X"], d["y"], d["Xt"], d["yt"], d["ce"], split)
    assert KEYS <= set(r)
    assert r["n_ignored_unseen_support"] == 4 * 30
    assert r["n_train"] == 8 * 30
    assert r["n_seen_test"] == 8 * 15 and r["n_unseen_test"] == 4 * 15
    assert r["zsl_accuracy"] > 0.5  # chance 0.25
    assert np.isfinite(r["gamma"]) and r["gamma_chosen_on"] == "validation classes"
    h = r["harmonic_mean"]
    assert h == pytest.approx(2 * r["seen_accuracy"] * r["unseen_accuracy"] / (r["seen_accuracy"] + r["unseen_accuracy"]))
    fixed = evaluate_gzsl(create_method("eszsl"), d["X"], d["y"], d["Xt"], d["yt"], d["ce"], split, gamma=0.0)
    assert fixed["gamma"] == 0.0
    assert fixed["seen_accuracy"] == pytest.approx(fixed["uncalibrated"]["seen_accuracy"])
    assert fixed["ausuc"] == pytest.approx(r["ausuc"])  # AUSUC does not depend on gamma


def test_gamma_never_looks_at_test_labels() -> None:
    d = synthetic()
    split = GZSLSplit(d["seen"], d["unseen"])
    a = evaluate_gzsl(create_method("sae"), d["X"], d["y"], d["Xt"], d["yt"], d["ce"], split)
    shuffled = list(np.random.default_rng(1).permutation(d["yt"]))
    b = evaluate_gzsl(create_method("sae"), d["X"], d["y"], d["Xt"], shuffled, d["ce"], split)
    assert a["gamma"] == b["gamma"]


def test_split_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'b' is on both sides"):
        GZSLSplit(["a", "b"], ["b", "c"])
    with pytest.raises(InputError, match="not a seen class"):
        GZSLSplit(["a", "b", "c"], ["d"], val=["d"])
    with pytest.raises(InputError, match="no unseen classes"):
        GZSLSplit(["a", "b"], [])
    p = tmp_path / "split.json"
    p.write_text(json.dumps({"seen": ["a", "b", "c"], "unseen": ["d"], "val": ["a"]}))
    s = read_split(p)
    assert s.classes == ["a", "b", "c", "d"] and s.val == ["a"]
    (tmp_path / "seen.txt").write_text("# seen\na\nb\n\n")
    (tmp_path / "unseen.txt").write_text("c\n")
    s2 = read_split(seen=tmp_path / "seen.txt", unseen=tmp_path / "unseen.txt")
    assert s2.seen == ["a", "b"] and s2.unseen == ["c"]
    p.write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        read_split(p)
    with pytest.raises(InputError, match="both --seen-classes"):
        read_split(seen=tmp_path / "seen.txt")


def test_labels_outside_the_split_and_seen_class_without_examples() -> None:
    d = synthetic()
    with pytest.raises(InputError, match="neither the seen nor the unseen"):
        evaluate_gzsl(create_method("eszsl"), d["X"], d["y"], d["Xt"], d["yt"], d["ce"],
                      GZSLSplit(d["seen"][:-1], d["unseen"]))
    keep = [i for i, v in enumerate(d["y"]) if v != "k0"]
    with pytest.raises(InputError, match="'k0' has no training examples"):
        evaluate_gzsl(create_method("eszsl"), d["X"][keep], [d["y"][i] for i in keep], d["Xt"], d["yt"], d["ce"],
                      GZSLSplit(d["seen"], d["unseen"]))


# ---------------------------------------------------------------------------- CLI


def _xlsa17_folder(root: Path) -> Path:
    from scipy.io import savemat

    d = synthetic(n_classes=10, n_unseen=3)
    folder = root / "TOY"
    folder.mkdir()
    att = d["S"] / np.linalg.norm(d["S"], axis=1, keepdims=True)
    X = np.vstack([d["X"], d["Xt"]])
    labels = np.asarray([d["names"].index(v) + 1 for v in d["y"] + d["yt"]])  # 1-based
    n_tr = len(d["y"])
    seen_idx = set(range(7))
    trainval = [i for i in range(n_tr) if labels[i] - 1 in seen_idx]
    test_seen = [i for i in range(n_tr, len(labels)) if labels[i] - 1 in seen_idx]
    test_unseen = [i for i in range(n_tr, len(labels)) if labels[i] - 1 not in seen_idx]
    savemat(folder / "att_splits.mat", {
        "att": att.T, "original_att": d["S"].T,
        "allclasses_names": np.array([[np.array([n])] for n in d["names"]], dtype=object),
        "trainval_loc": np.asarray(trainval)[:, None] + 1, "test_seen_loc": np.asarray(test_seen)[:, None] + 1,
        "test_unseen_loc": np.asarray(test_unseen)[:, None] + 1,
    })
    savemat(folder / "res101.mat", {"features": X.T, "labels": labels[:, None],
                                    "image_files": np.array([[np.array([f"img{i}.jpg"])] for i in range(len(labels))], dtype=object)})
    return folder


def test_cli_eval_xlsa17_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _xlsa17_folder(tmp_path)
    out = tmp_path / "r.json"
    code, stdout, stderr = run(["eval", str(folder), "--method", "eszsl", "--json", str(out), "-q"], capsys)
    assert code == 0, stderr
    r = json.loads(out.read_text())
    assert KEYS <= set(r)
    assert r["method"] == "eszsl" and r["dataset"] == "TOY" and r["semantics"] == "attributes"
    assert r["n_seen_classes"] == 7 and r["n_unseen_classes"] == 3
    assert r["zsl_accuracy"] > 0.5
    assert "ZSL" in stdout
    code, _, _ = run(["eval", str(folder), "--method", "eszsl,dap", "--gamma", "0", "--json", str(out), "-q"], capsys)
    assert code == 0
    r = json.loads(out.read_text())
    assert [x["method"] for x in r["results"]] == ["eszsl", "dap"] and all(x["gamma"] == 0.0 for x in r["results"])


def test_cli_eval_xlsa17_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _xlsa17_folder(tmp_path)
    code, _, stderr = run(["eval", str(folder), "--method", "similarity"], capsys)
    assert code == 2 and "does not learn from seen classes" in stderr and "Traceback" not in stderr
    code, _, stderr = run(["eval", str(folder), "--gamma", "lots"], capsys)
    assert code == 2 and "--gamma must be a number" in stderr
    (folder / "res101.mat").unlink()
    code, _, stderr = run(["eval", str(folder)], capsys)
    assert code == 2 and "res101.mat" in stderr and len(stderr.strip().splitlines()) == 1


# Text path: features from the keyword encoder count topic words; a class is a set of topics (its
# attributes), so unseen topic combinations must be recognised from the seen ones.
TOPIC_WORDS = {"sports": ["match", "goal", "team", "striker"], "politics": ["election", "parliament", "vote", "senator"],
               "technology": ["phone", "chip", "software", "compiler"]}
CLASSES = {"sport": ["sports"], "polit": ["politics"], "tech": ["technology"], "sport_polit": ["sports", "politics"],
           "polit_tech": ["politics", "technology"], "sport_tech": ["sports", "technology"]}


def _texts(path: Path, classes: list[str], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = ["text,label"]
    for c in classes:
        for _ in range(n):
            words = [w for t in CLASSES[c] for w in rng.choice(TOPIC_WORDS[t], size=2, replace=False)]
            lines.append(f"{' '.join(rng.permutation(words))} today,{c}")
    path.write_text("\n".join(lines) + "\n")


def test_cli_eval_text_with_split_and_attributes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen = ["sport", "polit", "tech", "sport_polit"]
    unseen = ["polit_tech", "sport_tech"]
    _texts(tmp_path / "train.csv", seen + ["polit_tech"], 12, 0)  # one unseen class leaks into the support file
    _texts(tmp_path / "test.csv", seen + unseen, 8, 1)
    (tmp_path / "split.json").write_text(json.dumps({"seen": seen, "unseen": unseen}))
    attrs = ["class,sports,politics,technology"] + [
        f"{c},{int('sports' in t)},{int('politics' in t)},{int('technology' in t)}" for c, t in CLASSES.items()]
    (tmp_path / "attrs.csv").write_text("\n".join(attrs) + "\n")
    out = tmp_path / "r.json"
    code, _, stderr = run(["eval", str(tmp_path / "test.csv"), "--support", str(tmp_path / "train.csv"),
                           "--split", str(tmp_path / "split.json"), "--attributes", str(tmp_path / "attrs.csv"),
                           "--encoder", "test-keywords", "--method", "eszsl", "--gamma", "0", "--json", str(out)], capsys)
    assert code == 0, stderr
    r = json.loads(out.read_text())
    assert KEYS <= set(r)
    assert r["n_ignored_unseen_support"] == 12
    assert "12 training example(s) of unseen classes were ignored" in stderr
    assert r["semantics"] == "attributes" and r["encoder"] == "test-keywords"
    assert r["zsl_accuracy"] > 0.75
    # a class missing from the attribute table is named
    (tmp_path / "attrs.csv").write_text("\n".join(attrs[:-1]) + "\n")
    code, _, stderr = run(["eval", str(tmp_path / "test.csv"), "--support", str(tmp_path / "train.csv"),
                           "--split", str(tmp_path / "split.json"), "--attributes", str(tmp_path / "attrs.csv"),
                           "--encoder", "test-keywords", "--method", "eszsl"], capsys)
    assert code == 2 and "'sport_tech' has no row" in stderr
    code, _, stderr = run(["eval", str(tmp_path / "test.csv"), "--split", str(tmp_path / "split.json"),
                           "--encoder", "test-keywords", "--method", "eszsl"], capsys)
    assert code == 2 and "--support" in stderr


def test_classifier_with_attributes_fits_saves_and_loads(tmp_path: Path, keyword_encoder) -> None:
    """ZeroShotClassifier end to end: raw texts of seen classes -> unseen topic combinations; save/load."""
    from transzero import ZeroShotClassifier, load_classifier
    from transzero.data import read_text_table

    names = list(CLASSES)
    A = np.asarray([[int(t in CLASSES[c]) for t in ("sports", "politics", "technology")] for c in names], dtype=float)
    space = LabelSpace.from_attributes(names, A, ["sports", "politics", "technology"])
    _texts(tmp_path / "train.csv", ["sport", "polit", "tech", "sport_polit"], 12, 0)
    _texts(tmp_path / "test.csv", ["polit_tech", "sport_tech"], 10, 1)
    tr = read_text_table(tmp_path / "train.csv", label_column="label")
    te = read_text_table(tmp_path / "test.csv", label_column="label")
    clf = ZeroShotClassifier(space, encoder=keyword_encoder, method="eszsl",
                             method_params={"candidates": "unseen"}).fit(tr.texts, tr.labels)
    pred = clf.predict(te.texts)
    assert np.mean(pred == np.asarray(te.labels, dtype=object)) > 0.75
    ex = clf.explain(te.texts[:1], top=2)[0]
    assert {a["attribute"] for a in ex["attributes"]} <= {"sports", "politics", "technology"}
    clf.save(tmp_path / "clf")
    again = load_classifier(tmp_path / "clf")
    np.testing.assert_array_equal(again.predict(te.texts), pred)
