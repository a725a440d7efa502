"""Text encoders fused by their cosines (``ensemble:a+b``, ``minilm-e5``)."""

from __future__ import annotations

import numpy as np
import pytest

from transzero import ZeroShotClassifier, create_encoder
from transzero.errors import InputError

from ..conftest import TOPIC_LABELS, TOPIC_TEXTS, KeywordEncoder


@pytest.fixture
def keywords_8():
    """``test-keywords-8``, registered for one test only."""
    from transzero.encoders import list_encoders, register_encoder, unregister_encoder

    register_encoder("test-keywords-8", modality="text", description="8-d keyword encoder")(
        lambda **kw: KeywordEncoder(name="test-keywords-8", dim=8))
    yield
    unregister_encoder("test-keywords-8")
    assert "test-keywords-8" not in list_encoders()


def test_joined_cosine_is_the_weighted_mean_of_the_members(keywords_8) -> None:
    ens = create_encoder("ensemble:test-keywords+test-keywords-8", weights=[3, 1])
    a, b = KeywordEncoder(), KeywordEncoder(name="test-keywords-8", dim=8)
    texts = list(TOPIC_TEXTS.values()) + ["a goal in the election"]
    X = ens.encode(texts)
    assert X.shape == (4, 24) and ens.dim == 24 and ens.modality == "text"
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    cos = X @ X.T
    ca, cb = a.encode(texts), b.encode(texts)
    ca /= np.linalg.norm(ca, axis=1, keepdims=True)
    cb /= np.linalg.norm(cb, axis=1, keepdims=True)
    np.testing.assert_allclose(cos, 0.75 * (ca @ ca.T) + 0.25 * (cb @ cb.T), atol=1e-5)
    assert ens.fingerprint != create_encoder("ensemble:test-keywords+test-keywords-8").fingerprint
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder=ens, cache=False).fit()
    assert list(clf.predict(list(TOPIC_TEXTS.values()))) == list(TOPIC_TEXTS)


def test_bad_ensembles_are_refused() -> None:
    with pytest.raises(InputError, match="at least 2"):
        create_encoder("ensemble:test-keywords")
    with pytest.raises(InputError, match="one positive weight per"):
        create_encoder("ensemble:test-keywords+test-keywords", weights=[1, 0])
    with pytest.raises(InputError, match="encodes image, not text"):
        create_encoder("ensemble:test-keywords+efficientnet-lite0")


def test_class_centroids_are_normalised_per_member() -> None:
    """A class vector is the mean of its prompts' joined vectors; each member's block is put back on its own sphere,
    so an item's cosine with a class is the weighted mean of the members' cosines with their own centroids."""
    from transzero import LabelSpace
    from transzero._util import l2_normalize
    from transzero.encoders.text_ensemble import TextEnsembleEncoder

    ens = TextEnsembleEncoder(["test-keywords", "test-keywords"], [1.0, 3.0])
    rng = np.random.default_rng(0)
    V = rng.normal(size=(4, ens.dim)).astype(np.float32)
    N = ens.normalize_vectors(V)
    d = ens.members[0].dim
    np.testing.assert_allclose(np.linalg.norm(N[:, :d], axis=1), np.sqrt(0.25), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(N[:, d:], axis=1), np.sqrt(0.75), rtol=1e-5)
    space = LabelSpace(["sports", "politics"])
    C = space.embed(ens).vectors
    x = ens.encode(["the match was won in the final minute"])[0]
    prompts, labels = space.all_prompts()
    P = ens.encode(prompts)
    for k in range(2):
        own = [l2_normalize(P[labels == k][:, sl].mean(axis=0, keepdims=True))[0] for sl in (slice(0, d), slice(d, None))]
        want = 0.25 * float(l2_normalize(x[None, :d])[0] @ own[0]) + 0.75 * float(l2_normalize(x[None, d:])[0] @ own[1])
        assert float(x @ C[k]) == pytest.approx(want, abs=1e-5)
