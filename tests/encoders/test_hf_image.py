"""transformers image classifiers as backbones with a concept head (tiny random models, no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero import LabelSpace, ZeroShotClassifier, create_encoder

LABELS = {0: "tabby cat", 1: "sports car", 2: "goldfish", 3: "airliner"}


@pytest.fixture(scope="module", params=["resnet", "vit"])
def tiny_classifier(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    d = tmp_path_factory.mktemp(f"tiny-{request.param}")
    torch.manual_seed(0)
    if request.param == "resnet":
        from transformers import ResNetConfig, ResNetForImageClassification

        cfg = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=4, id2label=LABELS,
                           label2id={v: k for k, v in LABELS.items()})
        ResNetForImageClassification(cfg).eval().save_pretrained(str(d))
    else:
        from transformers import ViTConfig, ViTForImageClassification

        cfg = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=32,
                        patch_size=8, num_labels=4, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
        ViTForImageClassification(cfg).eval().save_pretrained(str(d))
    (d / "preprocessor_config.json").write_text(json.dumps({
        "size": {"height": 32, "width": 32} if request.param == "vit" else {"shortest_edge": 36},
        "crop_size": 32 if request.param == "resnet" else None,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    }))
    return d


def test_features_and_head_reproduce_the_logits(tiny_classifier: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForImageClassification

    p = tmp_path / "x.png"
    Image.fromarray((np.random.default_rng(0).random((40, 44, 3)) * 255).astype(np.uint8)).save(p)
    enc = create_encoder(f"hf:{tiny_classifier}")
    assert enc.modality == "image"
    X = enc.encode([p])
    assert X.shape == (1, enc.dim)
    model = AutoModelForImageClassification.from_pretrained(str(tiny_classifier)).eval()
    px = enc.preprocess(Image.open(p).convert("RGB"))[None]
    with torch.no_grad():
        ref = model(pixel_values=torch.from_numpy(px)).logits.numpy()
    np.testing.assert_allclose(enc.concept_logits(X), ref, rtol=1e-4, atol=1e-4)
    assert [c.name for c in enc.concepts()] == list(LABELS.values())


def test_conse_runs_on_any_classifier(tiny_classifier: Path, tmp_path: Path) -> None:
    p = tmp_path / "y.png"
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(p)
    clf = ZeroShotClassifier(LabelSpace(["cat", "car"]), encoder=f"hf:{tiny_classifier}", method="conse",
                             method_params={"top_t": 2}, label_encoder="test-keywords").fit()
    proba = clf.predict_proba([p])
    assert proba.shape == (1, 2) and abs(proba.sum() - 1) < 1e-6
    assert clf.explain([p], top=2)[0]["concepts"][0]["concept"] in LABELS.values()
