"""The one encoded-batch type (Encoded) and the one result type (Predictions, with its per-item view)."""

from __future__ import annotations

import numpy as np
import pytest

from transzero.encoded import EncodeTiming, Encoded
from transzero.predictions import Predictions


def test_encoded_from_a_report_keeps_positions_and_errors() -> None:
    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    X[1] = np.nan
    e = Encoded.from_report(X, {1: "empty text"}, [10, 11, 12, 13])
    assert e.positions == [10, 12, 13] and e.errors == {11: "empty text"} and len(e) == 3
    np.testing.assert_array_equal(e.X, X[[0, 2, 3]])
    assert list(e.rows()) == [10, 12, 13]
    r = Encoded.from_report(X, {1: "bad"}).relabel([5, 6, 7, 8])
    assert r.positions == [5, 7, 8] and r.errors == {6: "bad"}
    with pytest.raises(ValueError, match="positions"):
        Encoded.from_report(X, {}, [0, 1])


def test_encoded_parts_concatenate_with_offsets_and_timings() -> None:
    a = Encoded.from_report(np.ones((2, 3)), {1: "x"}, timing=EncodeTiming(0.1, 1.0, 4))
    b = Encoded.from_report(np.zeros((3, 3)), {0: "y"}, timing=EncodeTiming(0.2, 2.0, 3))
    c = Encoded.concat([a, b], [0, 2])
    assert c.positions == [0, 3, 4] and c.errors == {1: "x", 2: "y"} and c.X.shape == (3, 3)
    assert c.timing == EncodeTiming(pytest.approx(0.3), 3.0, 4)
    assert len(Encoded.concat([], [], dim=5).X[0:0].T) == 5


def test_predictions_per_item_view() -> None:
    p = Predictions(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), np.zeros((2, 2)), ["a", "b"], ["a", "b"],
                    scores=np.array([0.9, 0.8]), multi_labels=[["a"], ["b"]])
    assert p.positions == [0, 1]
    q = p.at([0, 2], {1: "bad item", 3: "too short"})
    v = q.per_item()
    assert v.labels == ["a", None, "b", None] and v.errors == {1: "bad item", 3: "too short"}
    assert np.isnan(v.proba[[1, 3]]).all() and v.proba[2, 1] == 0.8
    assert v.multi_labels == [["a"], None, ["b"], None] and np.isnan(v.scores[1]) and v.scores[2] == 0.8
    assert q.bad_lines() == ["item 1: bad item", "item 3: too short"]
    e = Predictions.empty(["a", "b"], {0: "x"})
    assert e.per_item().labels == [None] and e.proba.shape == (0, 2)
    with pytest.raises(ValueError, match="table"):
        q.records()
