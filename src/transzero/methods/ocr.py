"""``ocr``: images that contain text (scans, screenshots, signs, digits) classified by what they say.

Transfer: Tesseract's English recogniser (Debian's ``tesseract-ocr``, through ``pytesseract``) reads the
words of each image; the label encoder (a sentence encoder) embeds them and compares them with the class
descriptions, as the text ``similarity`` method does. The visual route - the encoder's own zero-shot method
(``wordnet`` for ImageNet backbones, ``similarity`` for CLIP-like models) - scores the same image, and the two
are fused when both speak:

    log p(k | image) = log p_visual(k) + text_weight * log p_text(k)      (renormalised)

Words count only when Tesseract is at least ``min_confidence`` sure of them and they hold at least
``min_letters`` letters; an image with no such words keeps its visual answer unchanged. The words read are
kept per item (``last_texts_``) for explanations.

Tesseract runs one process per image (~0.1-1 s each), so this is an opt-in method (``--method ocr``), not
the image default.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.special import log_softmax

from .._util import l2_normalize
from ..errors import InputError, ModelUnavailableError
from .base import ZeroShotMethod
from .registry import create_method
from .tags import FitContext, MethodTags

__all__ = ["OCRClassifier", "read_text"]


def _tesseract() -> Any:
    try:
        import pytesseract
    except ImportError:
        raise ModelUnavailableError("the ocr method needs pytesseract: pip install pytesseract") from None
    try:
        pytesseract.get_tesseract_version()
    except Exception:  # pytesseract raises its own TesseractNotFoundError (an OSError subclass on some versions)
        raise ModelUnavailableError("the ocr method needs the tesseract program: apt-get install tesseract-ocr "
                                    "(or set TESSERACT_CMD)") from None
    return pytesseract


def read_text(image: Any, *, min_confidence: float = 60.0, min_letters: int = 2, lang: str = "eng") -> str:
    """The words Tesseract reads in ``image`` (a path or PIL image) with at least ``min_confidence``."""
    from PIL import Image

    tess = _tesseract()
    img = image if isinstance(image, Image.Image) else Image.open(image)
    img = img.convert("RGB")
    if min(img.size) < 64:  # Tesseract wants text ~20 px high: upscale thumbnails
        f = 64 / min(img.size)
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.Resampling.BICUBIC)
    data = tess.image_to_data(img, lang=lang, output_type=tess.Output.DICT)
    words = []
    for w, c in zip(data.get("text", []), data.get("conf", [])):
        w = str(w).strip()
        try:
            conf = float(c)
        except (TypeError, ValueError):
            continue
        if conf >= min_confidence and len(re.findall(r"[^\W\d_]|\d", w)) >= min_letters:
            words.append(w)
    return " ".join(words)


class OCRClassifier(ZeroShotMethod):
    """Tesseract's reading of each image, classified by text similarity and fused with the visual route.

    Parameters
    ----------
    visual : str
        The visual zero-shot method: ``"auto"`` (``similarity`` when the encoder has a text tower, else
        ``wordnet``, else ``conse``), ``"none"`` (text only: images without words get uniform scores), or a
        method name.
    text_weight : float
        Weight of the text log-probabilities where words were read.
    min_confidence, min_letters : float, int
        Which words count (see :func:`read_text`).
    logit_scale : float, optional
        Scale of the text cosines (default: the label encoder's).
    workers : int
        Tesseract processes run at once.
    """

    _state_attrs = ZeroShotMethod._state_attrs + ("class_vectors_",)

    def __init__(self, visual: str = "auto", text_weight: float = 1.0, min_confidence: float = 60.0,
                 min_letters: int = 2, logit_scale: float | None = None, workers: int = 2) -> None:
        self.visual = visual
        self.text_weight = text_weight
        self.min_confidence = min_confidence
        self.min_letters = min_letters
        self.logit_scale = logit_scale
        self.workers = workers

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(raw_items=True, item_modality="image", text_encoder=True, one_space=False,
                                                    context=frozenset({"aligned", "concept_head", "encoder"}))

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> OCRClassifier:
        """Embed nothing new: keep the class text vectors, the label encoder and the visual route."""
        ctx = FitContext.build(context, **fields)
        ce = self._fit_common(ctx, y)
        if ctx.text_encoder is None or ctx.encoder is None:
            raise InputError("the ocr method needs the classifier's image encoder and a text encoder; use it through "
                             "ZeroShotClassifier(..., method='ocr')")
        _tesseract()
        self.class_vectors_ = l2_normalize(np.asarray(ce.vectors, dtype=np.float32))
        self.text_encoder_ = ctx.text_encoder
        self.encoder_ = ctx.encoder
        self.logit_scale_ = float(self.logit_scale if self.logit_scale is not None else ctx.default_logit_scale)
        name = str(self.visual)
        if name == "auto":
            name = "similarity" if ctx.aligned else ("wordnet" if ctx.concept_head is not None and any(
                ctx.concept_head.concept_ids or []) else ("conse" if ctx.concept_head is not None else "none"))
        self.visual_name_ = name
        self.visual_ = None if name == "none" else create_method(name).fit(context=ctx)
        self.n_features_in_ = 0
        return self

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Not saved yet: the visual route and the encoders live outside this method's state."""
        raise InputError("an ocr classifier cannot be saved yet; save the visual method (e.g. wordnet) and run "
                         "--method ocr at classification time")

    def read(self, items: list[Any]) -> list[str]:
        """The words read in every image (in parallel Tesseract processes)."""
        def one(it: Any) -> str:
            return read_text(it, min_confidence=self.min_confidence, min_letters=self.min_letters)

        with ThreadPoolExecutor(max_workers=max(1, int(self.workers))) as pool:
            return list(pool.map(one, items))

    def decision_function(self, X: Any) -> np.ndarray:
        """Fused log-probabilities ``(N, K)`` of raw images (paths or PIL images)."""
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        items = list(X)
        K = len(self.classes_)
        if self.visual_ is not None:
            out = log_softmax(self.visual_.decision_function(self.encoder_.encode(items)).astype(np.float64), axis=1)
        else:
            out = np.full((len(items), K), -np.log(K))
        texts = self.read(items)
        self.last_texts_ = texts
        has = [i for i, t in enumerate(texts) if t]
        if has:
            T = l2_normalize(self.text_encoder_.encode([texts[i] for i in has]))
            lt = log_softmax(self.logit_scale_ * (T @ self.class_vectors_.T).astype(np.float64), axis=1)
            out[has] = log_softmax(out[has] + float(self.text_weight) * lt, axis=1)
        return out.astype(np.float32)
