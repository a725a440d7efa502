from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero.data.images import MAX_PIXELS, ImagePreprocess, is_image_item, load_image
from transzero.errors import InputError


def _png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG whose header claims w x h pixels (no pixel data): opening it must not allocate them."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))


def test_modes_become_rgb(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    cases = {
        "gray.png": Image.fromarray(rgb[..., 0]),
        "rgba.png": Image.fromarray(np.dstack([rgb, np.full((20, 30), 128, np.uint8)])),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"),
        "p.gif": Image.fromarray(rgb).convert("P"),
        "bw.png": Image.fromarray(rgb[..., 0]).convert("1"),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
    arr16 = (rng.integers(0, 65535, (20, 30))).astype(np.uint16)
    Image.fromarray(arr16).save(tmp_path / "deep.png")
    for name in [*cases, "deep.png"]:
        out = load_image(tmp_path / name)
        assert out.mode == "RGB" and out.size == (30, 20), name
    deep = np.asarray(load_image(tmp_path / "deep.png"))[..., 0].astype(int)
    assert abs(deep - np.round(arr16 / 65535 * 255)).max() <= 1  # scaled, not clipped
    # transparent pixels are composited on white
    clear = Image.fromarray(np.zeros((4, 4, 4), np.uint8))
    assert np.asarray(load_image(clear)).min() == 255


@pytest.mark.parametrize("kind, match", [
    ("empty", "0 bytes"),
    ("text", "not an image file"),
    ("truncated", "corrupt or truncated"),
    ("huge", "too large"),
    ("missing", "no such file"),
])
def test_bad_files_are_one_line_errors(tmp_path: Path, kind: str, match: str) -> None:
    p = tmp_path / f"{kind}.png"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("hello, I am not a picture")
    elif kind == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
        p = tmp_path / "truncated.jpg"
        p.write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    elif kind == "huge":
        _png_header_only(p, 20000, 20000)
        assert 20000 * 20000 > MAX_PIXELS
    with pytest.raises(InputError, match=match) as exc:
        load_image(p)
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transzero.data.images as images

    Image.fromarray(np.full((800, 1200, 3), 200, np.uint8)).save(tmp_path / "big.jpg")
    monkeypatch.setattr(images, "MAX_PIXELS", 500_000)  # 960,000 pixels is "huge" for this test
    img = load_image(tmp_path / "big.jpg", target=224)
    assert img.size[0] * img.size[1] <= 500_000 and min(img.size) >= 224


def test_arrays_and_bytes(tmp_path: Path) -> None:
    arr = np.zeros((10, 12, 3), np.uint8)
    assert load_image(arr).size == (12, 10)
    with pytest.raises(InputError, match="dtype float64"):
        load_image(arr.astype(float))
    Image.fromarray(arr).save(tmp_path / "a.png")
    assert load_image((tmp_path / "a.png").read_bytes()).size == (12, 10)
    assert is_image_item("x.JPG") and not is_image_item("x.txt") and is_image_item(arr)


def test_preprocess_shapes_and_scaling() -> None:
    img = Image.fromarray(np.full((100, 300, 3), 255, np.uint8))
    x = ImagePreprocess(size=32)(img)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert np.allclose(x, (255 - 127) / 128)
    assert np.allclose(ImagePreprocess(size=32, scaling="unit")(img), 1.0)
    with pytest.raises(InputError, match="unknown pixel scaling"):
        ImagePreprocess(size=8, scaling="nope")(img)


def test_low_res_images_are_resized_whole() -> None:
    pre = ImagePreprocess(size=64, low_res_size=40, low_res_below=50)
    small = Image.fromarray(np.zeros((30, 20, 3), np.uint8))
    big = Image.fromarray(np.zeros((100, 120, 3), np.uint8))
    assert pre(small).shape == (3, 40, 40)
    assert pre(big).shape == (3, 64, 64)
    assert ImagePreprocess(size=64)(small).shape == (3, 64, 64)  # rule off by default


def test_low_res_views_only_for_low_res_images() -> None:
    pre = ImagePreprocess(size=64, low_res_size=40, low_res_below=50, low_res_views=(48, 56))
    small = Image.fromarray(np.zeros((30, 20, 3), np.uint8))
    big = Image.fromarray(np.zeros((100, 120, 3), np.uint8))
    assert [v.shape[1] for v in pre.views(small)] == [40, 48, 56]
    assert [v.shape[1] for v in pre.views(big)] == [64]
    assert pre.to_dict()["low_res_views"] == [48, 56]
    assert "low_res_views" not in ImagePreprocess().to_dict()  # fingerprints of one-view encoders unchanged
