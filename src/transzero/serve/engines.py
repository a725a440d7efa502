"""How ``transzero serve`` runs its app: a registry of serve engines, name -> runner.

``local`` (the default) is one uvicorn process; ``ray`` (:mod:`transzero.serve.ray_serve`, loaded only when asked
for) serves the same app from the replicas of a Ray Serve deployment. A runner takes the settings, its own options
(a dict from the command line) and ``say``, which prints one line for the user; it returns when the server stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InputError
from .plugins import import_plugins
from .service import ServeSettings

__all__ = ["ServeRunner", "register_serve_engine", "run_server", "serve_engines"]

#: ``runner(settings, options, say)``
ServeRunner = Callable[[ServeSettings, dict[str, Any], Callable[[str], None]], None]
_ENGINES: dict[str, ServeRunner] = {}


def register_serve_engine(name: str) -> Callable[[ServeRunner], ServeRunner]:
    """Register ``runner`` as ``transzero serve --engine NAME``."""

    def add(runner: ServeRunner) -> ServeRunner:
        _ENGINES[name] = runner
        return runner

    return add


def serve_engines() -> list[str]:
    return sorted(_ENGINES)


def run_server(engine: str, settings: ServeSettings, options: dict[str, Any], say: Callable[[str], None]) -> None:
    """Serve ``settings`` with ``engine`` until it is stopped (Ctrl-C or SIGTERM), its ``--plugin`` modules
    imported first."""
    runner = _ENGINES.get(engine)
    if runner is None:
        raise InputError(f"--engine {engine!r} is not a serve engine; choose one of {', '.join(serve_engines())}")
    import_plugins(settings.plugins)
    runner(settings, options, say)


def _url(settings: ServeSettings) -> str:
    shown = "localhost" if settings.host in ("127.0.0.1", "::1") else settings.host
    return f"http://{shown}:{settings.port}/"


@register_serve_engine("local")
def run_local(settings: ServeSettings, options: dict[str, Any], say: Callable[[str], None]) -> None:
    """One uvicorn process (one micro-batcher per encoder)."""
    import uvicorn

    from .app import create_app

    if options:
        raise InputError(f"{', '.join('--' + k.replace('_', '-') for k in options)}: only with --engine ray")
    app = create_app(settings)
    say(f"transzero studio on {_url(settings)} · API docs at /docs · store {app.state.service.store.root}"
        + (" · API key required" if settings.api_key else ""))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


@register_serve_engine("ray")
def run_ray(settings: ServeSettings, options: dict[str, Any], say: Callable[[str], None]) -> None:
    """The app in every replica of a Ray Serve deployment (:func:`transzero.serve.ray_serve.run`)."""
    try:
        from . import ray_serve
    except ImportError as exc:
        raise InputError(f"--engine ray needs Ray Serve: pip install \"transzero[serve-ray]\" ({exc.name} is "
                         "missing)") from None
    ray_serve.run(settings, ray_serve.RayServeOptions.from_options(options), say, url=_url(settings))
