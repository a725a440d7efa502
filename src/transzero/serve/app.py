"""The FastAPI app of ``transzero serve``: the HTTP API, ``/metrics`` and the studio page at ``/``.

Routes only parse and answer; the work is :class:`~transzero.serve.service.Service`'s, which predicts through
the job pipeline. Every error is JSON ``{"error": {"type", "message"}}`` with status 400, 401, 404, 409, 413 or
422; an unexpected failure is a 500 with no traceback in the response (it goes to the server log).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import TranszeroError
from .metrics import Metrics
from .schemas import (
    ClassifierInfo, ClassifierPut, ClassifyRequest, ClassifyResponse, EmbedRequest, EmbedResponse, ErrorBody,
    ExamplesRequest, NextResponse, PoolRequest,
)
from .service import Conflict, NotFound, ServeSettings, Service, TooLarge, decode_media

__all__ = ["ApiError", "create_app"]

log = logging.getLogger("transzero.serve")
STATIC = Path(str(resources.files("transzero.serve") / "static"))
ERRORS = {400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
          413: {"model": ErrorBody}, 422: {"model": ErrorBody}}


class ApiError(Exception):
    """An HTTP error answered as ``{"error": {"type", "message"}}``."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def _error(status: int, type_: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message}}, status_code=status)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before the app reads them (by header or while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = _error(413, "payload_too_large", f"the request body is over {self.max_bytes / 2**20:g} MB "
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
    metrics = Metrics()
    service = Service(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="transzero", version=__version__, docs_url="/docs", redoc_url=None, lifespan=lifespan,
                  description="Classify texts, images and audio into classes described in words; learn from a few "
                              "labels. Errors are JSON {\"error\": {\"type\", \"message\"}}.")
    app.state.service = service
    app.state.metrics = metrics
    app.state.settings = settings

    # ------------------------------------------------------------------ errors, all JSON
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.type, exc.message)

    @app.exception_handler(TranszeroError)
    async def _user_error(request: Request, exc: TranszeroError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else \
            413 if isinstance(exc, TooLarge) else 400
        return _error(status, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        e = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        return _error(422, "validation_error", f"{where}: {e.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "internal error; the server log has the details")

    # ------------------------------------------------------------------ metrics of every request
    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.request(path, request.method, response.status_code, time.perf_counter() - t0)
        return response

    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))

    def auth(request: Request) -> None:
        if not settings.api_key:
            return
        got = request.headers.get("authorization", "")
        if not hmac.compare_digest(got.encode(), f"Bearer {settings.api_key}".encode()):
            raise ApiError(401, "unauthorized", "this server needs an API key: send 'Authorization: Bearer KEY'")

    v1 = [Depends(auth)]

    # ------------------------------------------------------------------ routes
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", include_in_schema=False)
    async def studio() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/v1/models", dependencies=v1)
    async def models() -> dict[str, Any]:
        from ..defaults import DEFAULT_ENCODERS, DEFAULT_METHODS
        from ..encoders.registry import all_specs
        from ..methods.registry import list_methods, method_info

        return {"encoders": [{"name": s.name, "modality": s.modality, "available": s.available(),
                              "description": s.description} for s in all_specs()],
                "defaults": {**DEFAULT_ENCODERS, **settings.encoders}, "default_methods": DEFAULT_METHODS,
                "methods": [{"name": m, "family": method_info(m).family, "summary": method_info(m).summary}
                            for m in list_methods()]}

    @app.post("/v1/classify", dependencies=v1, response_model=ClassifyResponse, response_model_exclude_unset=True,
              responses=ERRORS,  # type: ignore[arg-type]
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": ClassifyRequest.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                      "labels": {"type": "string", "description": "comma-separated names, or a JSON list/object"},
                      "classifier": {"type": "string"}, "encoder": {"type": "string"}, "method": {"type": "string"},
                      "top_k": {"type": "integer"}, "explain": {"type": "integer"}, "reject": {"type": "number"},
                      "multi_label": {"type": "number"}}}}}, "required": True}})
    async def classify(request: Request) -> dict[str, Any]:
        body, files = await _classify_body(request)
        return await service.classify(body, await _media(body, files))

    @app.post("/v1/embed", dependencies=v1, response_model=EmbedResponse, responses=ERRORS)  # type: ignore[arg-type]
    async def embed(body: EmbedRequest) -> dict[str, Any]:
        return await service.embed(body, await _media(body, []))

    @app.get("/v1/classifiers", dependencies=v1)
    async def classifiers() -> dict[str, Any]:
        return {"classifiers": await service.list_classifiers()}

    @app.get("/v1/classifiers/{name}", dependencies=v1, response_model=ClassifierInfo, responses=ERRORS)  # type: ignore[arg-type]
    async def classifier_info(name: str) -> dict[str, Any]:
        for info in await service.list_classifiers():
            if info["name"] == name and "error" not in info:
                return info
        raise NotFound(f"no classifier named {name!r}; see GET /v1/classifiers")

    @app.put("/v1/classifiers/{name}", dependencies=v1, response_model=ClassifierInfo, responses=ERRORS)  # type: ignore[arg-type]
    async def put_classifier(name: str, body: ClassifierPut) -> dict[str, Any]:
        return await service.put(name, body)

    @app.post("/v1/classifiers/{name}/examples", dependencies=v1, response_model=ClassifierInfo, responses=ERRORS)  # type: ignore[arg-type]
    async def add_examples(name: str, body: ExamplesRequest) -> dict[str, Any]:
        return await service.add_examples(name, body.examples)

    @app.post("/v1/classifiers/{name}/pool", dependencies=v1, responses=ERRORS)  # type: ignore[arg-type]
    async def add_pool(name: str, body: PoolRequest) -> dict[str, Any]:
        raw = body.items or body.images or body.audio or []
        return await service.add_pool(name, await _media(body, []), list(raw))

    @app.get("/v1/classifiers/{name}/next", dependencies=v1, response_model=NextResponse, responses=ERRORS)  # type: ignore[arg-type]
    async def next_items(name: str, k: int = Query(5, ge=1, le=100)) -> dict[str, Any]:
        return await service.next_items(name, k)

    @app.delete("/v1/classifiers/{name}", dependencies=v1, responses=ERRORS)  # type: ignore[arg-type]
    async def delete_classifier(name: str) -> dict[str, Any]:
        return await service.delete(name)

    return app


