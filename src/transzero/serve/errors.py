"""The service's errors, all JSON ``{"error": {"type", "message"}}``: :class:`ApiError`, the snake_case ``type`` of each
status (:data:`ERROR_TYPES`, :func:`error_type`), the app's exception handlers (:func:`add_handlers`), and the guard
against JSON nested deeper than :data:`MAX_JSON_DEPTH` (:func:`parse_json`, :func:`json_guard`).

An unexpected failure is a 500 with no traceback in the response (it goes to the server log); a user error's
message never shows the server's own folders (:meth:`~transzero.serve.service.Service.redact`).
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from ..errors import TranszeroError
from .schemas import ErrorBody
from .service import Conflict, NotFound, TooLarge

__all__ = ["ERROR_RESPONSES", "ERROR_TYPES", "MAX_JSON_DEPTH", "ApiError", "add_handlers", "error_response",
           "error_type", "json_depth", "json_guard", "parse_json"]

log = logging.getLogger("transzero.serve")
#: the OpenAPI ``responses`` of a route that can fail with the JSON error body
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
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


def error_response(status: int, type_: str, message: str) -> JSONResponse:
    """The JSON error body with ``status``."""
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


# ---------------------------------------------------------------------- JSON depth
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


def json_guard(scope: Scope, body: bytes) -> JSONResponse | None:
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
    return error_response(exc.status, exc.type, exc.message)


# ---------------------------------------------------------------------- handlers
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.type, exc.message)


async def _user_error(request: Request, exc: TranszeroError) -> JSONResponse:
    status, type_ = error_type(exc)
    return error_response(status, type_, request.app.state.service.redact(str(exc)))


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    e = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if e.get("type") == "json_invalid":  # FastAPI's own parse of a route's JSON body
        why = (e.get("ctx") or {}).get("error") or e.get("msg")
        return error_response(400, "invalid_json", f"the body is not JSON ({why}); send application/json")
    where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
    msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
    if not where and e.get("type") == "value_error":  # a check of the whole body names its own place
        return error_response(422, "validation_error", msg)
    return error_response(422, "validation_error", f"{where or 'body'}: {msg}")


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # FastAPI could not parse a JSON body
        bad = _not_json("the body", exc.__cause__)
        return error_response(bad.status, bad.type, bad.message)
    return error_response(exc.status_code, _status_type(exc.status_code), str(exc.detail))


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; the server log has the details")


def add_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as JSON: API errors, user errors (redacted), validation, HTTP, the unexpected."""
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(TranszeroError, _user_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal)
