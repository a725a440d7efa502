"""The FastAPI app of ``transzero serve``: the HTTP API, ``/metrics`` and the studio page at ``/``.

:func:`create_app` only wires: the routers of :mod:`.routes` (routes only parse and answer; the work is
:class:`~transzero.serve.service.Service`'s, which predicts through the job pipeline, and
:class:`~transzero.serve.studio.Studio`'s for the stored classifiers; both reach the routes as FastAPI dependencies,
:mod:`.deps`), the JSON error handlers of :mod:`.errors`, and the middleware: :class:`BodyLimit`, the metrics of
every request, CORS when asked. Every error is JSON ``{"error": {"type", "message"}}`` with status 400, 401, 404,
405, 409, 413 or 422 and a snake_case ``type`` (:data:`ERROR_TYPES`); an unexpected failure is a 500 with no
traceback in the response (it goes to the server log). Request bodies are untrusted: JSON nested deeper than
:data:`MAX_JSON_DEPTH`, broken JSON and broken multipart forms are 400s, and messages never show the server's own
folders.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import routes
from .bodies import Upload
from .errors import (
    ERROR_TYPES, MAX_JSON_DEPTH, ApiError, add_handlers, error_response, error_type, json_depth, json_guard, parse_json,
)
from .metrics import Metrics
from .service import ServeSettings, Service
from .studio import Studio

__all__ = ["ERROR_TYPES", "MAX_JSON_DEPTH", "ApiError", "BodyLimit", "ServeSettings", "Upload", "create_app",
           "error_type", "json_depth", "parse_json"]


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before the app reads them (by header or while streaming),
    and JSON bodies nested deeper than :data:`MAX_JSON_DEPTH` with 400."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = error_response(413, "payload_too_large", f"the request body is over {self.max_bytes / 2**20:g} MB "
                                                            "(--max-body-mb); send fewer or smaller items")
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await too_big(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = bool(msg.get("more_body"))
            if len(body) > self.max_bytes:
                await too_big(scope, receive, send)
                return
        refused = json_guard(scope, bytes(body))
        if refused is not None:
            await refused(scope, receive, send)
            return
        done = False

        async def replay() -> Message:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)



def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The service's app (``uvicorn.run(create_app(settings))``; tests use ``TestClient(create_app(...))``)."""
    from .. import __version__

    settings = settings or ServeSettings()
    metrics = Metrics(settings.replica)
    service = Service(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="transzero", version=__version__, docs_url="/docs", redoc_url=None, lifespan=lifespan,
                  description="Classify texts, images and audio into classes described in words; learn from a few "
                              "labels. Errors are JSON {\"error\": {\"type\", \"message\"}}.")
    app.state.service = service
    app.state.studio = Studio(service)
    app.state.metrics = metrics
    app.state.settings = settings
    add_handlers(app)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Response:  # metrics of every request
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.request(path, request.method, response.status_code, time.perf_counter() - t0)
        if settings.replica is not None:
            response.headers["X-Transzero-Replica"] = settings.replica
        return response

    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))

    app.include_router(routes.meta)
    app.mount("/static", StaticFiles(directory=routes.STATIC), name="static")
    app.include_router(routes.classify)
    app.include_router(routes.classifiers)
    return app
