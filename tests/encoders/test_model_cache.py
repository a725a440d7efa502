"""Built models (ONNX exports, int8 forms) when the cache folder cannot be written: built in a temporary folder,
used from there, one warning; a write error during a build is one line."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import numpy as np
import pytest

from transzero.encoders import model_cache
from transzero.errors import CacheWarning, ModelUnavailableError


@pytest.fixture(autouse=True)
def _fresh_scratch():
    model_cache._reset_for_tests()
    yield
    model_cache._reset_for_tests()


def _unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cache = blocker / "cache"  # (root ignores file modes; a path under a file cannot be created by anyone)
    monkeypatch.setenv("TRANSZERO_CACHE_DIR", str(cache))
    return cache


def test_an_unwritable_cache_builds_in_a_temporary_folder_and_warns_once(tiny_hf_dir: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from transzero.encoders.text import OnnxTextEncoder

    cache = _unwritable_cache(tmp_path, monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = OnnxTextEncoder.from_transformers(tiny_hf_dir, name="tiny", int8=True)
        X = enc.encode(["a goal for the team", "the budget vote"])
        again = OnnxTextEncoder.from_transformers(tiny_hf_dir, name="tiny", int8=True)
        Y = again.encode(["a goal for the team", "the budget vote"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(msgs) == 1 and f"cache folder {cache} cannot be written" in msgs[0] and "not kept" in msgs[0]
    assert X.shape == (2, 32) and np.allclose(X, Y)
    assert model_cache._scratch is not None and str(enc.onnx_path).startswith(str(model_cache._scratch))


def test_a_full_disk_while_probing_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSZERO_CACHE_DIR", str(tmp_path / "cache"))
    real = model_cache.os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_cache.os, "write", full)
    with pytest.warns(CacheWarning, match="the disk is full"):
        root = model_cache.model_root(lambda r: False)
    monkeypatch.setattr(model_cache.os, "write", real)
    assert root != tmp_path / "cache" and root.is_dir()
    assert not list((tmp_path / "cache").iterdir())  # the probe left nothing behind
    # a model already built in the cache is used from there, writable or not
    assert model_cache.model_root(lambda r: r == tmp_path / "cache") == tmp_path / "cache"


def test_a_write_error_during_a_build_is_one_line(tiny_hf_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import transzero.encoders.quantize as quantize
    from transzero.encoders.text import OnnxTextEncoder

    monkeypatch.setenv("TRANSZERO_CACHE_DIR", str(tmp_path / "cache"))

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(quantize, "quantize_text_encoder", full)
    enc = OnnxTextEncoder.from_transformers(tiny_hf_dir, name="tiny-full", int8=True)
    with pytest.raises(ModelUnavailableError, match=r"tiny-full: cannot build it in .* \(the disk is full\); free space"):
        enc.encode(["a goal"])


def test_the_cli_with_an_unwritable_cache_warns_and_goes_on(tiny_hf_dir: Path, tmp_path: Path, capsys,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from ..test_cli import run

    _unwritable_cache(tmp_path, monkeypatch)
    src = tmp_path / "in.txt"
    src.write_text("a goal for the team\nthe budget vote\n")
    code, _, err = run(["embed", str(src), "--encoder", f"hf:{tiny_hf_dir}", "--backend", "onnx-int8", "-o",
                        str(tmp_path / "v.jsonl")], capsys)
    assert code == 0, err
    assert "Traceback" not in err and err.count("cannot be written") >= 1
    assert len((tmp_path / "v.jsonl").read_text().splitlines()) == 2
