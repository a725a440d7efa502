"""CLIP / SigLIP from a local folder, tested with tiny randomly initialised models (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero import LabelSpace, ZeroShotClassifier, create_encoder, load_classifier
from transzero.errors import SavedModelError

from ..conftest import VOCAB, _tiny_tokenizer


def _save_tokenizer(d: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    _tiny_tokenizer(d, VOCAB + ["a", "photo", "of", "the"])
    tok = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"), pad_token="[PAD]", unk_token="[UNK]")
    tok.save_pretrained(str(d))


@pytest.fixture(scope="module", params=["clip", "siglip"])
def tiny_vlm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    d = tmp_path_factory.mktemp(f"tiny-{request.param}")
    torch.manual_seed(0)
    text = dict(vocab_size=40, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=16)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8)
    if request.param == "clip":
        from transformers import CLIPConfig, CLIPModel

        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=24))
    else:
        from transformers import SiglipConfig, SiglipModel

        model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
    model.save_pretrained(str(d))
    _save_tokenizer(d)
    (d / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 36}, "do_center_crop": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    }))
    return d


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("pics")
    rng = np.random.default_rng(0)
    out = []
    for i in range(4):
        p = d / f"{i}.png"
        Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def test_towers_shapes_and_alignment(tiny_vlm: Path, pictures: list[Path]) -> None:
    import torch
    from transformers import AutoModel

    enc = create_encoder(f"hf:{tiny_vlm}")
    assert enc.modality == "image"
    text = enc.text_encoder()
    assert text.modality == "text" and text.dim == enc.dim
    X = enc.encode(pictures)
    T = text.encode(["a photo of a goal", "the phone"])
    assert X.shape == (4, enc.dim) and T.shape == (2, enc.dim)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    # the image features equal the model's own on the same pixels
    model = AutoModel.from_pretrained(str(tiny_vlm)).eval()
    px = enc.preprocess(Image.open(pictures[0]).convert("RGB"))[None]
    with torch.no_grad():
        ref = model.get_image_features(pixel_values=torch.from_numpy(px))
    ref = getattr(ref, "pooler_output", ref).numpy()[0]
    np.testing.assert_allclose(X[0], ref / np.linalg.norm(ref), rtol=1e-4, atol=1e-5)
    assert enc.default_logit_scale == pytest.approx(float(model.logit_scale.detach().exp()))
    assert text.default_logit_scale == enc.default_logit_scale


def test_zero_shot_similarity_end_to_end_and_save_load(tiny_vlm: Path, pictures: list[Path], tmp_path: Path) -> None:
    labels = LabelSpace(["sports", "politics", "technology"], templates=["a photo of {}"])
    clf = ZeroShotClassifier(labels, encoder=f"hf:{tiny_vlm}").fit()
    assert clf.label_encoder_.name.endswith("#text")
    assert clf.method_.logit_scale_ == pytest.approx(clf.encoder_.default_logit_scale)
    proba = clf.predict_proba(pictures)
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    saved = clf.save(tmp_path / "clip-clf")
    with pytest.raises(SavedModelError, match="reads files outside the folder"):  # the folder names a model elsewhere
        load_classifier(saved)
    loaded = load_classifier(saved, encoder=f"hf:{tiny_vlm}")  # named by the user: loads
    np.testing.assert_allclose(loaded.predict_proba(pictures), proba, rtol=1e-5)
