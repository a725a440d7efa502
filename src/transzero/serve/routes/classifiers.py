"""The stored classifiers, ``/v1/classifiers[/{name}[/examples|/pool|/next]]``: parse, then
:class:`~transzero.serve.studio.Studio` answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ..bodies import media
from ..deps import V1, get_studio
from ..errors import ERROR_RESPONSES
from ..schemas import ClassifierInfo, ClassifierPut, ExamplesRequest, NextResponse, PolicyRequest, PoolRequest, UndoResponse
from ..service import NotFound
from ..studio import Studio

__all__ = ["router"]

router = APIRouter(dependencies=V1)


@router.get("/v1/classifiers")
async def classifiers(studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return {"classifiers": await studio.list_classifiers()}


@router.get("/v1/classifiers/{name}", response_model=ClassifierInfo, responses=ERROR_RESPONSES)
async def classifier_info(name: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    for info in await studio.list_classifiers():
        if info["name"] == name and "error" not in info:
            return info
    raise NotFound(f"no classifier named {name!r}; see GET /v1/classifiers")


@router.put("/v1/classifiers/{name}", response_model=ClassifierInfo, responses=ERROR_RESPONSES)
async def put_classifier(name: str, body: ClassifierPut, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.put(name, body)


@router.post("/v1/classifiers/{name}/examples", response_model=ClassifierInfo, responses=ERROR_RESPONSES)
async def add_examples(name: str, body: ExamplesRequest, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.add_examples(name, body.examples)


@router.post("/v1/classifiers/{name}/pool", responses=ERROR_RESPONSES)
async def add_pool(name: str, body: PoolRequest, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    raw = body.items or body.images or body.audio or []
    return await studio.add_pool(name, media(body, []), list(raw))


@router.delete("/v1/classifiers/{name}/examples/last", response_model=UndoResponse, responses=ERROR_RESPONSES)
async def undo_example(name: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.undo(name)


@router.put("/v1/classifiers/{name}/policy", response_model=ClassifierInfo, responses=ERROR_RESPONSES)
async def set_policy(name: str, body: PolicyRequest, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.set_policy(name, body.policy)


@router.get("/v1/classifiers/{name}/session", responses=ERROR_RESPONSES)
async def session(name: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.session(name)


@router.get("/v1/classifiers/{name}/next", response_model=NextResponse, responses=ERROR_RESPONSES)
async def next_items(name: str, k: int = Query(5, ge=1, le=100),
                     policy: str | None = Query(None, pattern="^(margin|entropy|diverse)$"),
                     studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.next_items(name, k, policy)


@router.delete("/v1/classifiers/{name}", responses=ERROR_RESPONSES)
async def delete_classifier(name: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return await studio.delete(name)
