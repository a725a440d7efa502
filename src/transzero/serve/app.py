"""The FastAPI app of ``transzero serve``: the HTTP API, ``/metrics`` and the studio page at ``/``.

Routes only parse and answer; the work is :class:`~transzero.serve.service.Service`'s, which predicts through
the job pipeline. Every error is JSON ``{"error": {"type", "message"}}`` with status 400, 401, 404, 405, 409, 413
or 422 and a snake_case ``type`` (:data:`ERROR_TYPES`); an unexpected failure is a 500 with no traceback in the
response (it goes to the server log). Request bodies are untrusted: JSON nested deeper than :data:`MAX_JSON_DEPTH`,
broken JSON and broken multipart forms are 400s, and messages never show the server's own folders.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import TranszeroError
from .metrics import Metrics
from .schemas import (
    ClassifierInfo, ClassifierPut, ClassifyRequest, ClassifyResponse, EmbedRequest, EmbedResponse, ErrorBody,
    ExamplesRequest, NextResponse, PoolRequest,
)
from .service import Conflict, Media, NotFound, ServeSettings, Service, TooLarge, decode_media

__all__ = ["ERROR_TYPES", "MAX_JSON_DEPTH", "ApiError", "create_app", "error_type", "json_depth"]

log = logging.getLogger("transzero.serve")
STATIC = Path(str(resources.files("transzero.serve") / "static"))
ERRORS = {400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
          413: {"model": ErrorBody}, 422: {"model": ErrorBody}}
#: JSON bodies (and JSON form fields) nested deeper than this are refused with 400 before they are used
MAX_JSON_DEPTH = 32
#: the error ``type`` of each status the API answers (400 and 404 have several); all snake_case
ERROR_TYPES = {
    400: ("bad_request", "invalid_json", "invalid_multipart", "input_error", "label_error", "encoder_not_found_error",
          "model_unavailable_error", "saved_model_error"),
    401: ("unauthorized",), 404: ("not_found",), 405: ("method_not_allowed",), 409: ("conflict",),
    413: ("payload_too_large",), 422: ("validation_error",), 500: ("internal_error",),
}


class ApiError(Exception):
    """An HTTP error answered as ``{"error": {"type", "message"}}``."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def _error(status: int, type_: str, message: str) -> JSONResponse:
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")  # always answerable as UTF-8
    return JSONResponse({"error": {"type": type_, "message": message}}, status_code=status)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _status_type(status: int) -> str:
    """``method_not_allowed`` for 405: a status's phrase in snake_case (``http_error`` for unknown ones)."""
    try:
        return re.sub(r"[^a-z0-9]+", "_", HTTPStatus(status).phrase.lower()).strip("_")
    except ValueError:
        return "http_error"


def error_type(exc: TranszeroError) -> tuple[int, str]:
    """The status and snake_case ``type`` a user error is answered with (``InputError`` -> 400 ``input_error``)."""
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, Conflict):
        return 409, "conflict"
    if isinstance(exc, TooLarge):
        return 413, "payload_too_large"
    return 400, _snake(type(exc).__name__)


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply lists and objects nest in ``value`` (``[]`` is 1), without recursion; stops early past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
    return deepest


def _too_deep(what: str) -> ApiError:
    return ApiError(400, "invalid_json", f"{what} is nested deeper than {MAX_JSON_DEPTH} levels of lists and objects; "
                                         "send a flatter document")


def _not_json(what: str, exc: ValueError) -> ApiError:
    why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8" if isinstance(exc, UnicodeError) else str(exc)
    return ApiError(400, "invalid_json", f"{what} is not JSON ({why}); send UTF-8 application/json")


def parse_json(data: bytes | str, what: str) -> Any:
    """``data`` parsed, or a 400 ``invalid_json`` naming ``what`` (not JSON, or nested too deeply)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep(what) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _not_json(what, exc) from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise _too_deep(what)
    return value


def _json_guard(scope: Scope, body: bytes) -> JSONResponse | None:
    """A 400 for a JSON body nested too deeply, before any route parses it (so no parser recurses that far);
    other bodies, broken JSON included, are left to the route. Cheap for the usual body: a document with
    fewer brackets than the depth limit cannot be too deep, and is not parsed here."""
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return None
    ctype = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    if ctype.startswith((b"multipart/", b"application/x-www-form-urlencoded")):
        return None
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return None
    try:
        too_deep = json_depth(json.loads(body)) > MAX_JSON_DEPTH
    except RecursionError:
        too_deep = True
    except ValueError:
        return None
    if not too_deep:
        return None
    exc = _too_deep("the body")
    return _error(exc.status, exc.type, exc.message)


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
        refused = _json_guard(scope, bytes(body))
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
        status, type_ = error_type(exc)
        return _error(status, type_, service.redact(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        e = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if e.get("type") == "json_invalid":  # FastAPI's own parse of a route's JSON body
            why = (e.get("ctx") or {}).get("error") or e.get("msg")
            return _error(400, "invalid_json", f"the body is not JSON ({why}); send application/json")
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if not where and e.get("type") == "value_error":  # a check of the whole body names its own place
            return _error(422, "validation_error", msg)
        return _error(422, "validation_error", f"{where or 'body'}: {msg}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # FastAPI could not parse a JSON body
            bad = _not_json("the body", exc.__cause__)
            return _error(bad.status, bad.type, bad.message)
        return _error(exc.status_code, _status_type(exc.status_code), str(exc.detail))

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
        return await service.classify(body, _media(body, files))

    @app.post("/v1/embed", dependencies=v1, response_model=EmbedResponse, responses=ERRORS)  # type: ignore[arg-type]
    async def embed(body: EmbedRequest) -> dict[str, Any]:
        return await service.embed(body, _media(body, []))

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
        return await service.add_pool(name, _media(body, []), list(raw))

    @app.get("/v1/classifiers/{name}/next", dependencies=v1, response_model=NextResponse, responses=ERRORS)  # type: ignore[arg-type]
    async def next_items(name: str, k: int = Query(5, ge=1, le=100)) -> dict[str, Any]:
        return await service.next_items(name, k)

    @app.delete("/v1/classifiers/{name}", dependencies=v1, responses=ERRORS)  # type: ignore[arg-type]
    async def delete_classifier(name: str) -> dict[str, Any]:
        return await service.delete(name)

    return app


@dataclass(frozen=True)
class Upload:
    """One uploaded file, read whole (the form is closed before any work): its safe name, content type, bytes."""

    name: str
    content_type: str
    data: bytes


def _upload_name(filename: str | None, i: int) -> str:
    """A client's file name as messages show it: the last path part, printable, at most 100 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "?", name).encode("utf-8", "replace").decode("utf-8")[:100].strip()
    return name or f"upload {i}"


