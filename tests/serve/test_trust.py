"""The service under untrusted and concurrent requests (issue 24): all-or-nothing updates of stored classifiers,
no lost updates, bounded label sets that share the encoder fairly, parser errors as JSON 400s, one style of error
``type``, uploads named by their file names, no server paths in responses."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from transzero.encoders import register_encoder  # noqa: E402
from transzero.encoders.base import Encoder  # noqa: E402
from transzero.encoders.registry import list_encoders  # noqa: E402
from transzero.errors import InputError  # noqa: E402
from transzero.serve import ServeSettings, create_app  # noqa: E402
from transzero.serve.app import ERROR_TYPES  # noqa: E402

from ..conftest import KeywordEncoder  # noqa: E402
from .test_api import LABELS, TEXTS, _b64, _err, _png, _settings  # noqa: E402

SNAKE = re.compile(r"^[a-z]+(_[a-z]+)*$")


class SlowKeywordEncoder(KeywordEncoder):
    """:class:`KeywordEncoder` that sleeps on every call and logs the items of each call (which batch held what)."""

    delay = 0.02

    def __init__(self, name: str = "test-slow-keywords", dim: int = 16) -> None:
        super().__init__(name, dim)
        self.log: list[list[str]] = []

    def _encode(self, items: list[Any], batch_size: int, progress: Any) -> np.ndarray:
        self.log.append(list(items))
        time.sleep(self.delay)
        return super()._encode(items, batch_size, progress)


class PixelEncoder(Encoder):
    """A tiny image encoder (mean colour) with an aligned keyword text tower; decodes items with ``load_image``."""

    name = "test-pixels"
    modality = "image"
    backend = "test"

    @property
    def dim(self) -> int:
        return 16

    def _config(self) -> dict[str, Any]:
        return {}

    def text_encoder(self) -> Encoder:
        return KeywordEncoder()

    def _vector(self, item: Any) -> np.ndarray:
        from transzero.data.images import load_image

        rgb = np.asarray(load_image(item), dtype=np.float32).reshape(-1, 3).mean(axis=0)
        v = np.zeros(16, np.float32)
        v[:3], v[-1] = rgb / 255.0, 0.01
        return v / np.linalg.norm(v)

    def _encode(self, items: list[Any], batch_size: int, progress: Any) -> np.ndarray:
        return np.stack([self._vector(it) for it in items])

    def _encode_report(self, items: list[Any], batch_size: int, progress: Any) -> tuple[np.ndarray, dict[int, str]]:
        out = np.full((len(items), 16), np.nan, np.float32)
        errors: dict[int, str] = {}
        for i, it in enumerate(items):
            try:
                out[i] = self._vector(it)
            except InputError as exc:
                errors[i] = str(exc)
        return out, errors


if "test-slow-keywords" not in list_encoders():
    register_encoder("test-slow-keywords", modality="text", description="slow keyword encoder for tests")(
        lambda **kw: SlowKeywordEncoder(**kw))
if "test-pixels" not in list_encoders():
    register_encoder("test-pixels", modality="image", description="mean-colour encoder for tests")(
        lambda **kw: PixelEncoder())


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(create_app(_settings(tmp_path))) as c:
        yield c


@pytest.fixture
def either(serve_client: Any) -> Any:
    """A client on each engine (conftest.py): the guarantees hold across Ray Serve replicas too."""
    return serve_client()


def _disk_state(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads((tmp_path / "store" / name / "studio.json").read_text("utf-8"))


def _post_raw(c: TestClient, path: str, raw: bytes, method: str = "post") -> Any:
    return getattr(c, method)(path, content=raw, headers={"content-type": "application/json"})


# ---------------------------------------------------------------------- item 7: all or nothing
def test_a_rejected_example_changes_nothing(either: Any, tmp_path: Path) -> None:
    client = either  # this process's app, or (slow tests) a 2-replica Ray Serve deployment
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    bad = [{"item": "a goal", "label": "sports"}, {"item": "the vote", "label": "politics"},
           {"item": "   ", "label": "sports"}]
    _err(client.post("/v1/classifiers/p/examples", json={"examples": bad}), 400, "example 2")
    assert client.get("/v1/classifiers/p").json()["n_examples"] == 0 and _disk_state(tmp_path, "p")["examples"] == []
    r = client.post("/v1/classifiers/p/examples", json={"examples": [{"item": "a goal", "label": "sports"}]})
    assert r.status_code == 200, r.text
    assert r.json()["n_examples"] == 1 and client.get("/v1/classifiers/p").json()["n_examples"] == 1
    assert len(_disk_state(tmp_path, "p")["examples"]) == 1


def test_a_rejected_image_example_changes_nothing(client: TestClient, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import transzero.serve.studio as studio_module

    monkeypatch.setattr(studio_module, "default_method", lambda modality: "similarity")  # test-pixels has no concepts
    r = client.put("/v1/classifiers/img", json={"labels": ["red", "blue"], "modality": "image", "encoder": "test-pixels"})
    assert r.status_code == 200, r.text
    ex = [{"item": _b64(_png(200)), "label": "red"}, {"item": _b64(b"no image at all"), "label": "blue"}]
    _err(client.post("/v1/classifiers/img/examples", json={"examples": ex}), 400, "example 1")
    _err(client.post("/v1/classifiers/img/examples", json={"examples": [{"item": "###", "label": "red"}]}), 400,
         "example 0")
    assert client.get("/v1/classifiers/img").json()["n_examples"] == 0
    ok = client.post("/v1/classifiers/img/examples", json={"examples": ex[:1]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["n_examples"] == 1 and len(_disk_state(tmp_path, "img")["examples"]) == 1


def test_a_lone_surrogate_is_refused_and_harmless(either: Any, tmp_path: Path) -> None:
    client = either  # this process's app, or (slow tests) a 2-replica Ray Serve deployment
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    raw = '{"items": ["fine", "bad \\ud800 text"]}'.encode()
    body = _err(_post_raw(client, "/v1/classifiers/p/pool", raw), 422, "items[1]")
    assert "surrogate" in body["error"]["message"]
    for path, doc in (("/v1/classifiers/p/examples", '{"examples": [{"item": "\\udfff", "label": "sports"}]}'),
                      ("/v1/classify", '{"items": ["x"], "labels": ["\\ud83d", "b"]}'),
                      ("/v1/embed", '{"items": ["\\ud800"]}')):
        _err(_post_raw(client, path, doc.encode()), 422, "surrogate")
    _err(client.put("/v1/classifiers/p", content='{"labels": {"a": "\\ud800", "b": null}}'.encode(),
                    headers={"content-type": "application/json"}), 422, "labels.a")
    assert client.get("/v1/classifiers/p").json()["n_pool"] == 0 and _disk_state(tmp_path, "p")["pool"] == []
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    r = client.post("/v1/classifiers/p/pool", json={"items": ["a goal", "the vote"]})
    assert r.status_code == 200 and r.json()["n_pool"] == 2 and _disk_state(tmp_path, "p")["pool"] == ["a goal", "the vote"]


def test_a_failed_save_leaves_memory_and_disk_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(_settings(tmp_path)), raise_server_exceptions=False) as client:
        _failed_save(client, tmp_path, monkeypatch)


def _failed_save(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    store = client.app.state.service.store

    def broken(*a: Any, **k: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "put", broken)
    r = client.post("/v1/classifiers/p/examples", json={"examples": [{"item": "a goal", "label": "sports"}]})
    assert r.status_code == 500 and "disk full" not in r.text
    r = client.post("/v1/classifiers/p/pool", json={"items": ["a chip"]})
    assert r.status_code == 500
    monkeypatch.undo()
    info = client.get("/v1/classifiers/p").json()
    assert info["n_examples"] == 0 and info["n_pool"] == 0 and _disk_state(tmp_path, "p")["examples"] == []


# ---------------------------------------------------------------------- item 8: no lost updates
def test_concurrent_examples_are_all_stored(client: TestClient, tmp_path: Path) -> None:
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        for i in range(10):
            label = LABELS[(t + i) % 3]
            r = client.post("/v1/classifiers/p/examples",
                            json={"examples": [{"item": f"{label} item {t} {i}", "label": label}]})
            with lock:
                statuses.append(r.status_code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert len(statuses) == 80 and set(statuses) == {200}, sorted(set(statuses))
    assert client.get("/v1/classifiers/p").json()["n_examples"] == 80
    assert len(_disk_state(tmp_path, "p")["examples"]) == 80


# ---------------------------------------------------------------------- item 9: bounded labels, fair encoding
def test_max_labels(tmp_path: Path) -> None:
    assert ServeSettings().max_labels == 512
    names = [f"class{i}" for i in range(6)]
    with TestClient(create_app(_settings(tmp_path, max_labels=5))) as c:
        _err(c.post("/v1/classify", json={"items": ["x"], "labels": names}), 413, "--max-labels")
        _err(c.post("/v1/classify", json={"items": ["x"], "labels": {n: None for n in names}}), 413, "--max-labels")
        _err(c.post("/v1/classify", json={"items": ["x"], "labels": {"a": ["d"] * 3, "b": ["e"] * 3}}), 413,
             "--max-labels")
        _err(c.post("/v1/classify", files=[("files", ("a.png", _png(), "image/png"))],
                    data={"labels": ",".join(names)}), 413, "--max-labels")
        _err(c.put("/v1/classifiers/big", json={"labels": names}), 413, "--max-labels")
        assert c.post("/v1/classify", json={"items": ["x"], "labels": names[:5]}).status_code == 200


def test_cli_has_max_labels(capsys: pytest.CaptureFixture[str]) -> None:
    from transzero.cli import main

    try:
        main(["serve", "--help"])
    except SystemExit as e:
        assert e.code in (0, None)
    assert "--max-labels" in capsys.readouterr().out


@pytest.mark.parametrize("args, says", [(["--replicas", "2", "--autoscale", "1:3"], "--replicas, --autoscale: only with --engine ray"),
                                        (["--engine", "nope"], "--engine 'nope' is not a serve engine; choose one of local, ray")])
def test_serve_engine_options_are_checked_before_serving(args: list[str], says: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from ..test_cli import run

    code, _, err = run(["serve", "--store", str(tmp_path / "store"), "--port", "1", *args], capsys)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("no_cache", [False, True])
def test_a_big_label_set_does_not_block_small_requests(tmp_path: Path, no_cache: bool) -> None:
    settings = ServeSettings(store=tmp_path / "store", cache_dir=tmp_path / "cache", no_cache=no_cache,
                             encoders={"text": "test-slow-keywords"}, max_batch=8)
    names = [f"topic{i}" for i in range(40)]  # x 15 default templates: 600 prompts, 75 chunks of 8
    with TestClient(create_app(settings)) as c:
        enc = c.app.state.service.encoder("test-slow-keywords", "text")
        big: dict[str, Any] = {}

        def classify_big() -> None:
            big["r"] = c.post("/v1/classify", json={"items": ["a goal"], "labels": names})

        th = threading.Thread(target=classify_big)
        th.start()
        deadline = time.monotonic() + 30
        while not any("topic" in " ".join(b) for b in enc.log) and time.monotonic() < deadline:
            time.sleep(0.005)
        small = c.post("/v1/embed", json={"items": ["zzsmall"]})
        th.join(120)
        assert small.status_code == 200 and big["r"].status_code == 200, big["r"].text
        label_batches = [i for i, b in enumerate(enc.log) if any("topic" in x for x in b)]
        small_batch = next(i for i, b in enumerate(enc.log) if "zzsmall" in b)
        assert small_batch < label_batches[-1], (small_batch, label_batches[-1])  # interleaved, not after all labels
        assert max(len(b) for b in enc.log) <= 8 + 1
        p = big["r"].json()["predictions"][0]["scores"]
        assert set(p) == set(names) and abs(sum(p.values()) - 1) < 1e-4
        if not no_cache:  # label vectors are cached across requests: another method re-encodes no prompt
            n = len(enc.log)
            r = c.post("/v1/classify", json={"items": ["a goal"], "labels": names, "method": "knn"})
            assert r.status_code == 200 and not any("topic" in x for b in enc.log[n:] for x in b)


def test_chunked_labels_give_the_same_scores(tmp_path: Path) -> None:
    from transzero import ZeroShotClassifier

    names = [f"topic{i}" for i in ("sports", "politics", "technology")] + [f"extra{i}" for i in range(10)]
    want = ZeroShotClassifier(names, encoder=KeywordEncoder(), cache=False).fit().predict_proba(TEXTS)
    for no_cache in (False, True):
        with TestClient(create_app(_settings(tmp_path / str(no_cache), no_cache=no_cache, max_batch=4))) as c:
            r = c.post("/v1/classify", json={"items": TEXTS, "labels": names}).json()
            got = np.array([[p["scores"][n] for n in names] for p in r["predictions"]])
            np.testing.assert_allclose(got, want, atol=2e-5)


# ---------------------------------------------------------------------- item 10: parsers, error types, names, paths
ROUTES = [("post", "/v1/classify"), ("post", "/v1/embed"), ("put", "/v1/classifiers/p"),
          ("post", "/v1/classifiers/p/examples"), ("post", "/v1/classifiers/p/pool")]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deep_json_is_a_400(either: Any, depth: int) -> None:
    client = either  # this process's app, or (slow tests) a 2-replica Ray Serve deployment
    assert client.put("/v1/classifiers/p", json={"labels": LABELS}).status_code == 200
    for method, path in ROUTES:
        for raw in (b"[" * depth + b"]" * depth, b'{"items": ' + b"[" * depth + b"]" * depth + b"}",
                    b'{"labels": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"):
            body = _err(_post_raw(client, path, raw, method), 400, "nested")
            assert body["error"]["type"] == "invalid_json"
    assert client.post("/v1/classify", json={"items": ["a goal"], "classifier": "p"}).status_code == 200


def test_broken_json_and_multipart_are_400s(either: Any) -> None:
    client = either  # this process's app, or (slow tests) a 2-replica Ray Serve deployment
    for method, path in ROUTES:
        body = _err(_post_raw(client, path, b'{"items": [', method), 400, "JSON")
        assert body["error"]["type"] == "invalid_json"
    files = [("files", ("a.png", _png(), "image/png"))]
    for labels in ("[not json", "{\"a\": ", "[" * 5000 + "]" * 5000):
        body = _err(client.post("/v1/classify", files=files, data={"labels": labels}), 400, "labels")
        assert body["error"]["type"] == "invalid_json"
    body = _err(client.post("/v1/classify", content=b"--xx\r\nbroken", headers={"content-type": "multipart/form-data"}),
                400, "multipart")
    assert body["error"]["type"] == "invalid_multipart"


def test_error_types_are_snake_case(client: TestClient, tmp_path: Path) -> None:
    client.put("/v1/classifiers/p", json={"labels": LABELS})
    cases = [
        (client.post("/v1/classify", json={"items": ["x"], "classifier": "missing"}), 404, "not_found"),
        (client.post("/v1/classify", json={"items": ["x"], "labels": ["a", "a"]}), 400, "label_error"),
        (client.post("/v1/classify", json={"items": ["x"], "labels": LABELS, "encoder": "hf:/x"}), 400, "input_error"),
        (client.post("/v1/classify", json={"items": ["x"], "labels": LABELS, "encoder": "nope"}), 400, None),
        (client.post("/v1/classify", json={"items": ["x"], "labels": LABELS, "top_k": 0}), 422, "validation_error"),
        (client.post("/v1/classify", json={"labels": LABELS}), 400, "bad_request"),
        (client.get("/v1/classifiers/missing"), 404, "not_found"),
        (client.delete("/v1/classifiers/missing"), 404, "not_found"),
        (client.patch("/v1/classify"), 405, "method_not_allowed"),
        (client.get("/nope"), 404, "not_found"),
    ]
    for r, status, type_ in cases:
        body = _err(r, status)
        assert SNAKE.match(body["error"]["type"]) and body["error"]["type"] in ERROR_TYPES[status], body
        if type_:
            assert body["error"]["type"] == type_, body
    with TestClient(create_app(_settings(tmp_path / "b", max_items=1, api_key="k"))) as c:
        h = {"Authorization": "Bearer k"}
        assert _err(c.post("/v1/classify", json={"items": ["a", "b"], "labels": LABELS}, headers=h), 413)["error"][
            "type"] == "payload_too_large"
        assert _err(c.get("/v1/models"), 401)["error"]["type"] == "unauthorized"


def test_a_bad_upload_is_named_by_its_file_name(client: TestClient) -> None:
    files = [("files", ("holiday.png", _png(), "image/png")), ("files", ("../../broken.png", b"not a png", "image/png"))]
    r = client.post("/v1/classify", files=files, data={"labels": "red,blue", "encoder": "test-pixels",
                                                       "method": "similarity"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert preds[0]["label"] in ("red", "blue") and preds[1]["label"] is None
    assert preds[1]["error"].startswith("broken.png: not an image"), preds[1]["error"]
    r = client.post("/v1/classify", json={"images": [_b64(_png()), _b64(b"not a png")], "labels": ["red", "blue"],
                                          "encoder": "test-pixels", "method": "similarity"})
    err = r.json()["predictions"][1]["error"]
    assert "<bytes>" not in err and err.startswith("images[1]:"), err
    r = client.post("/v1/embed", json={"images": [_b64(b"not a png")], "encoder": "test-pixels"}).json()
    assert r["errors"]["0"].startswith("images[0]:"), r


def test_responses_do_not_reveal_the_store_path(either: Any, tmp_path: Path) -> None:
    client = either  # this process's app, or (slow tests) a 2-replica Ray Serve deployment
    root = str((tmp_path / "store").resolve())
    texts = [client.put("/v1/classifiers/p", json={"labels": LABELS}).text]
    info = client.get("/v1/classifiers/p").json()
    assert info["path"] == "STORE/p"
    broken = tmp_path / "store" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    texts += [client.get("/v1/classifiers").text, client.get("/v1/classifiers/p").text,
              client.post("/v1/classifiers/p/examples", json={"examples": [{"item": "a goal", "label": "sports"}]}).text,
              client.post("/v1/classify", json={"items": ["x"], "classifier": "broken"}).text,
              client.post("/v1/classifiers/broken/examples", json={"examples": [{"item": "x", "label": "a"}]}).text]
    listed = {c["name"]: c for c in client.get("/v1/classifiers").json()["classifiers"]}
    assert "error" in listed["broken"]
    for t in texts:
        assert root not in t and str(tmp_path) not in t, t
