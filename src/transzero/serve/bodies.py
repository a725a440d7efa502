"""Request bodies into what the service takes: a classify request from JSON or from a multipart form (its
``files`` read whole, each an :class:`Upload`), and a request's items as :class:`~transzero.serve.service.Media`
(exactly one of ``items``, ``images``, ``audio``, ``files``; bad items become per-item errors)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from .errors import ApiError, parse_json
from .schemas import ClassifyRequest
from .service import Media, decode_media

__all__ = ["Upload", "classify_body", "media"]


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


async def classify_body(request: Request) -> tuple[ClassifyRequest, list[Upload]]:
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


def media(body: Any, files: list[Upload]) -> Media:
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
