"""``transzero serve``: the HTTP API and the studio page (``pip install "transzero[serve]"``); with ``--engine ray``
the same app on the replicas of a Ray Serve deployment (``pip install "transzero[serve-ray]"``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from ._common import CacheDirOpt, NoCacheOpt, err


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default; 0.0.0.0 exposes it)."),
    port: int = typer.Option(8000, "--port", help="Port."),
    model: Optional[list[str]] = typer.Option(None, "--model", help="NAME=DIR: serve a saved classifier read-only under NAME. Repeatable."),
    store: Optional[Path] = typer.Option(None, "--store", help="Folder of the classifiers made through the API and the studio "
                                                             "(default: $TRANSZERO_STORE or ~/.local/share/transzero/classifiers)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="Require 'Authorization: Bearer KEY' on every /v1 route "
                                                                 "(or set TRANSZERO_API_KEY)."),
    cors: Optional[list[str]] = typer.Option(None, "--cors", help="Allow browser requests from ORIGIN (off by default). Repeatable."),
    max_body_mb: float = typer.Option(20.0, "--max-body-mb", help="Larger request bodies get 413."),
    max_items: int = typer.Option(1024, "--max-items", help="Requests with more items get 413."),
    max_labels: int = typer.Option(512, "--max-labels", min=2, help="Requests with more labels (or label "
                                                                     "descriptions) get 413."),
    encoder: Optional[list[str]] = typer.Option(None, "--encoder", help="Default encoder of its modality when a request names "
                                                                        "none (a registered name). Repeatable."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Text requests that name no encoder: fast or accurate "
                                                                 "(the default); non-English texts get e5-small under both."),
    max_batch: int = typer.Option(128, "--max-batch", help="Micro-batching: items per encoder call at most."),
    max_wait_ms: float = typer.Option(50.0, "--max-wait-ms", help="Micro-batching: how long a request waits for company "
                                                                  "under load (an idle server does not wait)."),
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    plugin: Optional[list[str]] = typer.Option(None, "--plugin", help="Import MODULE first: it registers your own "
                                                                      "encoders or methods (with --engine ray, in "
                                                                      "every replica). Repeatable."),
    engine: str = typer.Option("local", "--engine", help="local: one process; ray: replicas of a Ray Serve "
                                                         "deployment (the serve-ray extra)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="--engine ray: join this Ray cluster "
                                                                          "(auto, HOST:PORT); default: start a "
                                                                          "local one on loopback."),
    replicas: Optional[int] = typer.Option(None, "--replicas", help="--engine ray: this many replicas (default 1)."),
    autoscale: Optional[str] = typer.Option(None, "--autoscale", help="--engine ray: MIN:MAX replicas, scaled "
                                                                      "with the requests in flight."),
    replica_cpus: Optional[float] = typer.Option(None, "--replica-cpus", help="--engine ray: CPUs per replica "
                                                                              "(default 1; fractions allowed)."),
    target_ongoing_requests: Optional[float] = typer.Option(None, "--target-ongoing-requests",
                                                            help="--engine ray, --autoscale: requests in flight "
                                                                 "per replica to scale towards (default 8)."),
) -> None:
    """Serve classifiers over HTTP (FastAPI; OpenAPI at /docs) with the studio web page at /."""
    try:
        __import__("uvicorn")

        from ..serve import ServeSettings
        from ..serve.engines import run_server
        from ..serve.plugins import import_plugins
        from ..serve.store import check_name
    except ImportError as exc:
        raise InputError(f"`transzero serve` needs the service extra: pip install \"transzero[serve]\" ({exc.name} is missing)") from None
    from ..encoders.registry import create_encoder
    from ..presets import check_preset

    plugins = [p.strip() for p in plugin or [] if p.strip()]
    import_plugins(plugins)  # (before --encoder is looked up: a plugin may register it)
    models: dict[str, Path] = {}
    for m in model or []:
        name, sep, folder = m.partition("=")
        if not sep or not name or not folder:
            raise InputError(f"--model {m!r}: give NAME=DIR")
        models[check_name(name.strip())] = Path(folder.strip())
    encoders: dict[str, str] = {}
    for e in encoder or []:
        encoders[create_encoder(e).modality] = e
    settings = ServeSettings(host=host, port=port, models=models, store=store,
                             api_key=api_key or os.environ.get("TRANSZERO_API_KEY") or None, cors=list(cors or []),
                             max_body_mb=max_body_mb, max_items=max_items, max_labels=max_labels,
                             cache_dir=cache_dir, no_cache=no_cache,
                             encoders=encoders, preset=check_preset(preset) if preset else None,
                             max_batch=max_batch, max_wait_ms=max_wait_ms, plugins=plugins)
    given = {"ray_address": ray_address, "replicas": replicas, "autoscale": autoscale, "replica_cpus": replica_cpus,
             "target_ongoing_requests": target_ongoing_requests}
    options = {k: v for k, v in given.items() if v is not None}
    run_server(engine, settings, options, lambda line: err.print(line, highlight=False))
