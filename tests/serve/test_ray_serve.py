"""``transzero serve --engine ray``: the same answers as the local server, writes seen and kept across replicas, a
killed replica replaced with nothing lost, a clean shutdown. Ray bound to loopback (the network guard watches)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.serve")
pytest.importorskip("grpc")
from fastapi.testclient import TestClient  # noqa: E402

from transzero.errors import InputError  # noqa: E402
from transzero.serve import create_app  # noqa: E402
from transzero.serve.ray_serve import RayServeOptions, parse_autoscale  # noqa: E402

from .conftest import ROOT, free_port, settings_for  # noqa: E402
from .test_api import LABELS, TEXTS  # noqa: E402

REPLICA = "x-transzero-replica"


# ---------------------------------------------------------------------- options (no Ray needed)
def test_options_from_the_command_line() -> None:
    opts = RayServeOptions.from_options({"autoscale": "1:8", "replica_cpus": 0.5, "target_ongoing_requests": 4})
    d = opts.deployment_options()
    assert d["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 8, "initial_replicas": 1,
                                       "target_ongoing_requests": 4.0}
    assert d["ray_actor_options"] == {"num_cpus": 0.5} and "num_replicas" not in d and d["max_ongoing_requests"] == 32
    assert RayServeOptions.from_options({"replicas": 3}).deployment_options()["num_replicas"] == 3
    assert parse_autoscale(" 0 : 2 ") == (0, 2)
    for bad, match in (({"autoscale": "8"}, "MIN:MAX"), ({"autoscale": "3:1"}, "must not exceed"),
                       ({"replicas": 0}, "1 or more"), ({"replica_cpus": 0}, "above 0"),
                       ({"replicas": 2, "autoscale": "1:2"}, "exclude each other"),
                       ({"target_ongoing_requests": -1}, "above 0")):
        with pytest.raises(InputError, match=match):
            RayServeOptions.from_options(bad)


# ---------------------------------------------------------------------- one deployment, two replicas


def _both(client: Any, method: str, path: str, tries: int = 60, **kw: Any) -> dict[str, Any]:
    """The answers of both replicas to the same request (repeated until each has answered)."""
    seen: dict[str, Any] = {}
    for _ in range(tries):
        r = getattr(client, method)(path, **kw)
        assert r.status_code == 200, r.text
        seen.setdefault(r.headers[REPLICA], r.json())
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only replicas {sorted(seen)} answered {tries} requests")


@pytest.fixture
def ray_client(ray_server: Any, tmp_path: Path) -> Any:
    c = ray_server.client(tmp_path)
    yield c
    c.close()


@pytest.mark.slow
def test_the_local_instance_stays_on_loopback(ray_server: Any) -> None:
    ray = ray_server.ray
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}


@pytest.mark.slow
def test_the_same_answers_as_the_local_server(ray_client: Any, tmp_path: Path) -> None:
    ex = [{"item": "a goal", "label": "sports"}, {"item": "the vote", "label": "politics"},
          {"item": "a chip", "label": "technology"}]
    requests = [("/v1/classify", {"items": TEXTS + ["nothing here", ""], "labels": LABELS}),
                ("/v1/classify", {"items": TEXTS, "labels": {"sports": "games and a goal", "politics": None,
                                                            "technology": ["chips", "software"]},
                                  "explain": 2, "top_k": 2, "reject": 0.4}),
                ("/v1/classify", {"items": TEXTS, "classifier": "p"}),
                ("/v1/embed", {"items": TEXTS})]
    with TestClient(create_app(settings_for(tmp_path / "local-store", tmp_path / "cache"))) as local:
        for c in (local, ray_client):
            assert c.put("/v1/classifiers/p", json={"labels": LABELS, "examples": ex}).status_code == 200
        for path, body in requests:
            a = local.post(path, json=body).json()
            for b in _both(ray_client, "post", path, json=body).values():  # every replica answers alike
                if path.endswith("embed"):
                    np.testing.assert_allclose(np.array(b["vectors"], float), np.array(a["vectors"], float), atol=1e-5)
                    continue
                assert [p["label"] for p in b["predictions"]] == [p["label"] for p in a["predictions"]]
                assert [p["error"] for p in b["predictions"]] == [p["error"] for p in a["predictions"]]
                for pa, pb in zip(a["predictions"], b["predictions"]):
                    if pa["scores"] is not None:
                        assert pa["scores"].keys() == pb["scores"].keys()
                        np.testing.assert_allclose(list(pb["scores"].values()), list(pa["scores"].values()), atol=1e-5)
                    assert pa.get("explanation") == pb.get("explanation")
                assert (b["encoder"], b["method"]) == (a["encoder"], a["method"])


@pytest.mark.slow
def test_a_write_through_one_replica_is_seen_through_the_other(ray_client: Any) -> None:
    assert ray_client.put("/v1/classifiers/w", json={"labels": LABELS}).status_code == 200
    items = ["a goal", "the vote", "a chip", "tennis match"]
    for n, item in enumerate(items, 1):
        r = ray_client.post("/v1/classifiers/w/examples", json={"examples": [{"item": item, "label": LABELS[n % 3]}]})
        assert r.status_code == 200, r.text
        answers = _both(ray_client, "get", "/v1/classifiers/w")  # the writer and the other replica, right after
        assert {a["n_examples"] for a in answers.values()} == {n}
        assert {a["version"] for a in answers.values()} == {r.json()["version"]}
    session = _both(ray_client, "get", "/v1/classifiers/w/session")
    assert all([e["item"] for e in s["session"]] == items for s in session.values())
    assert ray_client.delete("/v1/classifiers/w").status_code == 200
    for _ in range(10):  # gone for both
        assert ray_client.get("/v1/classifiers/w").status_code == 404


@pytest.mark.slow
def test_concurrent_writes_over_replicas_are_all_stored(ray_client: Any, tmp_path: Path) -> None:
    import json

    assert ray_client.put("/v1/classifiers/c", json={"labels": LABELS}).status_code == 200
    ok: list[str] = []
    statuses: list[int] = []
    writers: set[str] = set()
    lock = threading.Lock()

    def worker(t: int) -> None:
        for i in range(10):
            label = LABELS[(t + i) % 3]
            item = f"{label} item {t} {i}"
            r = ray_client.post("/v1/classifiers/c/examples", json={"examples": [{"item": item, "label": label}]})
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 200:
                    ok.append(item)
                    writers.add(r.headers[REPLICA])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    assert len(statuses) == 80 and set(statuses) == {200}, sorted(set(statuses))
    assert len(writers) == 2  # the writes really came through both replicas
    stored = {e["item"] for e in json.loads((tmp_path / "store" / "c" / "studio.json").read_text())["examples"]}
    assert stored == set(ok) and len(ok) == 80
    for info in _both(ray_client, "get", "/v1/classifiers/c").values():
        assert info["n_examples"] == 80 and info["version"] == 81


@pytest.mark.slow
def test_metrics_are_each_replicas_own(ray_client: Any) -> None:
    for replica, _ in _both(ray_client, "get", "/healthz").items():
        for _ in range(40):
            r = ray_client.get("/metrics")
            if r.headers[REPLICA] == replica:
                assert f'transzero_replica_info{{replica="{replica}"}} 1.0' in r.text
                break
        else:
            raise AssertionError(f"replica {replica} never answered /metrics")


def _replica_pids() -> list[int]:
    """The processes of the deployment's replicas (Ray names them ``ray::ServeReplica:transzero:...``)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ServeReplica:transzero:" in cmd:
                pids.append(int(d.name))
    return pids


