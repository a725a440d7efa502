"""``/healthz``, ``/metrics`` (Prometheus), ``/v1/models`` and the studio page at ``/`` (its files are mounted
at ``/static`` from :data:`STATIC` by ``create_app``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, JSONResponse, Response

from ..deps import V1, get_metrics, get_service, get_settings
from ..metrics import Metrics
from ..service import ServeSettings, Service

__all__ = ["STATIC", "router"]

#: the studio's files (``index.html``, ``studio.js``, ``studio.css``)
STATIC = Path(str(resources.files("transzero.serve") / "static"))
router = APIRouter()


@router.get("/healthz", responses={503: {"description": "Unhealthy: {\"status\": \"unhealthy\", \"problems\": [...]}"}})
async def healthz(service: Service = Depends(get_service)) -> Any:
    """``{"status": "ok"}``, or 503 with what is wrong (load balancers and Ray Serve's replica checks use it)."""
    problems = service.health()
    if problems:
        return JSONResponse({"status": "unhealthy", "problems": problems}, status_code=503)
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def prometheus(metrics: Metrics = Depends(get_metrics)) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/", include_in_schema=False)
async def studio() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/v1/models", dependencies=V1)
async def models(settings: ServeSettings = Depends(get_settings)) -> dict[str, Any]:
    from ...defaults import DEFAULT_ENCODERS, DEFAULT_METHODS
    from ...encoders.registry import all_specs
    from ...methods.registry import list_methods, method_info

    return {"encoders": [{"name": s.name, "modality": s.modality, "available": s.available(),
                          "description": s.description} for s in all_specs()],
            "defaults": {**DEFAULT_ENCODERS, **settings.encoders}, "default_methods": DEFAULT_METHODS,
            "methods": [{"name": m, "family": method_info(m).family, "summary": method_info(m).summary}
                        for m in list_methods()]}
