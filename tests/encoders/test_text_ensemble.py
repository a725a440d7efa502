"""Text encoders fused by their cosines (``ensemble:a+b``, ``minilm-e5``)."""

from __future__ import annotations

import numpy as np
import pytest

from transzero import ZeroShotClassifier, create_encoder
from transzero.errors import InputError

from ..conftest import TOPIC_LABELS, TOPIC_TEXTS, KeywordEncoder


def test_joined_cosine_is_the_weighted_mean_of_the_members() -> None:
    from transzero.encoders import register_encoder

    register_encoder("test-keywords-8", modality="text", description="8-d keyword encoder")(
        lambda **kw: KeywordEncoder(name="test-keywords-8", dim=8))
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
