"""``ocr``: Tesseract reads the words in images; the text side classifies them, fused with the visual route."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy.special import log_softmax

from transzero import ZeroShotClassifier
from transzero.errors import InputError

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")]

TEXTS = {"invoice": "INVOICE No 2231 total amount due", "menu": "Lunch menu soup salad dessert",
         "ticket": "Boarding pass gate 12 seat 4A"}


def _font(size: int) -> ImageFont.ImageFont:
    for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        if Path(f).is_file():
            return ImageFont.truetype(f, size)
    return ImageFont.load_default(size=size)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("scans")
    out = {}
    for label, text in TEXTS.items():
        img = Image.new("RGB", (460, 80), (245, 245, 235))
        ImageDraw.Draw(img).text((10, 25), text, fill="black", font=_font(24))
        out[label] = d / f"{label}.png"
        img.save(out[label])
    rng = np.random.default_rng(0)
    out["noise"] = d / "noise.png"
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(out["noise"])
    return out


def test_words_decide_where_they_are_read_and_pictures_keep_their_visual_answer(scans: dict[str, Path]) -> None:
    labels = list(TEXTS)
    clf = ZeroShotClassifier(labels, encoder="efficientnet-lite0", method="ocr", cache=False).fit()
    assert clf.method_.visual_name_ == "wordnet"
    items = [scans[k] for k in labels] + [scans["noise"]]
    Z = clf.decision_function(items)
    assert list(np.asarray(clf.classes_)[Z[:3].argmax(1)]) == labels
    assert "INVOICE" in clf.method_.last_texts_[0] and clf.method_.last_texts_[3] == ""
    visual = ZeroShotClassifier(labels, encoder="efficientnet-lite0", method="wordnet", cache=False).fit()
    zv = log_softmax(visual.decision_function([scans["noise"]]).astype(np.float64), axis=1)
    np.testing.assert_allclose(Z[3], zv[0], atol=1e-4)  # no words: the visual route alone


def test_ocr_needs_images_and_is_not_saved(scans: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="reads images; it needs image items"):
        ZeroShotClassifier(["a", "b"], encoder="test-keywords", method="ocr").fit()
    clf = ZeroShotClassifier(list(TEXTS), encoder="efficientnet-lite0", method="ocr", cache=False).fit()
    with pytest.raises(InputError, match="cannot be saved yet"):
        clf.save(tmp_path / "m")
    res = clf.predict_batch([scans["menu"], tmp_path / "missing.png"])
    assert res.labels[0] == "menu" and 1 in res.errors
