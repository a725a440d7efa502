"""``minilm-l6-static``: a model2vec table distilled from a (here: tiny) transformer, cached, batch-independent."""

from __future__ import annotations

import numpy as np
import pytest

from transzero.encoders.static import StaticTextEncoder

pytest.importorskip("model2vec.distill")


def test_distils_once_caches_and_is_batch_independent(tiny_hf_dir, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TRANSZERO_CACHE_DIR", str(tmp_path / "cache"))
    enc = StaticTextEncoder(tiny_hf_dir, name="tiny-static", pca_dims=8)
    texts = ["the match was won", "parliament votes", "a new phone chip", "the match was won"]
    X = enc.encode(texts)
    assert X.shape == (4, 8) and np.isfinite(X).all()
    assert "distilling a static model" in capsys.readouterr().err and (enc.model_dir() / "model.safetensors").is_file()
    np.testing.assert_allclose(X[0], X[3])
    one = np.vstack([enc.encode([t]) for t in texts])
    np.testing.assert_allclose(one, X, atol=1e-6)  # an item's vector never depends on its batch-mates
    again = StaticTextEncoder(tiny_hf_dir, name="tiny-static", pca_dims=8)
    np.testing.assert_allclose(again.encode(texts), X, atol=1e-6)
    assert "distilling" not in capsys.readouterr().err  # the cached table is reused
    assert again.fingerprint == enc.fingerprint != StaticTextEncoder(tiny_hf_dir, name="tiny-static", pca_dims=4).fingerprint
