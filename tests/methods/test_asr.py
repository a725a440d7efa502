"""Speech methods over pocketsphinx: grammar building, dictionary errors, per-item reports, shapes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")
pytest.importorskip("soundfile")

from transzero import ZeroShotClassifier  # noqa: E402
from transzero.errors import InputError, LabelError  # noqa: E402
from transzero.methods.asr import label_phrase  # noqa: E402

DIGITS = "zero one two three four five six seven eight nine".split()


def test_label_phrases() -> None:
    assert label_phrase("card_arrival") == "card arrival"
    assert label_phrase("Top-Up") == "top up"
    assert label_phrase("don't") == "don't"


def test_grammar_refuses_words_outside_the_dictionary() -> None:
    clf = ZeroShotClassifier(["zero", "qwzxv"], encoder="mfcc", method="asr-grammar")
    with pytest.raises(InputError, match="label 'qwzxv': the word 'qwzxv' is not in the recogniser's English dictionary"):
        clf.fit()
    with pytest.raises(LabelError, match="differ only in case, spacing or punctuation"):  # refused by the label space
        ZeroShotClassifier(["card_arrival", "card arrival"], encoder="mfcc", method="asr-grammar").fit()
    with pytest.raises(InputError, match="needs audio items"):
        ZeroShotClassifier(["zero", "one"], encoder="test-keywords", method="asr-grammar").fit()


def test_grammar_scores_every_clip_and_reports_bad_ones(tmp_path) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    (tmp_path / "bad.wav").write_text("not audio")
    clf = ZeroShotClassifier(DIGITS, encoder="mfcc", method="asr-grammar").fit()
    assert clf.method_.phrases_ == DIGITS
    res = clf.predict_batch([str(tmp_path / n) for n in ("noise.wav", "silent.wav", "bad.wav")])
    assert sorted(res.errors) == [1, 2]
    assert "silent" in res.errors[1] and "not a readable audio file" in res.errors[2]
    assert res.labels[0] in DIGITS and np.isclose(res.proba[0].sum(), 1.0)
    from transzero.transductive import Transduction

    # transduction pairs the recogniser with the encoder's (mfcc) vectors of the same clips; one clip is too few
    one = clf.predict_batch([str(tmp_path / "noise.wav")], transduction=Transduction())
    assert one.transduction_info["paired_encoder"] == "mfcc" and "too few" in one.transduction_info["fallback"]
    with pytest.raises(InputError, match="unlabeled= is not supported"):
        clf.predict_batch([str(tmp_path / "noise.wav")], transduction=Transduction(), unlabeled=np.zeros((2, 80)))


def test_asr_text_embeds_transcripts(tmp_path, keyword_encoder) -> None:
    import soundfile as sf

    sf.write(tmp_path / "noise.wav", (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32), 16000)
    clf = ZeroShotClassifier(["sports", "politics"], encoder="mfcc", method="asr-text",
                             label_encoder=keyword_encoder).fit()
    P = clf.predict_proba([str(tmp_path / "noise.wav")])
    assert P.shape == (1, 2) and np.isclose(P.sum(), 1.0)
    assert isinstance(clf.method_.transcribe([np.zeros(1600, np.float32) + 1e-3])[0], str)


def test_cli_eval_audio_manifest_zero_shot(tmp_path, capsys) -> None:
    """`transzero eval manifest.csv --audio-column audio --method asr-grammar` works like the image and text paths."""
    import json

    import soundfile as sf

    from ..test_cli import run

    rng = np.random.default_rng(2)
    lines = ["audio,label"]
    for i, label in enumerate(["zero", "one", "two", "zero"]):
        sf.write(tmp_path / f"c{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 8000)
        lines.append(f"c{i}.wav,{label}")
    lines.append("missing.wav,one")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "r.json"
    code, stdout, err = run(["eval", str(tmp_path / "m.csv"), "--audio-column", "audio", "--labels", ",".join(DIGITS),
                             "--method", "asr-grammar", "--encoder", "mfcc", "--json", str(out)], capsys)
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["method"] == "asr-grammar" and r["n"] == 4 and r["n_skipped"] == 1
    assert "missing.wav" in err
    # the accuracy is the share of the 4 readable clips whose prediction (the same command's) is the gold label
    preds = tmp_path / "p.jsonl"
    code, _, err = run(["classify", str(tmp_path / "m.csv"), "--audio-column", "audio", "--labels", ",".join(DIGITS),
                        "--method", "asr-grammar", "--encoder", "mfcc", "-o", str(preds)], capsys)
    assert code == 0, err
    got = [json.loads(line)["label"] for line in preds.read_text().splitlines()][:4]
    assert r["accuracy"] == sum(g == y for g, y in zip(got, ["zero", "one", "two", "zero"])) / 4
