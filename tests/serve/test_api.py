"""The HTTP API: every route, every error status, limits, auth, CORS, metrics, micro-batching.

The tests that take ``client`` or ``serve_client`` run twice (see ``conftest.py``): against this process's app
and through Ray Serve's proxy against a 2-replica deployment (``transzero serve --engine ray``), which must give
the same answers.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from transzero.serve import ServeSettings, create_app  # noqa: E402

from ..conftest import KeywordEncoder  # noqa: E402

LABELS = ["sports", "politics", "technology"]
TEXTS = ["a goal for the team", "the budget vote in parliament", "a new phone chip"]


def _settings(tmp_path: Path, **kw) -> ServeSettings:
    return ServeSettings(store=tmp_path / "store", cache_dir=tmp_path / "cache", encoders={"text": "test-keywords"}, **kw)


@pytest.fixture
def client(serve_client):
    return serve_client()


def _png(color: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), color, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _err(r, status: int, match: str = "") -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert match in body["error"]["message"], body
    assert "Traceback" not in r.text
    return body


# ---------------------------------------------------------------------- health, models, metrics
def test_healthz_needs_no_key(serve_client) -> None:
    c = serve_client(api_key="s3cret")
    assert c.get("/healthz").json() == {"status": "ok"}
    _err(c.get("/v1/models"), 401, "API key")
    _err(c.post("/v1/classify", json={"items": ["x"], "labels": LABELS}, headers={"Authorization": "Bearer no"}), 401)
    ok = c.get("/v1/models", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and any(e["name"] == "minilm-l6" for e in ok.json()["encoders"])


def test_healthz_says_what_is_wrong(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.write_text("a file where the store folder should be")
    with TestClient(create_app(ServeSettings(store=store, cache_dir=tmp_path / "cache"))) as c:
        r = c.get("/healthz")
        assert r.status_code == 503 and r.json() == {"status": "unhealthy",
                                                      "problems": ["the store STORE is a file, not a folder"]}
        assert str(tmp_path) not in r.text
    store.unlink()
    with TestClient(create_app(ServeSettings(store=store, cache_dir=tmp_path / "cache"))) as c:
        assert c.get("/healthz").json() == {"status": "ok"}  # a store still to be created is fine


def test_models_lists_encoders_and_methods(client: TestClient) -> None:
    m = client.get("/v1/models").json()
    assert {"encoders", "defaults", "default_methods", "methods"} <= set(m)
    assert m["defaults"]["text"] == "test-keywords"
    assert {x["name"] for x in m["methods"]} >= {"similarity", "prototype", "eszsl", "asr-grammar"}


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/embed", "/v1/classifiers/{name}/next"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_the_studio_page_and_its_files(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "studio.js" in r.text
    js = client.get("/static/studio.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


# ---------------------------------------------------------------------- classify
def test_classify_texts(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"items": TEXTS + ["   "], "labels": LABELS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"predictions", "encoder", "method", "timings"}
    assert body["encoder"] == "test-keywords" and body["method"] == "similarity"
    preds = body["predictions"]
    assert [p["label"] for p in preds] == LABELS + [None]
    assert set(preds[0]) == {"label", "scores", "error"} and preds[0]["error"] is None
    assert abs(sum(preds[0]["scores"].values()) - 1) < 1e-4
    assert preds[3]["label"] is None and "empty" in preds[3]["error"]
    assert {"queue", "encode", "total"} <= set(body["timings"])


def test_classify_options(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"items": TEXTS[:1], "labels": {"sports": "games and a goal", "politics": None,
                                                                         "technology": ["chips", "software"]},
                                          "top_k": 2, "explain": 2, "reject": 0.99, "multi_label": 0.5}).json()
    p = r["predictions"][0]
    assert len(p["scores"]) == 2 and p["labels"] == ["sports"]
    assert [s["class"] for s in p["explanation"]][:2] == ["sports", "sports"] and len(p["explanation"]) == 4  # then the runner-up's
    assert p["label"] == "sports"
    r = client.post("/v1/classify", json={"items": ["nothing at all here"], "labels": LABELS, "reject": 0.9}).json()
    assert r["predictions"][0]["label"] == "none"


def test_classify_images_base64_and_uploads(client: TestClient) -> None:
    labels = ["cat", "dog"]
    good, bad = _b64(_png()), _b64(b"certainly not an image")
    r = client.post("/v1/classify", json={"images": [good, "###", bad, "data:image/png;base64," + good], "labels": labels,
                                          "encoder": "efficientnet-lite0"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert preds[0]["label"] in labels and preds[3]["label"] in labels
    assert "base64" in preds[1]["error"] and preds[2]["label"] is None and preds[2]["error"]
    files = [("files", ("a.png", _png(), "image/png")), ("files", ("notes.txt", b"hello", "text/plain")),
             ("files", ("b.png", _png(200), "image/png"))]
    r = client.post("/v1/classify", files=files, data={"labels": "cat,dog", "encoder": "efficientnet-lite0", "top_k": "1"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert preds[0]["label"] in labels and len(preds[0]["scores"]) == 1
    assert preds[1]["label"] is None and "notes.txt: not an image file" in preds[1]["error"]
    _err(client.post("/v1/classify", files=[("files", ("x.txt", b"hi", "text/plain"))], data={"labels": "a,b"}), 400,
         "images or audio")


def test_no_route_reads_a_path_the_client_names(client: TestClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png())
    r = client.post("/v1/classify", json={"images": [str(secret)], "labels": ["cat", "dog"], "encoder": "efficientnet-lite0"})
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] is None  # a string is base64, never a path
    for enc in (f"hf:{tmp_path}", "onnx:/etc/passwd", "hub:org/model"):
        _err(client.post("/v1/classify", json={"items": ["x"], "labels": LABELS, "encoder": enc}), 400, "registered encoders only")
    _err(client.put("/v1/classifiers/.env", json={"labels": LABELS}), 400, "classifier name")
    assert client.put("/v1/classifiers/..%2Fescape", json={"labels": LABELS}).status_code in (400, 404)
    assert not (tmp_path / "escape").exists()
    _err(client.post("/v1/classify", json={"items": ["x"], "classifier": "../../etc"}), 400, "classifier name")


@pytest.mark.parametrize("body, status, match", [
    ({"labels": LABELS}, 400, "exactly one of"),
    ({"items": ["x"], "images": ["eA=="], "labels": LABELS}, 400, "exactly one of"),
    ({"items": ["x"]}, 400, "give `labels`"),
    ({"items": ["x"], "labels": ["a", "a"]}, 400, "appears twice"),
    ({"items": ["x"], "labels": ["sports", "Sports"]}, 400, "differ only in case"),
    ({"items": ["x"], "labels": LABELS, "encoder": "nope"}, 400, "unknown encoder"),
    ({"items": ["x"], "labels": LABELS, "method": "svm"}, 400, "unknown method"),
    ({"items": ["x"], "classifier": "missing"}, 404, "no classifier named"),
    ({"items": "x", "labels": LABELS}, 422, "items"),
    ({"items": ["x"], "labels": LABELS, "top_k": 0}, 422, "top_k"),
    ({"items": ["x"], "labels": LABELS, "reject": 2}, 422, "reject"),
    ({"items": ["x"], "labels": LABELS, "surprise": 1}, 422, "surprise"),
    ({"items": [1, 2], "labels": LABELS}, 422, "items"),
])
def test_classify_errors(client: TestClient, body: dict, status: int, match: str) -> None:
    _err(client.post("/v1/classify", json=body), status, match)


def test_bad_bodies_never_cause_a_5xx(client: TestClient) -> None:
    for raw in (b"", b"null", b"[]", b"{", b'{"items": null}', b"\xff\xfe", b'{"items": ["a"], "labels": 5}',
                b'{"items": ["a"], "labels": {"a": 3}}', b'{"images": [""], "labels": ["a","b"]}'):
        r = client.post("/v1/classify", content=raw, headers={"content-type": "application/json"})
        assert r.status_code < 500, (raw, r.status_code, r.text)
        if r.status_code == 200:  # a bad item is that item's error
            assert all(p["error"] for p in r.json()["predictions"])
        else:
            assert set(r.json()) == {"error"}
    assert client.get("/nope").status_code == 404 and set(client.get("/nope").json()) == {"error"}


def test_limits(serve_client) -> None:
    c = serve_client(max_body_mb=0.01, max_items=3)
    _err(c.post("/v1/classify", json={"items": ["x" * 20000], "labels": LABELS}), 413, "--max-body-mb")
    _err(c.post("/v1/classify", json={"items": ["a", "b", "c", "d"], "labels": LABELS}), 413, "--max-items")
    _err(c.post("/v1/embed", json={"items": ["a", "b", "c", "d"]}), 413, "--max-items")

    def chunks():
        yield b'{"items": ["'
        for _ in range(50):
            yield b"x" * 1000
        yield b'"], "labels": ["a", "b"]}'

    _err(c.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"}), 413)  # no length header


def test_cors_is_off_unless_asked(serve_client) -> None:
    hdr = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    c = serve_client()
    assert "access-control-allow-origin" not in c.options("/v1/classify", headers=hdr).headers
    c = serve_client(cors=["https://example.org"])
    assert c.options("/v1/classify", headers=hdr).headers["access-control-allow-origin"] == "https://example.org"


# ---------------------------------------------------------------------- embed
def test_embed(client: TestClient) -> None:
    r = client.post("/v1/embed", json={"items": ["a goal", "", "the vote"]}).json()
    assert r["encoder"] == "test-keywords" and r["dim"] == 16
    assert len(r["vectors"][0]) == 16 and r["vectors"][1] is None and "1" in r["errors"]
    np.testing.assert_allclose(r["vectors"][2], KeywordEncoder().encode(["the vote"])[0], atol=1e-6)


# ---------------------------------------------------------------------- stored classifiers, active learning
def test_classifier_lifecycle(client: TestClient, tmp_path: Path) -> None:
    r = client.put("/v1/classifiers/news", json={"labels": LABELS})
    assert r.status_code == 200 and r.json()["method"] == "similarity" and r.json()["n_examples"] == 0
    pool = ["a goal", "the vote", "a chip", "tennis match", "senator election", "compiler software", "the striker"]
    assert client.post("/v1/classifiers/news/pool", json={"items": pool}).json()["n_pool"] == 7
    nxt = client.get("/v1/classifiers/news/next?k=3").json()["items"]
    assert len(nxt) == 3 and len({n["item"] for n in nxt}) == 3 and all(n["item"] in pool for n in nxt)
    assert {"index", "item", "label", "confidence", "scores"} <= set(nxt[0])
    ex = [{"item": "a goal", "label": "sports"}, {"item": "the vote", "label": "politics"},
          {"item": "a chip", "label": "technology"}, {"item": "tennis match", "label": "sports"}]
    info = client.post("/v1/classifiers/news/examples", json={"examples": ex}).json()
    assert info["method"] == "prototype" and info["n_examples"] == 4 and info["n_pool"] == 3
    assert info["history"] and info["history"][-1][0] == 4 and info["cv_accuracy"] is not None
    got = client.post("/v1/classify", json={"items": ["the striker scored"], "classifier": "news"}).json()
    assert got["method"] == "prototype" and got["predictions"][0]["label"] == "sports"
    listed = client.get("/v1/classifiers").json()["classifiers"]
    assert [c["name"] for c in listed] == ["news"] and client.get("/v1/classifiers/news").json()["n_examples"] == 4
    _err(client.post("/v1/classifiers/news/examples", json={"examples": [{"item": "x", "label": "weather"}]}), 400,
         "not one of the classifier's classes")
    # the stored folder is an ordinary saved classifier: the CLI uses it (the response names it inside the store only)
    from transzero.cli import main

    assert info["path"] == "STORE/news"
    items = tmp_path / "x.txt"
    items.write_text("the striker scored\n")
    try:
        main(["classify", str(items), "--model", str(tmp_path / "store" / "news"), "-o", str(tmp_path / "o.jsonl")])
    except SystemExit as e:
        assert e.code in (0, None)
    assert json.loads((tmp_path / "o.jsonl").read_text())["label"] == "sports"
    assert client.delete("/v1/classifiers/news").json() == {"deleted": "news"}
    for method, path in (("get", "/v1/classifiers/news"), ("delete", "/v1/classifiers/news"),
                         ("get", "/v1/classifiers/news/next"), ("post", "/v1/classifiers/news/pool")):
        kw = {"json": {"items": ["x"]}} if method == "post" else {}
        _err(getattr(client, method)(path, **kw), 404, "no classifier named")


def test_refit_is_sub_second(client: TestClient) -> None:
    import time

    client.put("/v1/classifiers/fast", json={"labels": LABELS})
    t0 = time.perf_counter()
    client.post("/v1/classifiers/fast/examples", json={"examples": [{"item": "a goal", "label": "sports"}]})
    client.post("/v1/classify", json={"items": TEXTS, "classifier": "fast"})
    assert time.perf_counter() - t0 < 1.0


def test_pinned_models_are_read_only(serve_client, tmp_path: Path) -> None:
    from transzero import ZeroShotClassifier

    saved = ZeroShotClassifier(LABELS, encoder="test-keywords").fit().save(tmp_path / "pinned")
    c = serve_client(models={"fixed": saved})
    assert c.post("/v1/classify", json={"items": TEXTS, "classifier": "fixed"}).json()["predictions"][0]["label"] == "sports"
    assert any(x["name"] == "fixed" and x["read_only"] for x in c.get("/v1/classifiers").json()["classifiers"])
    _err(c.put("/v1/classifiers/fixed", json={"labels": LABELS}), 409, "read-only")
    _err(c.delete("/v1/classifiers/fixed"), 409, "read-only")


def test_metrics(tmp_path: Path) -> None:  # one process's counters (a Ray replica's: test_ray_serve.py)
    with TestClient(create_app(_settings(tmp_path))) as client:
        client.post("/v1/classify", json={"items": TEXTS, "labels": LABELS})
        text = client.get("/metrics").text
        assert 'transzero_requests_total{method="POST",route="/v1/classify",status="200"} 1.0' in text
        assert "transzero_request_seconds_bucket" in text and "transzero_batch_items_bucket" in text
        assert "transzero_queue_depth" in text


# ---------------------------------------------------------------------- micro-batching
def test_concurrent_requests_are_encoded_together() -> None:
    from transzero.serve.batcher import MicroBatcher

    enc = KeywordEncoder()
    batcher = MicroBatcher(enc, None, max_batch=64, max_wait_ms=50)
    requests = [[f"a goal number {i}", f"the vote {i}"] for i in range(10)]

    async def go():
        return await asyncio.gather(*(batcher.encode(r) for r in requests))

    results = asyncio.run(go())
    batcher.close()
    assert enc.calls <= 2 and enc.items_encoded == 20  # 10 requests, at most 2 encoder calls
    for r, res in zip(requests, results):
        np.testing.assert_allclose(res.X, KeywordEncoder().encode(r), rtol=1e-6)
        assert res.timing.batch_items >= 2 and not res.errors
