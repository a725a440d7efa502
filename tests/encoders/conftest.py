"""Fixtures shared by the encoder tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five random PNGs of growing height, each with a red band (module-scoped: one set per test module)."""
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        arr = (rng.random((48 + 8 * i, 64, 3)) * 255).astype(np.uint8)
        arr[:, : 10 * i] = [200, 30, 30]
        p = d / f"img{i}.png"
        Image.fromarray(arr).save(p)
        paths.append(p)
    return paths
