"""onnx:<file> image backbones: a tiny torch CNN exported to ONNX in the test (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero import create_encoder
from transzero.errors import ModelUnavailableError


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    pytest.importorskip("onnx")
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 1000),
    ).eval()
    d = tmp_path_factory.mktemp("onnx-img")
    path = d / "net.onnx"
    torch.onnx.export(net, (torch.zeros(1, 3, 32, 32),), str(path), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "b"}, "logits": {0: "b"}}, opset_version=17, dynamo=False)
    (d / "net.onnx.json").write_text(json.dumps({"size": 32, "crop_pct": 1.0, "mean": [0.5] * 3, "std": [0.5] * 3}))
    return path, net


def test_onnx_backbone_matches_torch_and_has_imagenet_head(tiny_onnx, tmp_path: Path) -> None:
    import torch

    path, net = tiny_onnx
    p = tmp_path / "a.png"
    Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)).save(p)
    enc = create_encoder(f"onnx:{path}")
    assert enc.modality == "image" and enc.dim == 1000
    X = enc.encode([p])
    px = enc.preprocess(Image.open(p).convert("RGB"))[None]
    with torch.no_grad():
        ref = net(torch.from_numpy(px)).numpy()
    np.testing.assert_allclose(X, ref, rtol=1e-4, atol=1e-5)
    assert enc.concepts()[0].wnid == "n01440764"
    np.testing.assert_allclose(enc.concept_proba(X).sum(1), 1.0)


def test_non_imagenet_output_has_no_head(tiny_onnx, tmp_path: Path) -> None:
    path, _ = tiny_onnx
    side = path.with_suffix(".onnx.json")
    cfg = json.loads(side.read_text())
    other = tmp_path / "net.onnx"
    other.write_bytes(path.read_bytes())
    (tmp_path / "net.onnx.json").write_text(json.dumps({**cfg, "concepts": None}))
    with pytest.raises(ModelUnavailableError, match="no concept head"):
        create_encoder(f"onnx:{other}").concepts()