def _retrying(client: Any, method: str, path: str, **kw: Any) -> Any:
    """A client that retries what a dying replica could not answer (5xx, dropped connections)."""
    import httpx

    for attempt in range(40):
        try:
            r = getattr(client, method)(path, **kw)
            if r.status_code < 500:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{method} {path} was never answered")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the replica's process in /proc")
def test_a_killed_replica_is_replaced_and_nothing_stored_is_lost(ray_client: Any, ray_server: Any) -> None:
    assert ray_client.put("/v1/classifiers/k", json={"labels": LABELS}).status_code == 200
    before = set(_both(ray_client, "get", "/healthz"))
    pids = _replica_pids()
    assert len(pids) == 2, pids
    acknowledged: list[str] = []
    answered = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(t: int) -> None:
        i = 0
        while not stop.is_set() or i < 6:
            if i % 3 == 0:
                item = f"goal {t} {i}"
                r = _retrying(ray_client, "post", "/v1/classifiers/k/examples",
                              json={"examples": [{"item": item, "label": "sports"}]})
                assert r.status_code == 200, r.text
                with lock:
                    acknowledged.append(item)
            else:
                r = _retrying(ray_client, "post", "/v1/classify", json={"items": TEXTS, "labels": LABELS})
                assert r.status_code == 200 and [p["label"] for p in r.json()["predictions"]] == LABELS
            with lock:
                answered.append(r.status_code)
            i += 1

    errors: list[BaseException] = []

    def guarded(t: int) -> None:
        try:
            load(t)
        except BaseException as exc:  # (reported below: a thread's assertion would otherwise vanish)
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    os.kill(pids[0], signal.SIGKILL)  # mid-load
    time.sleep(2.0)
    stop.set()
    for th in threads:
        th.join(300)
    assert not errors, errors[0]
    assert len(answered) >= 24
    # the store still loads, with every acknowledged label in it (a retried post may have landed twice)
    info = _retrying(ray_client, "get", "/v1/classifiers/k").json()
    session = _retrying(ray_client, "get", "/v1/classifiers/k/session").json()
    assert set(acknowledged) <= {e["item"] for e in session["examples"]} and info["n_examples"] >= len(acknowledged)
    # Ray starts a new replica in its place: two answer again, one of them new
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            now = set(_both(ray_client, "get", "/healthz", tries=40))
        except AssertionError:  # (the new one is still starting)
            now = set()
        if len(now) == 2 and now != before:
            break
        time.sleep(1)
    else:
        raise AssertionError("Ray did not replace the killed replica")


