"""``transzero serve --engine ray``: the service's FastAPI app served by every replica of a Ray Serve deployment.

Each replica (:class:`TranszeroReplica`, an actor) imports the ``--plugin`` modules, builds the very app of
``transzero serve`` (:func:`transzero.serve.app.create_app`: the same routes, errors, limits, API key, CORS and
studio) once, and keeps its own encoders and micro-batchers; Ray Serve's proxy spreads the requests over the
replicas (``serve.ingress``). Ray checks each replica with :meth:`TranszeroReplica.check_health` - the checks of
``/healthz`` - and replaces one that fails or dies. The replicas share the stored classifiers through the store
folder (a path every replica can read and write; :mod:`transzero.serve.store` keeps concurrent writes whole).

What scales is the replicas (encoding: the CPU work); what does not is the store, one folder whose writes to one
classifier take turns.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ray import serve

from ..errors import InputError
from ..threads import limit_process_threads
from .service import ServeSettings

__all__ = ["APP_NAME", "RayServeOptions", "TranszeroReplica", "deploy", "run"]

#: the Ray Serve application's name (``serve status`` shows it)
APP_NAME = "transzero"


@dataclass
class RayServeOptions:
    """How the deployment runs (``transzero serve --engine ray``'s options).

    Parameters
    ----------
    address : str, optional
        A running Ray cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); None starts a local instance bound to
        loopback that stops with the server.
    replicas : int
        Fixed number of replicas (unless ``autoscale``).
    autoscale : (int, int), optional
        ``(min, max)`` replicas: Ray Serve adds replicas while the requests in flight per replica exceed
        ``target_ongoing_requests`` and removes idle ones.
    replica_cpus : float
        CPUs Ray reserves for each replica (fractions allowed).
    target_ongoing_requests : float
        The autoscaler's target of requests in flight per replica. Each replica micro-batches the requests it
        holds, so a few in flight is what keeps its batches full.
    max_ongoing_requests : int, optional
        Requests one replica holds at most before the proxy queues them (default: 4 x the target, at least 32).
    """

    address: str | None = None
    replicas: int = 1
    autoscale: tuple[int, int] | None = None
    replica_cpus: float = 1.0
    target_ongoing_requests: float = 8.0
    max_ongoing_requests: int | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RayServeOptions:
        """From the command line's ``ray_address``, ``replicas``, ``autoscale`` (``"MIN:MAX"``), ``replica_cpus``,
        ``target_ongoing_requests`` (None: the default); one-line errors for values out of range."""
        opts = cls()
        if options.get("ray_address"):
            opts.address = str(options["ray_address"])
        if options.get("replicas") is not None and options.get("autoscale") is not None:
            raise InputError("--replicas and --autoscale exclude each other: give a fixed count or a MIN:MAX range")
        if options.get("replicas") is not None:
            opts.replicas = int(options["replicas"])
            if opts.replicas < 1:
                raise InputError(f"--replicas {opts.replicas}: give 1 or more")
        if options.get("autoscale") is not None:
            opts.autoscale = parse_autoscale(str(options["autoscale"]))
        if options.get("replica_cpus") is not None:
            opts.replica_cpus = float(options["replica_cpus"])
            if not opts.replica_cpus > 0:
                raise InputError(f"--replica-cpus {options['replica_cpus']}: give a number of CPUs above 0 (e.g. 0.5)")
        if options.get("target_ongoing_requests") is not None:
            opts.target_ongoing_requests = float(options["target_ongoing_requests"])
            if not opts.target_ongoing_requests > 0:
                raise InputError(f"--target-ongoing-requests {options['target_ongoing_requests']}: give a number "
                                 "above 0")
        return opts

    @property
    def min_replicas(self) -> int:
        return self.autoscale[0] if self.autoscale else self.replicas

    def deployment_options(self) -> dict[str, Any]:
        """The Ray Serve deployment's options."""
        out: dict[str, Any] = {
            "ray_actor_options": {"num_cpus": self.replica_cpus},
            "max_ongoing_requests": self.max_ongoing_requests or max(32, int(4 * self.target_ongoing_requests)),
            "health_check_period_s": 5.0, "health_check_timeout_s": 30.0, "graceful_shutdown_timeout_s": 10.0}
        if self.autoscale:
            lo, hi = self.autoscale
            out["autoscaling_config"] = {"min_replicas": lo, "max_replicas": hi, "initial_replicas": max(lo, 1),
                                         "target_ongoing_requests": self.target_ongoing_requests}
        else:
            out["num_replicas"] = self.replicas
        return out


def parse_autoscale(text: str) -> tuple[int, int]:
    """``"MIN:MAX"`` -> ``(MIN, MAX)`` with 0 <= MIN <= MAX and MAX >= 1."""
    m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", text)
    if m is None:
        raise InputError(f"--autoscale {text!r}: give MIN:MAX replicas, e.g. 1:8")
    lo, hi = int(m.group(1)), int(m.group(2))
    if hi < 1 or lo > hi:
        raise InputError(f"--autoscale {text}: MIN must not exceed MAX, and MAX must be at least 1")
    return lo, hi