async def _read_form(request: Request) -> tuple[dict[str, Any], list[Upload]]:
    """A multipart form's text fields and ``files`` uploads; a form that cannot be read is a 400."""
    try:
        form = await request.form()
    except (StarletteHTTPException, MultiPartException, ValueError, KeyError) as exc:
        why = getattr(exc, "detail", None) or getattr(exc, "message", None) or "malformed"
        raise ApiError(400, "invalid_multipart", f"the multipart form cannot be read ({why}); send the files and "
                                                 "fields as multipart/form-data with its boundary") from None
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        uploads = [Upload(_upload_name(f.filename, i), (f.content_type or "").lower(), await f.read())
                   for i, f in enumerate(v for k, v in form.multi_items() if k == "files" and not isinstance(v, str))]
    finally:
        await form.close()
    return fields, uploads


def _form_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The classify request's fields from a form: ``labels`` as comma-separated names or a JSON list/object."""
    out: dict[str, Any] = {}
    for key in ("labels", "classifier", "encoder", "method", "top_k", "explain", "reject", "multi_label"):
        v = fields.get(key)
        if v is None:
            continue
        if key == "labels":
            v = str(v).strip()
            is_json = v.startswith(("[", "{"))
            out[key] = parse_json(v, "form field labels") if is_json else [x.strip() for x in v.split(",")]
        else:
            out[key] = v
    return out


async def _classify_body(request: Request) -> tuple[ClassifyRequest, list[Upload]]:
    """The classify request from JSON, or from a multipart form with ``files`` (uploads) and the same fields."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        fields, uploads = await _read_form(request)
        data, files = _form_fields(fields), uploads
    else:
        data, files = parse_json(await request.body(), "the body"), []
    try:
        return ClassifyRequest.model_validate(data), files
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _media(body: Any, files: list[Upload]) -> Media:
    """The request's items from exactly one of ``items``, ``images``, ``audio``, ``files``, each with the name
    messages call it by (``images[2]``, an upload's file name)."""
    given = [k for k in ("items", "images", "audio") if getattr(body, k, None) is not None] + (["files"] if files else [])
    if len(given) != 1:
        raise ApiError(400, "bad_request", "give exactly one of items (texts), images, audio (base64) or files "
                                           f"(uploads); got {', '.join(given) or 'none'}")
    kind = given[0]
    if kind == "items":
        return Media("text", list(body.items), {})
    if kind in ("images", "audio"):
        modality = "image" if kind == "images" else "audio"
        values = list(getattr(body, kind))
        items, errors = decode_media(values, modality)
        return Media(modality, items, errors, [f"{kind}[{i}]" for i in range(len(values))])
    kinds = [_upload_modality(f) for f in files]
    known = {k for k in kinds if k is not None}
    if len(known) != 1:
        raise ApiError(400, "bad_request", "uploads must be images or audio clips, not both (by content type or suffix); "
                                           f"got {', '.join(sorted(known)) or 'neither'}")
    modality = known.pop()
    out: list[Any] = []
    errors: dict[int, str] = {}
    for i, (f, kind) in enumerate(zip(files, kinds)):
        if kind is None:
            errors[i] = f"{f.name}: not an {modality} file (content type {f.content_type or 'unknown'}); remove it"
        elif not f.data:
            errors[i] = f"{f.name}: the file is empty (0 bytes)"
        out.append(f.data if i not in errors else None)
    return Media(modality, out, errors, [f.name for f in files])


def _upload_modality(f: Upload) -> str | None:
    from ..data.audio import AUDIO_SUFFIXES
    from ..data.images import IMAGE_SUFFIXES

    if f.content_type.startswith("image/"):
        return "image"
    if f.content_type.startswith("audio/"):
        return "audio"
    suffix = Path(f.name).suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else None
