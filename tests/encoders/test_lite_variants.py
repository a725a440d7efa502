"""EfficientNet-Lite1/Lite2 from their PyPI packages (ONNX export), and the Lite0+Lite2 concept ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero import create_encoder
from transzero.encoders import list_encoders
from transzero.encoders.image import ARCH_SIZES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["efficientnet-lite1", "efficientnet-lite2"])
def test_variant_loads_its_own_weights_and_exports_to_onnx(name: str, images: list[Path]) -> None:
    assert name in list_encoders()
    torch_enc = create_encoder(name, backend="torch")
    onnx_enc = create_encoder(name, backend="onnx")
    assert create_encoder(name).backend == "onnx-int8"  # the default (its accuracy: test_image.py, benchmarks)
    assert onnx_enc.preprocess.size == ARCH_SIZES[name] and onnx_enc.weights_file().name.startswith(name)
    Xt, Xo = torch_enc.encode(images), onnx_enc.encode(images)
    assert Xt.shape == (len(images), 1280)
    Lt, Lo = torch_enc.concept_logits(Xt), onnx_enc.concept_logits(Xo)
    assert np.abs(Lt - Lo).max() <= 1e-3 and (Lt.argmax(1) == Lo.argmax(1)).all()
    assert onnx_enc.fingerprint != create_encoder("efficientnet-lite0").fingerprint


def test_ensemble_averages_the_members_concept_logits(images: list[Path], tmp_path: Path) -> None:
    ens = create_encoder("efficientnet-lite02", backend="torch")
    lite0, lite2 = create_encoder("efficientnet-lite0", backend="torch"), create_encoder("efficientnet-lite2", backend="torch")
    X = ens.encode(images)
    assert X.shape == (len(images), 2560) and ens.dim == 2560 and len(ens.concepts()) == 1000
    np.testing.assert_allclose(X[:, :1280], lite0.encode(images), atol=1e-5)
    want = (lite0.concept_logits(X[:, :1280]) + lite2.concept_logits(X[:, 1280:])) / 2
    np.testing.assert_allclose(ens.concept_logits(X), want, atol=1e-4)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    V, errors = ens.encode_report([images[0], bad])
    assert list(errors) == [1] and np.isnan(V[1]).all() and np.isfinite(V[0]).all()
