"""Image items: robust decoding and torchvision-free preprocessing (PIL + numpy).

Every way an image file can be bad (0 bytes, not an image, truncated, too large to
decode in bounded memory) raises a one-line :class:`~transzero.errors.InputError`
naming the file; batch callers report it and go on. Unusual modes (grayscale, RGBA,
palette, CMYK, 16-bit) are converted to 8-bit RGB.
"""

from __future__ import annotations

import io
import os
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["IMAGE_SUFFIXES", "MAX_DECODE_BYTES", "MAX_PIXELS", "ImagePreprocess", "load_image", "is_image_item"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
#: images above this many pixels are decoded at reduced scale (JPEG) or refused (other formats)
MAX_PIXELS = 64_000_000
#: a non-JPEG image whose decoded pixels would need more memory than this is refused (JPEGs decode at reduced scale)
MAX_DECODE_BYTES = 256 * 2**20
#: decoded pixel buffers above this are box-reduced right away (one such image at a time per process), so a
#: job's memory is bounded by the pixels the model needs, not by the file
LARGE_BYTES = 96 * 2**20
_LARGE_DECODE = threading.BoundedSemaphore(1)
#: bytes per pixel of PIL's modes (for the memory a decode needs)
_BPP = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "RGB": 3,
        "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4, "I": 4, "F": 4}


def is_image_item(item: Any) -> bool:
    """True for image paths (by suffix), PIL images and HxW[xC] uint8 arrays."""
    if isinstance(item, (str, os.PathLike)):
        return Path(item).suffix.lower() in IMAGE_SUFFIXES
    if isinstance(item, np.ndarray):
        return item.ndim in (2, 3)
    return type(item).__module__.startswith("PIL.")


def _describe(item: Any) -> str:
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    return f"<{type(item).__name__}>"


def load_image(item: Any, *, target: int = 224) -> Any:
    """Decode ``item`` (path, bytes, PIL image or uint8 array) into an 8-bit RGB PIL image.

    ``target`` is the smallest side the caller needs; huge JPEGs are decoded at the
    largest power-of-two reduction that still covers it, so memory stays bounded.
    """
    from PIL import Image, UnidentifiedImageError

    name = _describe(item)
    if isinstance(item, np.ndarray):
        arr = item
        if arr.dtype != np.uint8:
            raise InputError(f"{name}: array dtype {arr.dtype}; pass uint8 HxWx3 (or HxW) pixels")
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise InputError(f"{name}: array shape {arr.shape}; pass HxW, HxWx1, HxWx3 or HxWx4 pixels")
        img = Image.fromarray(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    elif isinstance(item, Image.Image):
        img = item
    else:
        if isinstance(item, (bytes, bytearray)):
            src: Any = io.BytesIO(item)
        else:
            p = Path(item)
            if not p.is_file():
                raise InputError(f"{name}: no such file; check the path")
            if p.stat().st_size == 0:
                raise InputError(f"{name}: file is empty (0 bytes); re-export or remove it")
            src = str(p)
        try:
            img = Image.open(src)
        except Image.DecompressionBombError:
            raise InputError(f"{name}: too large to decode safely; downscale it first") from None
        except UnidentifiedImageError:
            raise InputError(f"{name}: not an image file PIL can read; convert it to JPEG or PNG") from None
        except OSError as exc:
            raise InputError(f"{name}: corrupt or truncated image ({exc}); re-export it") from None
    w, h = img.size
    if w < 1 or h < 1:
        raise InputError(f"{name}: image has no pixels ({w}x{h})")
    is_jpeg = getattr(img, "format", None) == "JPEG"
    need = w * h * _BPP.get(img.mode, 4)
    if is_jpeg and (w * h > MAX_PIXELS or need > LARGE_BYTES):  # decode at reduced scale (DCT scaling)
        img.draft("RGB", (max(target, w * target // min(w, h)), max(target, h * target // min(w, h))))
        need = img.size[0] * img.size[1] * 3
    if img.size[0] * img.size[1] > MAX_PIXELS or need > MAX_DECODE_BYTES:
        raise InputError(
            f"{name}: {w}x{h} {img.mode} pixels need {need / 2**20:.0f} MB to decode (limit {MAX_PIXELS:,} pixels, "
            f"{MAX_DECODE_BYTES // 2**20} MB); downscale it first"
        )
    big = need > LARGE_BYTES and not isinstance(item, Image.Image)
    with _LARGE_DECODE if big else nullcontext():
        try:
            img.load()
        except Image.DecompressionBombError:
            raise InputError(f"{name}: {w}x{h} pixels is too large to decode safely; downscale it first") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(f"{name}: corrupt or truncated image ({exc}); re-export it") from None
        if big:
            img = _reduce(img, max(1, min(img.size) // (4 * target)))
        return _to_rgb(img)


_ROWS = 512  # rows converted at a time: high-bit-depth conversions stay bounded in memory


def _reduce(img: Any, k: int) -> Any:
    """Box-reduce by ``k`` (k = 1: unchanged); 16-bit grey becomes 8-bit grey on the way (strip by strip)."""
    from PIL import Image

    if k < 2:
        return img
    if img.mode.startswith("I;16"):
        w, h = img.size
        rows = []
        step = _ROWS // k * k or k
        for y0 in range(0, h - h % k, step):
            strip = np.asarray(img.crop((0, y0, w - w % k, min(y0 + step, h - h % k))), dtype=np.float64)
            rows.append(strip.reshape(strip.shape[0] // k, k, strip.shape[1] // k, k).mean(axis=(1, 3)))
        arr = np.concatenate(rows)
        return Image.fromarray(np.clip(arr / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode in ("1", "P", "PA"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
    return img.reduce(k)


def _scale_to_8bit(img: Any, lo: float, hi: float, offset: float) -> Any:
    """8-bit grey ``(x - lo) / (hi - lo) * 255 + offset`` (clipped, truncated) of a 16/32-bit or float image,
    computed a strip of rows at a time so memory stays bounded."""
    from PIL import Image

    w, h = img.size
    out = np.empty((h, w), dtype=np.uint8)
    for y0 in range(0, h, _ROWS):
        strip = np.asarray(img.crop((0, y0, w, min(y0 + _ROWS, h))), dtype=np.float64)
        out[y0 : y0 + len(strip)] = np.clip((strip - lo) / max(hi - lo, 1e-12) * 255.0 + offset, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def _to_rgb(img: Any) -> Any:
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        hi = 65535.0 if mode.startswith("I;16") or img.getextrema()[1] > 255 else 255.0
        return _scale_to_8bit(img, 0.0, hi, 0.5).convert("RGB")
    if mode == "F":
        lo, hi = img.getextrema()
        return _scale_to_8bit(img, min(float(lo), 0.0), max(float(hi), 1.0), 0.0).convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV


@dataclass(frozen=True)
class ImagePreprocess:
    """Resize the shorter side to ``size / crop_pct``, center-crop ``size``, scale pixels.

    ``scaling="lite"`` maps pixels to ``(x - 127) / 128`` (what the EfficientNet-Lite
    checkpoints were trained with); ``"imagenet"`` uses the ImageNet mean/std;
    ``"clip"`` the CLIP mean/std; ``"unit"`` maps to [0, 1].

    Low-resolution images (shorter side below ``low_res_below``) are resized whole, without
    a crop, to ``low_res_size`` instead: upsampling a 32-64 px image to 224 and cropping
    its border loses more than it gains. (Chosen on Tiny-ImageNet *train* images, native
    64 px and downsampled to 32 px, by ImageNet top-1 of the concept head: 160 px uncropped
    beat 224 px cropped by 8 points at 64 px and 3 at 32 px; see docs/benchmarks.md.)
    Fully convolutional backbones with global pooling accept either size.
    """

    size: int = 224
    crop_pct: float = 0.875
    scaling: str = "lite"
    resample: str = "bicubic"
    low_res_size: int | None = None
    low_res_below: int = 100
    #: extra sizes at which low-resolution images are also run; their features are averaged
    #: with the ``low_res_size`` view (multi-scale test-time augmentation)
    low_res_views: tuple[int, ...] = ()
    #: explicit per-channel mean/std on the [0, 1] scale (a model's own processor config); overrides ``scaling``
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    _STATS = {
        "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    }

    def is_low_res(self, img: Any) -> bool:
        """True when ``img`` falls under the low-resolution rule."""
        return bool(self.low_res_size) and min(img.size) < self.low_res_below

    def __call__(self, img: Any) -> np.ndarray:
        """RGB PIL image -> float32 array (3, size, size)."""
        if self.is_low_res(img):
            return self._prepare(img, int(self.low_res_size), 1.0)  # type: ignore[arg-type]
        return self._prepare(img, self.size, self.crop_pct)

    def views(self, img: Any) -> list[np.ndarray]:
        """Every view of ``img`` whose features are averaged: one, or the low-res multi-scale set."""
        first = self(img)
        if not self.low_res_views or not self.is_low_res(img):
            return [first]
        return [first] + [self._prepare(img, int(s), 1.0) for s in self.low_res_views]

    def _prepare(self, img: Any, size: int, crop_pct: float) -> np.ndarray:
        from PIL import Image

        resample = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}[self.resample]
        w, h = img.size
        short = int(round(size / crop_pct))
        scale = short / min(w, h)
        nw, nh = max(size, int(round(w * scale))), max(size, int(round(h * scale)))
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), resample, reducing_gap=3.0 if scale < 0.5 else None)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
        x = np.asarray(img, dtype=np.float32)
        if self.mean is not None and self.std is not None:
            x = (x / 255.0 - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        elif self.scaling == "lite":
            x = (x - 127.0) / 128.0
        elif self.scaling == "unit":
            x = x / 255.0
        elif self.scaling in self._STATS:
            mean, std = self._STATS[self.scaling]
            x = (x / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
        else:
            raise InputError(f"unknown pixel scaling {self.scaling!r}; use lite, imagenet, clip or unit")
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def to_dict(self) -> dict[str, Any]:
        """Settings (saved in fingerprints and model configs)."""
        return {"size": self.size, "crop_pct": self.crop_pct, "scaling": self.scaling, "resample": self.resample,
                "low_res_size": self.low_res_size, "low_res_below": self.low_res_below,
                **({"low_res_views": list(self.low_res_views)} if self.low_res_views else {}),
                "mean": self.mean, "std": self.std}
