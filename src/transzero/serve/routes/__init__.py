"""The service's routes, one :class:`fastapi.APIRouter` per area: :mod:`.meta` (health, models, metrics, the
studio page), :mod:`.classify` (classify, embed) and :mod:`.classifiers` (the stored classifiers)."""

from __future__ import annotations

from .classifiers import router as classifiers
from .classify import router as classify
from .meta import STATIC
from .meta import router as meta

__all__ = ["STATIC", "classifiers", "classify", "meta"]
