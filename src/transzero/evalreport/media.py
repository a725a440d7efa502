"""Items embedded small in a report: image thumbnails (JPEG) and audio excerpts (8 kHz WAV), as data URIs."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import numpy as np

__all__ = ["THUMB_PX", "audio_data_uri", "image_data_uri", "locate"]

#: a thumbnail's longer side
THUMB_PX = 96
#: an audio excerpt: the first seconds, at this rate
AUDIO_SECONDS = 3.0
AUDIO_RATE = 8000


def locate(item: str, data: str | None) -> Path | None:
    """The file an item names: as given, or relative to the evaluated data's folder (manifests list paths relative
    to themselves); None when neither exists."""
    p = Path(item)
    if p.is_file():
        return p
    if data and not p.is_absolute():
        base = Path(data)
        base = base if base.is_dir() else base.parent
        if (base / p).is_file():
            return base / p
    return None


def image_data_uri(path: Path) -> str | None:
    """A small JPEG thumbnail (None when the image cannot be read: the report shows the path instead)."""
    from ..data.images import load_image
    from ..errors import InputError

    try:
        img = load_image(str(path), target=THUMB_PX)
    except InputError:
        return None
    img = img.convert("RGB")
    img.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def audio_data_uri(path: Path) -> str | None:
    """The first :data:`AUDIO_SECONDS` of a clip, mono 16-bit at :data:`AUDIO_RATE` Hz (None when unreadable)."""
    from ..data.audio import iter_audio_chunks
    from ..errors import InputError

    need = int(AUDIO_SECONDS * AUDIO_RATE)
    parts: list[np.ndarray] = []
    try:
        for chunk in iter_audio_chunks(str(path), AUDIO_RATE):  # streamed: a long clip is not decoded whole
            parts.append(np.asarray(chunk, dtype=np.float32))
            if sum(len(c) for c in parts) >= need:
                break
    except InputError:
        return None
    if not parts:
        return None
    x = np.concatenate(parts)[:need]
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0:
        x = x / max(peak, 1e-3) * 0.9
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
