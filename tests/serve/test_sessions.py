"""Labelling sessions in the studio's API: the session log, undo, the next-item policy, import, and a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from transzero.serve import create_app  # noqa: E402

from .test_api import LABELS, _err, _settings  # noqa: E402

POOL = ["a goal", "the vote", "a chip", "tennis match", "senator election", "compiler software", "the striker",
        "budget debate", "phone screen", "the match and the vote"]


def _start(client: TestClient) -> None:
    assert client.put("/v1/classifiers/s", json={"labels": LABELS}).status_code == 200
    assert client.post("/v1/classifiers/s/pool", json={"items": POOL}).json()["n_pool"] == len(POOL)


def test_the_session_logs_each_label_with_the_models_guess_and_undo_takes_it_back(client_factory) -> None:
    client = client_factory()
    _start(client)
    client.post("/v1/classifiers/s/examples", json={"examples": [{"item": "a goal", "label": "sports"}]})
    info = client.post("/v1/classifiers/s/examples", json={"examples": [{"item": "the vote", "label": "politics"}]}).json()
    assert info["n_session"] == 2 and info["n_examples"] == 2
    s = client.get("/v1/classifiers/s/session").json()
    assert [(e["item"], e["label"]) for e in s["session"]] == [("a goal", "sports"), ("the vote", "politics")]
    assert s["session"][0]["predicted"] == "sports" and 0 < s["session"][0]["confidence"] <= 1  # what it said then
    assert s["session"][0]["time"].endswith("+00:00") and "a goal" not in s["pool"]
    undone = client.delete("/v1/classifiers/s/examples/last").json()
    assert (undone["undone"]["item"], undone["undone"]["label"]) == ("the vote", "politics")
    assert undone["undone"]["predicted"] is not None and undone["n_examples"] == 1
    s = client.get("/v1/classifiers/s/session").json()
    assert len(s["session"]) == 1 and s["pool"][0] == "the vote"  # back in the pool, first
    client.delete("/v1/classifiers/s/examples/last")
    _err(client.delete("/v1/classifiers/s/examples/last"), 409, "no labels to undo")


@pytest.mark.parametrize("policy", ["margin", "entropy", "diverse"])
def test_the_next_item_policy_is_chosen_and_remembered(client_factory, policy: str) -> None:
    client = client_factory()
    _start(client)
    assert client.put("/v1/classifiers/s/policy", json={"policy": policy}).json()["policy"] == policy
    assert client.get("/v1/classifiers/s").json()["policy"] == policy
    got = client.get("/v1/classifiers/s/next?k=3").json()["items"]
    assert len(got) == 3 and len({g["item"] for g in got}) == 3
    _err(client.put("/v1/classifiers/s/policy", json={"policy": "random"}), 422)


def test_policies_rank_by_their_measure() -> None:
    import numpy as np

    from transzero.active import select_for_labelling

    P = np.array([[0.5, 0.5, 0.0], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [0.6, 0.4, 0.0]])
    X = np.eye(4, dtype=np.float32)
    assert select_for_labelling(P, X, 1, policy="margin") == [0]  # the two best tie
    assert select_for_labelling(P, X, 1, policy="entropy") == [1]  # spread over all three
    assert select_for_labelling(P, X, 4, policy="margin")[-1] == 2


def test_imported_labels_keep_their_time_and_guess_and_a_restart_keeps_the_session(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        _start(client)
        rows = [{"item": "a chip", "label": "technology", "time": "2026-01-02T03:04:05+00:00", "predicted": "sports",
                 "confidence": 0.4}, {"item": "the striker", "label": "sports"}]
        client.post("/v1/classifiers/s/examples", json={"examples": rows})
        client.put("/v1/classifiers/s/policy", json={"policy": "entropy"})
        before = client.get("/v1/classifiers/s/session").json()
    with TestClient(create_app(_settings(tmp_path))) as client:  # a new server over the same store
        after = client.get("/v1/classifiers/s/session").json()
    assert after == before and after["policy"] == "entropy"
    assert after["session"][0] == {"item": "a chip", "label": "technology", "time": "2026-01-02T03:04:05+00:00",
                                   "predicted": "sports", "confidence": 0.4}
    assert after["session"][1]["predicted"] is not None


def test_a_damaged_session_file_is_one_line(tmp_path: Path) -> None:
    import json

    with TestClient(create_app(_settings(tmp_path))) as client:
        _start(client)
    f = tmp_path / "store" / "s" / "studio.json"
    state = json.loads(f.read_text())
    state["session"] = [{"item": 3}]
    f.write_text(json.dumps(state))
    with TestClient(create_app(_settings(tmp_path))) as client:
        listed = client.get("/v1/classifiers").json()["classifiers"]
        assert "studio.json is broken" in listed[0]["error"]


@pytest.fixture
def client_factory(tmp_path: Path):
    clients = []

    def make() -> TestClient:
        c = TestClient(create_app(_settings(tmp_path)))
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