class TranszeroReplica:
    """One replica: the ``--plugin`` modules imported, then ``create_app(settings)`` built once (its encoders load
    on first use and stay; its micro-batchers are its own)."""

    def __init__(self, settings: ServeSettings) -> None:
        from .app import create_app
        from .plugins import import_plugins

        import_plugins(settings.plugins)
        limit_process_threads(settings.threads)
        ctx = serve.get_replica_context()
        replica = getattr(getattr(ctx, "replica_id", None), "unique_id", None) or str(getattr(ctx, "replica_tag", ""))
        self._transzero_app = create_app(replace(settings, replica=replica or f"pid-{os.getpid()}"))
        self._transzero_service = self._transzero_app.state.service

    def __serve_build_asgi_app__(self) -> Any:
        return self._transzero_app

    def check_health(self) -> None:
        """Ray Serve's periodic check: what ``/healthz`` checks; a problem makes Ray replace this replica."""
        problems = self._transzero_service.health()
        if problems:
            raise RuntimeError("; ".join(problems))


def deploy(settings: ServeSettings, options: RayServeOptions) -> Any:
    """Run the deployment on the connected Ray cluster (Serve started on ``settings.host:port`` if it is not
    running); returns once every replica is up. Blocks while Ray places them."""
    from ray.serve.schema import LoggingConfig

    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # (its INFO lines on this console: ours say it)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    # each replica's encoders use its share of the CPUs, not every core of the node
    threads = settings.threads or max(1, math.ceil(options.replica_cpus))
    settings = replace(settings, threads=threads)
    deployment = serve.deployment(name="TranszeroReplica")(serve.ingress()(TranszeroReplica))
    app = deployment.options(**options.deployment_options()).bind(settings)
    return serve.run(app, name=APP_NAME, route_prefix="/", blocking=False,
                     logging_config=LoggingConfig(log_level="WARNING", enable_access_log=False))


def _connect(options: RayServeOptions) -> bool:
    """Connect to ``options.address`` or start a local Ray instance on loopback; True when this process started
    it (and so stops it)."""
    import ray

    from ..engines.local_ray import init_local_ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    try:
        if options.address:
            ray.init(address=options.address, log_to_driver=False, logging_level=logging.ERROR)
            return False
        init_local_ray()  # (a new instance on loopback, never another one's)
    except ConnectionError as exc:
        raise InputError(f"--ray-address {options.address}: no Ray cluster there ({exc}); start one with "
                         "`ray start --head`, or leave --ray-address out to start a local one") from None
    return True


def _resolved(settings: ServeSettings) -> ServeSettings:
    """``settings`` with absolute paths (replicas do not share this process's working folder or environment)."""
    from .store import default_store

    return replace(settings, store=(settings.store or default_store()).expanduser().resolve(),
                   cache_dir=None if settings.cache_dir is None else settings.cache_dir.expanduser().resolve(),
                   models={k: v.expanduser().resolve() for k, v in settings.models.items()})


def _why(exc: BaseException) -> str:
    """The last ``SomeError: message`` line of a deployment failure's text (replicas' tracebacks are long)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if re.match(r"^\s*[\w.]+(Error|Exception): ", ln)]
    return lines[-1][:300] if lines else " ".join(str(exc).split())[:300]


def run(settings: ServeSettings, options: RayServeOptions, say: Callable[[str], None], *, url: str = "") -> None:
    """Serve until Ctrl-C or SIGTERM, then take the application down (and the local Ray instance, if this process
    started one). A deployment that cannot start is a one-line error."""
    import ray

    from .service import Service

    settings = _resolved(settings)
    Service(settings).close()  # this process checks what it can first (--model folders, the store) for a clear error
    owns = _connect(options)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        cpus = float(ray.cluster_resources().get("CPU", 0))
        need = options.min_replicas * options.replica_cpus
        if owns and need > cpus:
            raise InputError(f"{options.min_replicas} replicas x {options.replica_cpus:g} CPUs need {need:g} CPUs; "
                             f"this machine has {cpus:g}: lower --replicas or --replica-cpus (fractions allowed)")
        say(f"starting {APP_NAME} on Ray Serve ({_shape(options)}, {options.replica_cpus:g} CPU each)...")
        try:
            deploy(settings, options)
        except RuntimeError as exc:
            raise InputError(f"the Ray Serve deployment did not start: {_why(exc)}") from None
        say(f"transzero studio on {url} · Ray Serve, {_shape(options)} · API docs at /docs · store {settings.store}"
            + (" · API key required" if settings.api_key else "") + " · Ctrl-C stops it")
        while not stop.wait(0.5):
            pass
        say("stopping the Ray Serve application...")
    finally:
        try:
            if ray.is_initialized():  # drain and stop the replicas; bounded, since Ctrl-C also reaches a local
                # instance's own processes (one process group), which may be gone already
                _bounded(serve.shutdown if owns else _delete_app, 15.0)
        finally:
            if owns:
                ray.shutdown()
            for s, handler in previous.items():
                signal.signal(s, handler)


def _delete_app() -> None:
    try:
        serve.delete(APP_NAME)
    except Exception:  # (already gone, or the cluster is: nothing left to stop)
        logging.getLogger(__name__).debug("serve.delete failed", exc_info=True)


def _bounded(fn: Callable[[], None], seconds: float) -> bool:
    """Run ``fn`` for at most ``seconds`` (on a daemon thread); True when it finished."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive()


def _shape(options: RayServeOptions) -> str:
    if options.autoscale:
        return f"{options.autoscale[0]}-{options.autoscale[1]} replicas (autoscaling)"
    return f"{options.replicas} replica{'s' if options.replicas != 1 else ''}"
