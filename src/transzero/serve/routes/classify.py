"""``POST /v1/classify`` (JSON, or a multipart form with ``files``) and ``POST /v1/embed``: parse, then
:class:`~transzero.serve.service.Service` answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..bodies import classify_body, media
from ..deps import V1, get_service
from ..errors import ERROR_RESPONSES
from ..schemas import ClassifyRequest, ClassifyResponse, EmbedRequest, EmbedResponse
from ..service import Service

__all__ = ["router"]

router = APIRouter(dependencies=V1)

#: the classify request's two forms, for the OpenAPI schema (the route reads the body itself)
CLASSIFY_BODY = {"requestBody": {"content": {
    "application/json": {"schema": ClassifyRequest.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "labels": {"type": "string", "description": "comma-separated names, or a JSON list/object"},
        "classifier": {"type": "string"}, "encoder": {"type": "string"}, "method": {"type": "string"},
        "top_k": {"type": "integer"}, "explain": {"type": "integer"}, "reject": {"type": "number"},
        "multi_label": {"type": "number"}}}}}, "required": True}}


@router.post("/v1/classify", response_model=ClassifyResponse, response_model_exclude_unset=True,
             responses=ERROR_RESPONSES, openapi_extra=CLASSIFY_BODY)
async def classify(request: Request, service: Service = Depends(get_service)) -> dict[str, Any]:
    body, files = await classify_body(request)
    return await service.classify(body, media(body, files))


@router.post("/v1/embed", response_model=EmbedResponse, responses=ERROR_RESPONSES)
async def embed(body: EmbedRequest, service: Service = Depends(get_service)) -> dict[str, Any]:
    return await service.embed(body, media(body, []))
