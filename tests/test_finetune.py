"""End-to-end fine-tuning of efficientnet-lite0 on a few generated images (slow: real weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero import LabelSpace, ZeroShotClassifier, create_encoder, load_classifier
from transzero.errors import InputError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[str]]:
    d = tmp_path_factory.mktemp("ft")
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(8):
        label = ["red", "blue"][i % 2]
        arr = (rng.random((40, 40, 3)) * 60).astype(np.uint8)
        arr[..., 0 if label == "red" else 2] += 180
        p = d / f"{label}{i}.png"
        Image.fromarray(arr).save(p)
        paths.append(p)
        labels.append(label)
    return paths, labels


def test_finetune_trains_saves_loads_and_exports(images, tmp_path: Path) -> None:
    paths, labels = images
    clf = ZeroShotClassifier(LabelSpace(["red", "blue"]), encoder="efficientnet-lite0", method="finetune",
                             method_params={"epochs": 2, "output_dir": str(tmp_path / "w"), "val_fraction": 0.5})
    clf.fit(paths, labels)
    m = clf.method_
    assert (tmp_path / "w" / "model.safetensors").is_file()
    assert m.alpha_ in (0.0, 0.25, 0.5, 0.75, 1.0) and len(m.result_.history) == 2
    assert clf.encoder_.weights is not None
    assert clf.encoder_.backend == "onnx"  # fine-tuned weights run fp32: the int8 recipe was checked on the packaged ones
    assert clf.encoder_.fingerprint != create_encoder("efficientnet-lite0").fingerprint
    P = clf.predict_proba(paths)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-5)
    assert (clf.predict(paths) == np.asarray(labels)).mean() >= 0.75  # colour is easy to learn
    # saved with its weights; loads and predicts the same; ONNX export of the fine-tuned weights matches torch
    clf.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "encoder.safetensors").is_file()
    back = load_classifier(tmp_path / "saved")
    np.testing.assert_allclose(back.predict_proba(paths), P, rtol=1e-4, atol=1e-5)
    torch_enc = create_encoder("efficientnet-lite0", backend="torch", weights=clf.encoder_.weights)
    Xt, Xo = torch_enc.encode(paths[:3]), clf.encoder_.encode(paths[:3])
    assert np.abs(torch_enc.concept_logits(Xt) - clf.encoder_.concept_logits(Xo)).max() <= 1e-3


def test_finetune_needs_items(images) -> None:
    paths, labels = images
    clf = ZeroShotClassifier(LabelSpace(["red", "blue"]), encoder="efficientnet-lite0", method="finetune")
    X = create_encoder("efficientnet-lite0").encode(paths)
    with pytest.raises(InputError, match="needs the raw items"):
        clf.fit_encoded(X, labels)


def test_finetune_refuses_encoders_it_cannot_train(images) -> None:
    from transzero.finetune import finetune

    with pytest.raises(InputError, match="fine-tuning supports efficientnet-lite0 and torch text encoders"):
        finetune(create_encoder("test-keywords"), ["a b", "c d"], np.array([0, 1]), 2)


def _topic_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    from .conftest import VOCAB

    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        k = int(rng.integers(3))
        words = VOCAB[6 * k: 6 * k + 6]
        texts.append(" ".join(rng.choice(words, 3)) + " the new")
        labels.append(["sports", "politics", "technology"][k])
    return texts, labels


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wise_ft_end_points(tiny_hf_dir: Path, tmp_path: Path, alpha: float) -> None:
    """alpha=0 is the pretrained encoder (+ the starting head); alpha=1 the fine-tuned model."""
    from transzero.finetune import FineTuneConfig, finetune

    texts, labels = _topic_texts(24, 0)
    y = np.asarray([["sports", "politics", "technology"].index(v) for v in labels])
    enc = create_encoder(f"hf:{tiny_hf_dir}")
    res = finetune(enc, texts, y, 3, FineTuneConfig(epochs=3, lr=1e-3, alphas=(alpha,), seed=0),
                   output_dir=tmp_path / "ft", keep_finetuned=True)
    assert res.alpha == alpha
    X_new, X_pre = res.encoder.encode(texts), enc.encode(texts)
    if alpha == 0.0:
        np.testing.assert_allclose(X_new, X_pre, atol=1e-5)
    else:
        assert np.abs(X_new - X_pre).max() > 1e-3
        np.testing.assert_allclose(res.coef, res.ft_coef, atol=1e-6)


def test_text_finetune_starts_at_zero_shot_and_saves(tiny_hf_dir: Path, tmp_path: Path) -> None:
    texts, labels = _topic_texts(30, 1)
    test_t, test_y = _topic_texts(60, 2)
    zs = ZeroShotClassifier(["sports", "politics", "technology"], encoder=f"hf:{tiny_hf_dir}").fit()
    clf = ZeroShotClassifier(["sports", "politics", "technology"], encoder=f"hf:{tiny_hf_dir}", method="finetune",
                             method_params={"epochs": 6, "lr": 1e-3, "output_dir": str(tmp_path / "ft")})
    clf.fit(texts, labels)
    assert clf.encoder_.name.startswith(tiny_hf_dir.name + "-ft-") and clf.label_encoder_ is clf.encoder_
    acc = (clf.predict(test_t) == np.asarray(test_y)).mean()
    acc_zs = (zs.predict(test_t) == np.asarray(test_y)).mean()
    assert acc >= acc_zs  # a random tiny BERT knows nothing; labels teach it
    clf.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "encoder" / "model.safetensors").is_file()
    back = load_classifier(tmp_path / "saved")
    assert back.encoder_.fingerprint == clf.encoder_.fingerprint
    np.testing.assert_allclose(back.predict_proba(test_t), clf.predict_proba(test_t), rtol=1e-4, atol=1e-5)
