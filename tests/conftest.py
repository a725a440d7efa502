"""Shared fixtures: a fast deterministic keyword encoder, temp caches, tiny HF models."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from transzero.encoders import TextEncoder, register_encoder
from transzero.encoders.registry import _REGISTRY

# Words that identify the toy classes used across the tests.
VOCAB = [
    "sports", "match", "goal", "team", "striker", "tennis",
    "politics", "election", "parliament", "vote", "senator", "budget",
    "technology", "phone", "chip", "software", "computer", "compiler",
]
TOPIC = {w: i // 6 for i, w in enumerate(VOCAB)}


class KeywordEncoder(TextEncoder):
    """Bag of topic words -> 3 topic dims + hashed noise dims; counts its calls."""

    backend = "test"

    def __init__(self, name: str = "test-keywords", dim: int = 16) -> None:
        self.name = name
        self._dim = dim
        self.calls = 0
        self.items_encoded = 0

    @property
    def dim(self) -> int:
        return self._dim

    def _config(self) -> dict[str, Any]:
        return {"dim": self._dim}

    def _encode(self, items: list[Any], batch_size: int, progress: Any) -> np.ndarray:
        self.calls += 1
        self.items_encoded += len(items)
        out = np.zeros((len(items), self._dim), dtype=np.float32)
        for r, text in enumerate(items):
            for w in re.findall(r"[a-z]+", text.lower()):
                if w in TOPIC:
                    out[r, TOPIC[w]] += 1.0
                else:
                    out[r, 3 + zlib.crc32(w.encode()) % (self._dim - 3)] += 0.05  # stable across processes
            out[r, -1] += 0.01
            if progress:
                progress(1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


if "test-keywords" not in _REGISTRY:
    register_encoder("test-keywords", modality="text", description="keyword encoder for tests")(
        lambda **kw: KeywordEncoder(**kw)
    )


@pytest.fixture
def keyword_encoder() -> KeywordEncoder:
    return KeywordEncoder()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's ~/.cache in tests."""
    d = tmp_path / "cache"
    monkeypatch.setenv("TRANSZERO_CACHE_DIR", str(d))
    return d


TOPIC_LABELS = ["sports", "politics", "technology"]
TOPIC_TEXTS = {
    "sports": "The striker scored a goal in the match.",
    "politics": "Parliament will vote on the budget after the election.",
    "technology": "The phone has a faster chip and new software.",
}


def _tiny_tokenizer(path: Path, words: list[str]) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(str(path / "tokenizer.json"))


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT saved like a transformers model, with tokenizer.json."""
    import torch
    from transformers import BertConfig, BertModel

    d = tmp_path_factory.mktemp("tiny-bert")
    words = VOCAB + ["the", "a", "of", "and", "is", "new", "on"]
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(words) + 4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(d))
    _tiny_tokenizer(d, words)
    return d
