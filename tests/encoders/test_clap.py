"""CLAP through hf:<dir>: a tiny randomly initialised CLAP saved to a temp folder (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("soundfile")

from transzero import ZeroShotClassifier, create_encoder  # noqa: E402

from ..conftest import VOCAB, _tiny_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def tiny_clap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapTextConfig

    d = tmp_path_factory.mktemp("tiny-clap")
    words = VOCAB + ["the", "a", "of", "sound", "dog", "bark", "engine"]
    torch.manual_seed(0)
    tc = ClapTextConfig(vocab_size=len(words) + 4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=40, projection_dim=16, pad_token_id=0)
    ac = ClapAudioConfig(window_size=4, num_mel_bins=16, spec_size=64, patch_size=4, patch_stride=(4, 4), hidden_size=32,
                         depths=[1, 1], num_attention_heads=[2, 2], patch_embeds_hidden_size=16, projection_dim=16,
                         enable_fusion=False)
    ClapModel(ClapConfig(text_config=tc.to_dict(), audio_config=ac.to_dict(), projection_dim=16)).save_pretrained(str(d))
    ClapFeatureExtractor(feature_size=16, sampling_rate=16000, hop_length=160, max_length_s=2, fft_window_size=400,
                         truncation="rand_trunc", padding="repeatpad").save_pretrained(str(d))
    _tiny_tokenizer(d, words)
    import json

    (d / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "[PAD]",
                                                         "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"}))
    return d


def test_tiny_clap_loads_and_classifies(tiny_clap_dir: Path) -> None:
    enc = create_encoder(f"hf:{tiny_clap_dir}")
    assert enc.modality == "audio" and enc.dim == 16 and enc.sample_rate == 16000
    t = np.arange(16000) / 16000
    clips = [((0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), 16000) for f in (220, 880)]
    X, errors = enc.encode_report([*clips, (np.zeros(16000, np.float32), 16000)])
    assert list(errors) == [2] and "silent" in errors[2]
    np.testing.assert_allclose(np.linalg.norm(X[:2], axis=1), 1.0, rtol=1e-5)
    text = enc.text_encoder()
    assert text.dim == 16 and np.isfinite(enc.default_logit_scale)
    # zero-shot through the aligned text tower: similarity works across modalities
    clf = ZeroShotClassifier(["dog bark", "engine sound"], encoder=enc).fit()
    P = clf.predict_proba(clips)
    assert P.shape == (2, 2) and np.allclose(P.sum(1), 1.0)
    assert clf.label_encoder_.name.endswith("#text")
    with pytest.raises(Exception, match="backend must be 'torch'"):
        create_encoder(f"hf:{tiny_clap_dir}", backend="onnx")