async def _classify_body(request: Request) -> tuple[ClassifyRequest, list[Any]]:
    """The classify request from JSON, or from a multipart form with ``files`` (uploads) and the same fields."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        files = [f for f in form.getlist("files") if hasattr(f, "read")]
        fields: dict[str, Any] = {}
        for key in ("labels", "classifier", "encoder", "method", "top_k", "explain", "reject", "multi_label"):
            v = form.get(key)
            if v is None or hasattr(v, "read"):
                continue
            if key == "labels":
                v = str(v).strip()
                fields[key] = json.loads(v) if v[:1] in "[{" else [x.strip() for x in v.split(",")]
            else:
                fields[key] = v
        try:
            return ClassifyRequest.model_validate(fields), files
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not JSON; send application/json or multipart/form-data") from None
    try:
        return ClassifyRequest.model_validate(data), []
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


async def _media(body: Any, files: list[Any]) -> tuple[str, list[Any], dict[int, str]]:
    """``(modality, items, errors)`` from exactly one of ``items``, ``images``, ``audio``, ``files``."""
    given = [k for k in ("items", "images", "audio") if getattr(body, k, None) is not None] + (["files"] if files else [])
    if len(given) != 1:
        raise ApiError(400, "bad_request", "give exactly one of items (texts), images, audio (base64) or files "
                                           f"(uploads); got {', '.join(given) or 'none'}")
    kind = given[0]
    if kind == "items":
        return "text", list(body.items), {}
    if kind in ("images", "audio"):
        modality = "image" if kind == "images" else "audio"
        items, errors = decode_media(list(getattr(body, kind)), modality)
        return modality, items, errors
    kinds = [_upload_modality(f) for f in files]
    known = {k for k in kinds if k is not None}
    if len(known) != 1:
        raise ApiError(400, "bad_request", "uploads must be images or audio clips, not both (by content type or suffix); "
                                           f"got {', '.join(sorted(known)) or 'neither'}")
    modality = known.pop()
    out: list[Any] = []
    errors: dict[int, str] = {}
    for i, (f, kind) in enumerate(zip(files, kinds)):
        data = await f.read()
        name = f.filename or f"upload {i}"
        if kind is None:
            errors[i] = f"{name}: not an {modality} file (content type {f.content_type or 'unknown'}); remove it"
        elif not data:
            errors[i] = f"{name}: the file is empty (0 bytes)"
        out.append(data if i not in errors else None)
    return modality, out, errors


def _upload_modality(f: Any) -> str | None:
    from ..data.audio import AUDIO_SUFFIXES
    from ..data.images import IMAGE_SUFFIXES

    ctype = (getattr(f, "content_type", "") or "").lower()
    if ctype.startswith("image/"):
        return "image"
    if ctype.startswith("audio/"):
        return "audio"
    suffix = Path(getattr(f, "filename", "") or "").suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else None
