"""CLI contract of issue 6: --transductive / --unlabeled, --calibration + reliability, --reject, --multi-label."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import VOCAB
from .test_cli import ENC, LABELS, run

TOPIC_WORDS = {"sports": VOCAB[0:6], "politics": VOCAB[6:12], "technology": VOCAB[12:18]}


def topic_csv(path: Path, n_per: int, seed: int, extra: dict[str, list[str]] | None = None) -> Path:
    """Texts of 1-2 topic words plus filler; gold label = the topic of the first word."""
    rng = np.random.default_rng(seed)
    rows = [["text", "label"]]
    for label, words in TOPIC_WORDS.items():
        for _ in range(n_per):
            other = rng.choice([w for t, ws in TOPIC_WORDS.items() if t != label for w in ws])
            text = f"{rng.choice(words)} {rng.choice(words)} {other if rng.random() < 0.4 else ''} news today"
            rows.append([" ".join(text.split()), label])
    for label, texts in (extra or {}).items():
        rows += [[t, label] for t in texts]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_eval_transductive_reports_inductive_beside(tmp_path: Path, capsys) -> None:
    data = topic_csv(tmp_path / "d.csv", 20, 0)
    out = tmp_path / "r.json"
    code, stdout, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--transductive", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    # text's recipe: balance, self-train, checked against the method's surest labels
    assert r["transduction"]["fallback"] is None
    assert r["transduction"]["steps"] in (["balance", "self-train"], [])
    assert any(d["step"] == "check" for d in r["transduction"]["decisions"])
    assert {"accuracy", "macro_f1", "ece"} <= set(r["inductive"])
    assert r["accuracy"] >= r["inductive"]["accuracy"] - 0.01
    assert Path(r["reliability"]).is_file()  # written next to --json
    assert "inductive accuracy" in stdout


def test_eval_transductive_with_too_few_items_falls_back(tmp_path: Path, capsys) -> None:
    data = topic_csv(tmp_path / "d.csv", 2, 0)
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--transductive", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert "too few" in r["transduction"]["fallback"]
    assert r["accuracy"] == r["inductive"]["accuracy"]


def test_unlabeled_must_be_the_same_kind(tmp_path: Path, capsys) -> None:
    from PIL import Image

    data = topic_csv(tmp_path / "d.csv", 5, 0)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    Image.new("RGB", (8, 8)).save(imgs / "a.png")
    code, _, err = run(["classify", str(data), "--labels", LABELS, *ENC, "--unlabeled", str(imgs)], capsys)
    assert code == 2 and "--unlabeled holds image items but the input holds text items" in err
    more = topic_csv(tmp_path / "u.csv", 15, 3)
    code, out, err = run(["classify", str(data), "--labels", LABELS, *ENC, "--unlabeled", str(more)], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 15  # predictions for the input rows only


def test_eval_calibration_and_reject(tmp_path: Path, capsys) -> None:
    cal = topic_csv(tmp_path / "cal.csv", 8, 5)
    data = topic_csv(tmp_path / "d.csv", 10, 0, extra={"weather": ["rain and wind tomorrow", "sunny skies expected"]})
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--json", str(out)], capsys)
    assert code == 2 and "--reject" in err  # an unknown gold label without --reject
    code, stdout, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--calibration", str(cal), "--reject", "auto",
                             "--target-frr", "0.1", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["calibration"]["n_examples"] == 24 and r["calibration"]["temperature"] > 0
    o = r["open_set"]
    assert o["threshold_from"] == "calibration examples" and o["n_out_of_scope"] == 2
    assert 0.0 <= o["rejection_auroc"] <= 1.0 and o["out_of_scope_recall"] >= 0.5
    assert "out_of_scope_recall" in stdout
    code, _, _ = run(["eval", str(data), "--labels", LABELS, *ENC, "--reject", "0", "--json", str(out)], capsys)
    assert json.loads(out.read_text())["open_set"]["rejection_rate"] == 0.0
    code, _, _ = run(["eval", str(data), "--labels", LABELS, *ENC, "--reject", "1", "--json", str(out)], capsys)
    assert json.loads(out.read_text())["open_set"]["rejection_rate"] == 1.0
    code, _, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--reject", "1.5"], capsys)
    assert code == 2 and "outside [0, 1]" in err


def test_classify_multi_label_and_reject(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.txt"
    src.write_text("a goal for the team and a vote in parliament\nthe new phone chip\nnothing relevant here\n")
    dst = tmp_path / "out.csv"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--multi-label", "-o", str(dst)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(dst.open()))
    assert set(rows[0]["labels"].split(";")) == {"sports", "politics"}
    assert rows[1]["labels"] == "technology"
    code, _, _ = run(["classify", str(src), "--labels", LABELS, *ENC, "--multi-label", "--threshold", "0", "-o", str(dst), "--overwrite"], capsys)
    assert all(len(r["labels"].split(";")) == 3 for r in csv.DictReader(dst.open()))
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--multi-label", "--threshold", "2"], capsys)
    assert code == 2 and "outside [0, 1]" in err
    code, out, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--reject", "0.6"], capsys)
    recs = [json.loads(line) for line in out.splitlines()]
    assert recs[2]["label"] == "none" and recs[1]["label"] == "technology"
    assert all("score" in r for r in recs)


def test_python_api_composes(tmp_path: Path, keyword_encoder) -> None:
    from transzero import ZeroShotClassifier, load_classifier
    from transzero.transductive import Transduction

    texts = ["a goal for the team", "the budget vote", "new software for the phone", "the striker scored"] * 15
    gold = ["sports", "politics", "technology", "sports"] * 15
    clf = ZeroShotClassifier(LABELS.split(","), encoder=keyword_encoder).fit()
    P = clf.transduce(texts, transduction=Transduction(k=5))
    assert P.shape == (60, 3) and clf.transduction_info_["steps"] == ["propagate", "balance"]
    clf.calibrate(texts[:12], gold[:12])
    assert clf.calibrator_.temperature_ > 0
    clf.save(tmp_path / "c")
    again = load_classifier(tmp_path / "c")
    np.testing.assert_allclose(again.predict_proba(texts[:4]), clf.predict_proba(texts[:4]), rtol=1e-6)
    assert list(clf.predict_open_set(["nothing relevant here"], 0.9)) == ["none"]
    assert clf.predict_multilabel(["a goal and a vote"], threshold=0.5)[0] == ["sports", "politics"]
    with pytest.raises(Exception, match="not one of the classes"):
        clf.calibrate(["x"], ["weather"])
    with pytest.raises(Exception, match="encode the unlabelled items with this classifier"):
        clf.predict_batch(texts, transduction=Transduction(), unlabeled=np.zeros((50, 7), np.float32))


def test_learning_curve_with_transduction(tmp_path: Path, capsys) -> None:
    data = topic_csv(tmp_path / "d.csv", 20, 0)
    sup = topic_csv(tmp_path / "s.csv", 6, 9)
    out = tmp_path / "c.json"
    code, _, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--support", str(sup), "--shots", "0,2",
                        "--seeds", "2", "--method", "prototype", "--transductive", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["transductive"] is True
    assert all("inductive_accuracy_mean" in row for row in r["curve"])
    code, _, err = run(["eval", str(data), "--labels", LABELS, *ENC, "--support", str(sup), "--shots", "2",
                        "--reject", "0.5"], capsys)
    assert code == 2 and "learning curves take --transductive" in err


def test_eval_audio_manifest_few_shot(tmp_path: Path, capsys) -> None:
    """Audio through the same CLI path: a manifest CSV with an audio column; bad clips reported, the run goes on."""
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("resemblyzer")
    from .encoders.test_audio import SR, vowel

    rows = ["audio,speaker"]
    for spk, (f0, formants) in {"low": (110, (700, 1200)), "high": (220, (400, 2200))}.items():
        for i in range(4):
            name = f"{spk}{i}.wav"
            sf.write(tmp_path / name, vowel(f0 + 3 * i, formants), SR)
            rows.append(f"{name},{spk}")
    sf.write(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    rows.append("silent.wav,low")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(tmp_path / "m.csv"), "--audio-column", "audio", "--label-column", "speaker",
                        "--support", str(tmp_path / "m.csv"), "--shots", "1", "--seeds", "2", "--encoder", "speaker-ge2e",
                        "--method", "prototype", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["encoder"] == "speaker-ge2e" and r["n"] == 8
    assert r["accuracy"] > 0.9
    assert any("silent" in s["error"] for s in r["skipped"])
    assert "silent.wav" in err


def test_asr_transduction_pairs_mfcc_vectors_and_refuses_early(tmp_path: Path, capsys, monkeypatch) -> None:
    """asr-grammar reads clips; --transductive adapts over the mfcc vectors of the same clips. Combinations that
    are not supported fail before any clip is decoded."""
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("pocketsphinx")
    from transzero.data import audio as audio_mod

    rng = np.random.default_rng(0)
    rows = ["audio,label"]
    for i in range(45):
        name = f"c{i}.wav"
        t = np.arange(8000) / 16000
        sf.write(tmp_path / name, (0.2 * np.sin(2 * np.pi * (200 + 40 * (i % 3)) * t) + 0.01 * rng.standard_normal(8000))
                 .astype(np.float32), 16000)
        rows.append(f"{name},{['zero', 'one', 'two'][i % 3]}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    base = ["eval", str(tmp_path / "m.csv"), "--audio-column", "audio", "--method", "asr-grammar", "--encoder", "mfcc",
            "--no-cache"]
    decoded: list[object] = []
    real = audio_mod.load_audio
    monkeypatch.setattr(audio_mod, "load_audio", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    code, _, err = run(base + ["--transductive", "--unlabeled", str(tmp_path / "m.csv")], capsys)
    assert code == 2 and "--unlabeled is not supported" in err and not decoded
    out = tmp_path / "r.json"
    code, _, err = run(base + ["--transductive", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert "inductive" in r
    pair, guard = r["transduction"]["decisions"][:2]
    # pocketsphinx's guesses on tones do not follow the MFCC neighbourhoods: the guard keeps the inductive answer
    assert guard["step"] == "guard" and r["transduction"]["steps"] == ([] if guard["agreement"] < 0.5
                                                                       else ["propagate", "balance"])
    assert pair["step"] == "pair" and pair["encoder"] == "mfcc" and "z-scored" in pair["why"]
    assert "pairing asr-grammar with mfcc vectors" in err
