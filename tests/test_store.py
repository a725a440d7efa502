from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero import EmbeddingCache
from transzero.errors import InputError
from transzero.store import item_key

from .conftest import KeywordEncoder


def test_second_encode_is_all_hits(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path)
    texts = ["goal for the team", "a new phone", "vote in parliament"]
    first = cache.encode(enc, texts)
    assert enc.items_encoded == 3 and cache.stats.misses == 3 and cache.stats.hits == 0
    second = EmbeddingCache(tmp_path).encode(enc, texts)  # a new process would do the same
    assert enc.items_encoded == 3, "warm cache must not run the encoder"
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, enc.encode(texts), rtol=1e-6)


def test_partial_hits_and_duplicates(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path, chunk_size=2)
    cache.encode(enc, ["a goal", "a chip"])
    enc.items_encoded = 0
    out = cache.encode(enc, ["a goal", "the vote", "the vote", "a chip", "tennis match", "the vote"])
    assert enc.items_encoded == 2  # only "the vote" and "tennis match", each once
    np.testing.assert_array_equal(out[1], out[2])
    np.testing.assert_array_equal(out[1], out[5])
    # call 1: 0 hits, 2 misses; call 2: 2 hits ("a goal", "a chip"), 2 distinct misses
    assert cache.stats.hits == 2
    assert cache.stats.misses == 4


def test_encoders_do_not_share_vectors(tmp_path: Path) -> None:
    a, b = KeywordEncoder(dim=16), KeywordEncoder(dim=20)
    cache = EmbeddingCache(tmp_path)
    assert cache.path_for(a) != cache.path_for(b)
    assert cache.encode(a, ["goal"]).shape == (1, 16)
    assert cache.encode(b, ["goal"]).shape == (1, 20)
    assert b.items_encoded == 1


def test_progress_counts_every_item(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    cache = EmbeddingCache(tmp_path)
    cache.encode(enc, ["x goal", "y chip"])
    seen: list[int] = []
    cache.encode(enc, ["x goal", "y chip", "z vote", "z vote"], progress=seen.append)
    assert sum(seen) == 4


def test_bad_items_are_rejected_before_encoding(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"items\[1\]: text is empty"):
        EmbeddingCache(tmp_path).encode(KeywordEncoder(), ["ok", "  "])


def test_item_key_is_content_based(tmp_path: Path) -> None:
    assert item_key("abc") == item_key("abc") != item_key("abd")
    assert item_key(b"abc") != item_key("abc")
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    assert item_key(f) == item_key(Path(f))
    assert item_key(np.zeros(3)) != item_key(np.zeros(4))
    with pytest.raises(TypeError):
        item_key(3.5)
