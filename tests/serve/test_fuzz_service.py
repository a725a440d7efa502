"""Property-based fuzzing of the service's JSON and multipart parsers (hypothesis; seeded, bounded).

Properties, for every POST/PUT route:

* arbitrary bytes, JSON of any shape, JSON nested up to thousands deep and broken multipart forms never get a 500:
  the answer is 2xx, or 4xx with the JSON error body ``{"error": {"type", "message"}}`` (a snake_case type);
* a stored classifier is untouched by every rejected request (memory and disk agree) and still classifies and
  learns afterwards.

``TRANSZERO_FUZZ_EXAMPLES`` scales the number of examples per property (default 60), as in ``tests/test_fuzz.py``.
Runs are derandomized, so a failure reproduces with the same command.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from transzero.serve import create_app  # noqa: E402
from transzero.serve.app import ERROR_TYPES  # noqa: E402

from .test_api import LABELS, _png, _settings  # noqa: E402

N = int(os.environ.get("TRANSZERO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SNAKE = re.compile(r"^[a-z]+(_[a-z]+)*$")
NAME = "p"
ROUTES = [("post", "/v1/classify"), ("post", "/v1/embed"), ("put", f"/v1/classifiers/{NAME}"),
          ("post", f"/v1/classifiers/{NAME}/examples"), ("post", f"/v1/classifiers/{NAME}/pool")]
CONTENT_TYPES = ["application/json", "text/plain", "application/octet-stream", "multipart/form-data",
                 "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded", ""]

# JSON-like values of any shape (with the fields the routes know, so some reach the service)
scalars = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=20)
keys = st.sampled_from(["items", "images", "audio", "labels", "examples", "item", "label", "encoder", "method",
                        "classifier", "top_k", "explain", "reject", "multi_label", "modality", "preset", "language"]) \
    | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                           max_leaves=12)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    tmp = tmp_path_factory.mktemp("fuzz-service")
    with TestClient(create_app(_settings(tmp)), raise_server_exceptions=False) as c:
        r = c.put(f"/v1/classifiers/{NAME}", json={"labels": LABELS, "examples": [
            {"item": "a goal", "label": "sports"}, {"item": "the vote", "label": "politics"}]})
        assert r.status_code == 200, r.text
        yield c, tmp / "store" / NAME


def _stored(c: TestClient, folder: Path) -> tuple[Any, ...]:
    """What the classifier holds, from the API and from disk (they must agree)."""
    info = c.get(f"/v1/classifiers/{NAME}").json()
    disk = json.loads((folder / "studio.json").read_text("utf-8"))
    assert (info["n_examples"], info["n_pool"]) == (len(disk["examples"]), len(disk["pool"])), (info, disk)
    return info["classes"], info["method"], disk["examples"], disk["pool"]


def _check_answer(r: Any) -> None:
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
        assert SNAKE.match(body["error"]["type"]) and body["error"]["message"], body
        assert body["error"]["type"] in ERROR_TYPES[r.status_code], body
        assert "Traceback" not in r.text


def _send(c: TestClient, folder: Path, method: str, path: str, **kw: Any) -> None:
    """Send one request; a rejected one must leave the stored classifier as it was, and it must still work."""
    before = _stored(c, folder)
    r = getattr(c, method)(path, **kw)
    _check_answer(r)
    if r.status_code >= 400:
        assert _stored(c, folder) == before, (path, r.text)
    ok = c.post("/v1/classify", json={"items": ["the striker scored a goal"], "classifier": NAME})
    assert ok.status_code == 200, ok.text


@FUZZ
@given(route=st.sampled_from(ROUTES), raw=st.binary(max_size=300), ctype=st.sampled_from(CONTENT_TYPES))
def test_arbitrary_bytes(served: tuple[TestClient, Path], route: tuple[str, str], raw: bytes, ctype: str) -> None:
    c, folder = served
    _send(c, folder, *route, content=raw, headers={"content-type": ctype} if ctype else {})


@FUZZ
@given(route=st.sampled_from(ROUTES), value=json_values)
def test_json_of_any_shape(served: tuple[TestClient, Path], route: tuple[str, str], value: Any) -> None:
    c, folder = served
    if route[0] == "put" and isinstance(value, dict) and "labels" in value:
        value = {**value, "labels": 5}  # a PUT that succeeds replaces the classifier: keep the fixture's one
    _send(c, folder, *route, content=json.dumps(value).encode(), headers={"content-type": "application/json"})


@FUZZ
@given(route=st.sampled_from(ROUTES), depth=st.integers(1, 5000), opener=st.sampled_from(["[", '{"a":', '{"items":[']),
       wrap=st.sampled_from(["{}", '{{"items": {}}}', '{{"labels": {}}}', '{{"examples": [{}]}}']),
       broken=st.booleans())
def test_nested_json(served: tuple[TestClient, Path], route: tuple[str, str], depth: int, opener: str, wrap: str,
                     broken: bool) -> None:
    c, folder = served
    closer = {"[": "]", '{"a":': "}", '{"items":[': "]}"}[opener]
    inner = opener * depth + ("1" if opener != "[" else "") + closer * (depth - int(broken))
    _send(c, folder, *route, content=wrap.format(inner).encode(), headers={"content-type": "application/json"})


field_values = st.text(max_size=30) | st.sampled_from(["[not json", "{", '{"a": ', "[" * 3000 + "]" * 3000, "a,a",
                                                       '["a", "b"]', '{"a": "x", "b": null}', "sports,politics",
                                                       "\ud800,b", "1e999", "-1", "NaN", "true"])
file_names = st.sampled_from(["a.png", "../../etc/passwd", "", "x.wav", "note.txt", "\x00.png", "é" * 300 + ".png"]) \
    | st.text(max_size=20)
file_types = st.sampled_from(["image/png", "audio/wav", "text/plain", "", "application/octet-stream", "image/"])


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["labels", "classifier", "encoder", "method", "top_k", "explain",
                                                "reject", "multi_label", "files", "other"]), field_values, max_size=4),
       files=st.lists(st.tuples(file_names, st.sampled_from([b"", b"junk", b"\x89PNG\r\n\x1a\n", _png()]), file_types),
                      max_size=3),
       cut=st.integers(0, 400), mangle=st.sampled_from(["none", "truncate", "boundary", "header", "no-boundary"]))
def test_broken_multipart(served: tuple[TestClient, Path], fields: dict[str, str], files: list[tuple[str, bytes, str]],
                          cut: int, mangle: str) -> None:
    c, folder = served
    boundary = "fuzzboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v.encode("utf-8", "replace")
             + b"\r\n" for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{n}"\r\n'
              f"Content-Type: {t}\r\n\r\n".encode("utf-8", "replace") + data + b"\r\n" for n, data, t in files]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    ctype = f"multipart/form-data; boundary={boundary}"
    if mangle == "truncate":
        body = body[: cut % (len(body) + 1)]
    elif mangle == "boundary":
        ctype = "multipart/form-data; boundary=other"
    elif mangle == "header":
        body = body.replace(b"Content-Disposition", b"Content-Dispositio", 1)
    elif mangle == "no-boundary":
        ctype = "multipart/form-data"
    _send(c, folder, "post", "/v1/classify", content=body, headers={"content-type": ctype})


def test_the_classifier_still_learns_after_fuzzing(served: tuple[TestClient, Path]) -> None:
    c, folder = served
    n = len(_stored(c, folder)[2])
    r = c.post(f"/v1/classifiers/{NAME}/examples", json={"examples": [{"item": "a new chip", "label": "technology"}]})
    assert r.status_code == 200 and r.json()["n_examples"] == n + 1 == len(_stored(c, folder)[2]), r.text
