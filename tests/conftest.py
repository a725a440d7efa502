"""Shared fixtures: a fast deterministic keyword encoder, temp caches, tiny HF models; the network guard."""

from __future__ import annotations

import os

# the test suite never reaches the model hub (transformers / sentence-transformers would otherwise look up model cards)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import ipaddress  # noqa: E402
import socket  # noqa: E402
from pathlib import Path

import pytest  # noqa: E402


# ---------------------------------------------------------------------- no test may reach the network
#: every attempt of the running test to reach a non-loopback address (the guard below refuses it and the test fails)
NETWORK_ATTEMPTS: list[str] = []


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    h = host.decode() if isinstance(host, bytes) else str(host)
    if h in ("localhost", "") or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    NETWORK_ATTEMPTS.append(what)
    raise OSError(f"tests must not reach the network ({what})")


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not _is_loopback(host):
        _refuse(f"DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not _is_loopback(address[0]):
        _refuse(f"connection to {address[0]}:{address[1]}")


def _connect(self, address):  # type: ignore[no-untyped-def]
    _check_address(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):  # type: ignore[no-untyped-def]
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]
socket.socket.connect = _connect  # type: ignore[method-assign]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_network() -> object:
    """Fail the test that tried to open a socket to a non-loopback address (even when a library swallowed the error)."""
    NETWORK_ATTEMPTS.clear()
    yield
    attempts = list(NETWORK_ATTEMPTS)
    NETWORK_ATTEMPTS.clear()
    assert not attempts, f"this test tried to reach the network: {attempts[:3]}"

from .keyword_encoder import TOPIC, VOCAB, KeywordEncoder  # noqa: E402,F401  (registers "test-keywords")


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
