"""The routes' FastAPI dependencies: the app's :class:`~transzero.serve.service.Service`,
:class:`~transzero.serve.studio.Studio`, settings and metrics (from ``app.state``, set by ``create_app``), and
the bearer-key check of every ``/v1`` route (:func:`auth`)."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request

from .errors import ApiError
from .metrics import Metrics
from .service import ServeSettings, Service
from .studio import Studio

__all__ = ["V1", "auth", "get_metrics", "get_service", "get_settings", "get_studio"]


def get_service(request: Request) -> Service:
    """The inference service (encoders, micro-batchers, built classifiers)."""
    return request.app.state.service  # type: ignore[no-any-return]


def get_studio(request: Request) -> Studio:
    """The stored classifiers' operations."""
    return request.app.state.studio  # type: ignore[no-any-return]


def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


def auth(request: Request) -> None:
    """401 unless the request carries ``Authorization: Bearer KEY`` (when the server has an API key)."""
    key = get_settings(request).api_key
    if not key:
        return
    got = request.headers.get("authorization", "")
    if not hmac.compare_digest(got.encode(), f"Bearer {key}".encode()):
        raise ApiError(401, "unauthorized", "this server needs an API key: send 'Authorization: Bearer KEY'")


#: the dependencies of every ``/v1`` route
V1 = [Depends(auth)]
