"""The service under test on either engine: ``serve_client(**settings)`` gives a client of a server with these
settings - in this process (``local``: FastAPI's TestClient) or through Ray Serve's proxy to a 2-replica deployment
(``ray``: a local Ray instance bound to loopback, started once per test module and redeployed when a test needs
other settings). Tests that take ``client`` or ``serve_client`` run on both."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parents[2]
#: the replicas import the tests' encoder like an operator's own: a --plugin module
PLUGIN = "tests.keyword_encoder"


def settings_for(store: Path, cache: Path | None = None, **kw: Any) -> Any:
    from transzero.serve import ServeSettings

    return ServeSettings(store=store, cache_dir=cache, encoders={"text": "test-keywords"}, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RayServer:
    """A local Ray instance with Ray Serve on a free loopback port; :meth:`client` (re)deploys the app."""

    def __init__(self, root: Path, replicas: int = 2) -> None:
        import ray

        from transzero.engines.local_ray import init_local_ray

        # the replicas find the tests package (and its encoder plugin) like the driver does
        init_local_ray(num_cpus=2, runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}})
        self.ray = ray
        self.root = root
        self.store = root / "store"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.replicas = replicas
        self.deployed: Any = None

    def deploy(self, settings: Any) -> None:
        """Serve ``settings`` (a no-op when they are already served); waits until every replica is up."""
        from transzero.serve.ray_serve import RayServeOptions, deploy

        settings = replace(settings, port=self.port, plugins=[PLUGIN])
        if settings != self.deployed:
            deploy(settings, RayServeOptions(replicas=self.replicas, replica_cpus=2 / self.replicas))
            self.deployed = settings

    def client(self, tmp_path: Path, **kw: Any) -> Any:
        """A client of the deployment serving ``settings_for(**kw)`` on the session's store, emptied first; the
        test's ``tmp_path / "store"`` is that store (a link), as for a local server."""
        import httpx

        self.deploy(settings_for(self.store, **kw))
        c = httpx.Client(base_url=self.url, timeout=120, headers={"Authorization": f"Bearer {kw['api_key']}"}
                         if kw.get("api_key") else None)
        for name in self.names():
            c.delete(f"/v1/classifiers/{name}")
        self.store.mkdir(parents=True, exist_ok=True)
        if not (tmp_path / "store").is_symlink():
            (tmp_path / "store").symlink_to(self.store)
        if kw.get("api_key"):
            c.headers.pop("Authorization")
        return c

    def names(self) -> list[str]:
        if not self.store.is_dir():
            return []
        return [p.name for p in self.store.iterdir() if not p.name.startswith(".")]

    def wait_ready(self, client: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise TimeoutError("the Ray Serve deployment did not answer /healthz")

    def close(self) -> None:
        from ray import serve

        serve.shutdown()
        self.ray.shutdown()


@pytest.fixture(scope="module")  # (per module: other modules start their own Ray instance, e.g. tests/engines)
def ray_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayServer]:
    pytest.importorskip("ray.serve")
    pytest.importorskip("grpc")  # (ray[serve] installs it; plain ray has no Serve)
    server = RayServer(tmp_path_factory.mktemp("ray-serve"))
    yield server
    server.close()


ENGINES = ["local", pytest.param("ray", marks=pytest.mark.slow)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve_client(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``make(**settings)``: a client of a server with ``settings_for(store, **settings)`` on ``engine``."""
    opened: list[Any] = []

    def make(**kw: Any) -> Any:
        if engine == "ray":
            c = request.getfixturevalue("ray_server").client(tmp_path, **kw)
        else:
            from fastapi.testclient import TestClient

            from transzero.serve import create_app

            c = TestClient(create_app(settings_for(tmp_path / "store", tmp_path / "cache", **kw)))
            c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        if engine == "ray":
            c.close()
        else:
            c.__exit__(None, None, None)
