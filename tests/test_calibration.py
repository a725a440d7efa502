"""Calibration (temperature + biases, ECE, reliability) and the open-set / multi-label decisions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from transzero.calibration import Calibrator, expected_calibration_error, plot_reliability, reliability_bins
from transzero.decisions import (
    check_threshold,
    fit_label_thresholds,
    multilabel_scores,
    open_set_report,
    rejection_scores,
    threshold_for_frr,
)
from transzero.errors import InputError


def calibrated_task(n: int = 4000, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is the true class distribution (labels drawn from it)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=1.5, size=(n, k))
    P = softmax(Z, axis=1)
    y = np.asarray([rng.choice(k, p=p) for p in P])
    return Z, y


def test_calibrator_undoes_a_known_overconfidence() -> None:
    Z, y = calibrated_task()
    over = 4.0 * Z  # a model four times too confident
    before = expected_calibration_error(softmax(over, axis=1), y)
    cal = Calibrator(bias=False).fit(over[:2000], y[:2000])
    assert cal.temperature_ == pytest.approx(4.0, rel=0.15)
    after = expected_calibration_error(cal.predict_proba(over[2000:]), y[2000:])
    assert before > 0.1 and after < 0.03


def test_calibrator_bias_corrects_a_shifted_class() -> None:
    Z, y = calibrated_task()
    shifted = Z.copy()
    shifted[:, 0] += 2.0
    cal = Calibrator(bias=True, bias_l2=0.0).fit(shifted, y)
    assert cal.bias_[0] - cal.bias_[1:].mean() == pytest.approx(-2.0, abs=0.3)
    assert cal.get_state()["temperature"] == pytest.approx(1.0, rel=0.15)
    with pytest.raises(InputError, match="class indices"):
        Calibrator().fit(Z, y + 10)


def test_ece_and_reliability_bins_by_hand(tmp_path) -> None:
    P = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])
    # bin of 0.9: accuracy 0.5 (gap 0.4); bin of 0.6: accuracy 1.0 (gap 0.4) -> ECE 0.4
    assert expected_calibration_error(P, y) == pytest.approx(0.4)
    b = reliability_bins(P, y)
    assert b["count"].sum() == 4
    png = plot_reliability(P, y, tmp_path / "r.png", others={"other": P})
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_rejection_thresholds_at_the_edges() -> None:
    P = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])
    s = rejection_scores(P)
    assert list(s) == [0.9, 0.55, 0.7]
    assert not (s < check_threshold(0.0)).any()  # threshold 0: nothing rejected
    assert (s < check_threshold(1.0)).all()      # threshold 1: everything rejected
    for bad in (-0.1, 1.5, float("nan"), "x"):
        with pytest.raises(InputError):
            check_threshold(bad)
    assert check_threshold(3.0, "max_logit") == 3.0  # logits are not bounded
    in_scope = np.linspace(0, 1, 101)
    t = threshold_for_frr(in_scope, 0.1)
    assert np.mean(in_scope < t) == pytest.approx(0.1, abs=0.01)
    assert np.mean(in_scope < threshold_for_frr(in_scope, 0.0)) == 0.0
    with pytest.raises(InputError, match="false-rejection rate"):
        threshold_for_frr(in_scope, 1.0)


def test_open_set_report_by_hand() -> None:
    gold = ["a", "b", "zzz", "zzz"]
    pred = ["a", "none", "none", "b"]
    scores = np.array([0.9, 0.3, 0.2, 0.6])
    r = open_set_report(gold, pred, scores, ["a", "b"])
    assert r["in_scope_accuracy"] == 0.5 and r["out_of_scope_recall"] == 0.5
    # AUROC of "low score = out of scope": OOS scores {0.2, 0.6} vs in-scope {0.9, 0.3}: 3 of 4 pairs ordered
    assert r["rejection_auroc"] == pytest.approx(0.75)
    assert r["n_out_of_scope"] == 2
    none_rejected = open_set_report(["a", "b"], ["a", "b"], np.array([0.9, 0.8]), ["a", "b"])
    assert none_rejected["rejection_rate"] == 0.0 and np.isnan(none_rejected["rejection_auroc"])


def test_multilabel_scores_and_thresholds() -> None:
    P = np.array([[0.45, 0.45, 0.1], [0.8, 0.1, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    S = multilabel_scores(P)
    assert S[0, 0] > 0.5 and S[0, 1] > 0.5 and S[0, 2] < 0.5  # two labels on
    assert (S[1] >= 0.5).sum() == 1
    np.testing.assert_allclose(S[2], 0.5)  # all alike: each exactly as likely as a typical other
    assert (S >= 0.0).all()                 # threshold 0: every label
    assert not (S[:2] >= 1.0).any()         # threshold 1: none
    Y = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]])
    th = fit_label_thresholds(S, Y)
    assert th.shape == (3,)
    assert (((S >= th) == Y.astype(bool)).mean()) >= ((S >= 0.5) == Y.astype(bool)).mean()
