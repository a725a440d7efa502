"""``transzero serve``: an HTTP API (FastAPI) and a web studio over the job pipeline.

Install with ``pip install "transzero[serve]"``. ``create_app(ServeSettings(...))`` builds the app (:mod:`.app`,
from the routers of :mod:`.routes` and the error handlers of :mod:`.errors`); :mod:`.service` holds what inference
does, :mod:`.studio` what the stored classifiers do, :mod:`.batcher` the micro-batching, :mod:`.store` the saved
classifiers.
"""

from __future__ import annotations

from .service import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def create_app(settings: ServeSettings | None = None):  # type: ignore[no-untyped-def]
    """The FastAPI app (imports FastAPI only when called)."""
    from .app import create_app as make

    return make(settings)