# ---------------------------------------------------------------------- the command
@pytest.mark.slow
@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c"])
def test_the_command_serves_and_stops_cleanly(tmp_path: Path, stop: str) -> None:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "transzero", "serve", "--engine", "ray", "--replicas", "1", "--replica-cpus", "0.5",
           "--port", str(port), "--store", str(tmp_path / "store"), "--encoder", "test-keywords", "--plugin",
           "tests.keyword_encoder", "--no-cache"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[0]
        r = httpx.post(f"{url}/v1/classify", json={"items": TEXTS, "labels": LABELS}, timeout=60)
        assert [p["label"] for p in r.json()["predictions"]] == LABELS and REPLICA in r.headers
        assert httpx.put(f"{url}/v1/classifiers/kept", json={"labels": LABELS}, timeout=60).status_code == 200
        if stop == "sigterm":  # a process manager stops the server alone
            proc.send_signal(signal.SIGTERM)
        else:  # Ctrl-C in a terminal reaches the whole process group, Ray's own processes too
            os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "Traceback" not in out and "stopping" in out
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    from transzero.serve.store import ClassifierStore

    assert ClassifierStore(tmp_path / "store").get("kept")[1] is not None  # what it stored outlives it


def test_a_missing_ray_serve_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ..test_cli import run

    monkeypatch.setitem(sys.modules, "ray", None)  # (importing it now fails, as where it is not installed)
    monkeypatch.delitem(sys.modules, "transzero.serve.ray_serve", raising=False)
    monkeypatch.delattr("transzero.serve.ray_serve", raising=False)
    code, _, err = run(["serve", "--engine", "ray", "--port", "1"], capsys)
    assert code != 0 and "serve-ray" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
