from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from transzero.errors import InputError
from transzero.gzsl_metrics import (
    ausuc,
    choose_gamma,
    gzsl_accuracies,
    gzsl_report,
    harmonic_mean,
    per_class_accuracy,
    seen_unseen_curve,
    zsl_accuracy,
)

# --------------------------------------------------------------------------- hand example
#
# 4 classes: columns 0, 1 seen; columns 2, 3 unseen. 6 samples. Integer scores, so that
# d = max(seen) - max(unseen) is exact.
#
#   row  y   scores          seen argmax  unseen argmax  d
#   0    0   [9, 1, 5, 2]    0 (ok)       2             9 - 5 =  4
#   1    0   [2, 6, 3, 1]    1 (wrong)    2             6 - 3 =  3
#   2    1   [1, 7, 6, 0]    1 (ok)       2 (wrong)     7 - 6 =  1
#   3    2   [8, 0, 6, 3]    0 (wrong)    2 (ok)        8 - 6 =  2
#   4    3   [3, 1, 2, 4]    0            3 (ok)        3 - 4 = -1
#   5    2   [0, 2, 1, 9]    1            3 (wrong)     2 - 9 = -7
#
# A sample is predicted seen iff d > gamma.
SEEN = np.array([True, True, False, False])
SCORES = np.array(
    [
        [9, 1, 5, 2],
        [2, 6, 3, 1],
        [1, 7, 6, 0],
        [8, 0, 6, 3],
        [3, 1, 2, 4],
        [0, 2, 1, 9],
    ],
    dtype=np.float64,
)
Y = np.array([0, 0, 1, 2, 3, 2])


def test_gzsl_accuracies_hand_example_gamma_0() -> None:
    # gamma = 0: rows 0-3 go seen, rows 4-5 unseen.
    # seen:   class 0 -> rows 0 ok, 1 wrong = 1/2; class 1 -> row 2 ok = 1   => s = 0.75
    # unseen: class 2 -> rows 3 (seen side, wrong), 5 wrong = 0; class 3 -> row 4 ok = 1 => u = 0.5
    # H = 2 * 0.5 * 0.75 / 1.25 = 0.6
    s, u, h = gzsl_accuracies(SCORES, Y, SEEN)
    assert s == pytest.approx(0.75) and u == pytest.approx(0.5) and h == pytest.approx(0.6)


def test_gzsl_accuracies_hand_example_calibrated() -> None:
    # gamma = 2.5: rows with d in {1, 2} flip to unseen. Row 2 (class 1) -> column 2, wrong;
    # row 3 (class 2) -> column 2, right.
    # s = (1/2 + 0) / 2 = 0.25; u = (1/2 + 1) / 2 = 0.75; H = 2 * .75 * .25 / 1 = 0.375
    s, u, h = gzsl_accuracies(SCORES, Y, SEEN, gamma=2.5)
    assert (s, u, h) == pytest.approx((0.25, 0.75, 0.375))
    # gamma = 1.5: only row 2 flips. s = 0.25, u = 0.5, H = 2 * .5 * .25 / .75 = 1/3
    assert gzsl_accuracies(SCORES, Y, SEEN, gamma=1.5) == pytest.approx((0.25, 0.5, 1 / 3))


def test_ties_go_to_unseen() -> None:
    # gamma = 2 == d of row 3: the tie sends row 3 to the unseen side (right): same as 2.5.
    assert gzsl_accuracies(SCORES, Y, SEEN, gamma=2.0) == pytest.approx((0.25, 0.75, 0.375))
    # Just below 2 row 3 is still predicted seen (wrong): same as gamma = 1.5.
    assert gzsl_accuracies(SCORES, Y, SEEN, gamma=np.nextafter(2.0, 0)) == pytest.approx((0.25, 0.5, 1 / 3))


def test_infinite_gammas() -> None:
    # -inf: everything seen -> u = 0, s = 0.75; +inf: everything unseen -> s = 0, u = ZSL acc 0.75
    assert gzsl_accuracies(SCORES, Y, SEEN, gamma=-np.inf) == pytest.approx((0.75, 0.0, 0.0))
    assert gzsl_accuracies(SCORES, Y, SEEN, gamma=np.inf) == pytest.approx((0.0, 0.75, 0.0))


def test_zsl_accuracy_uses_unseen_columns_only() -> None:
    # Unseen-class rows 3, 4, 5 ranked over columns 2, 3 only:
    # row 3 -> 2 ok; row 4 -> 3 ok; row 5 -> 3 wrong. class 2: 1/2, class 3: 1 => 0.75
    # (whereas in GZSL at gamma = 0 the unseen accuracy is only 0.5: row 3 is stolen by seen).
    assert zsl_accuracy(SCORES, Y, SEEN) == pytest.approx(0.75)
    # ZSL needs no seen classes in the mask.
    assert zsl_accuracy(SCORES[3:, 2:], Y[3:] - 2, np.array([False, False])) == pytest.approx(0.75)


def test_curve_hand_example() -> None:
    # Critical values d: -7, -1, 1, 2, 3, 4. At gamma the rows with d <= gamma are unseen.
    #   gamma  rows unseen   u                      s
    #   -inf   -             0                      .75 (rows 0, 2 ok; row 1 wrong)
    #   -7     5             0  (row 5 wrong)       .75
    #   -1     5,4           .5 (row 4 ok)          .75
    #    1     +2            .5                     .25 (row 2 lost)
    #    2     +3            .75 (row 3 ok)         .25
    #    3     +1            .75                    .25 (row 1 was wrong anyway)
    #    4     +0            .75                    0   (row 0 lost)
    #   +inf   all           .75                    0
    gammas, u, s = seen_unseen_curve(SCORES, Y, SEEN)
    np.testing.assert_array_equal(gammas, [-np.inf, -7, -1, 1, 2, 3, 4, np.inf])
    np.testing.assert_allclose(u, [0, 0, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75])
    np.testing.assert_allclose(s, [0.75, 0.75, 0.75, 0.25, 0.25, 0.25, 0, 0])
    # End points: (u, s) = (0, s_max) at -inf and (u_max, 0) at +inf, exactly.
    assert (u[0], s[0]) == (0.0, pytest.approx(0.75))
    assert (u[-1], s[-1]) == (pytest.approx(0.75), 0.0)


def test_ausuc_hand_trapezoids() -> None:
    # Staircase: from u = 0 to 0.5 at s = 0.75 -> 0.375; from 0.5 to 0.75 at s = 0.25 -> 0.0625.
    # Vertical segments have zero width. AUSUC = 0.4375.
    assert ausuc(SCORES, Y, SEEN) == pytest.approx(0.4375)


def test_ausuc_perfectly_separable_is_unit_square() -> None:
    # True column 1, all others 0: seen-class rows have d = 1, unseen-class rows d = -1.
    # Curve: (0, 1) -> (1, 1) at gamma = -1 -> (1, 0) at gamma = 1: area u_max * s_max = 1.
    y = np.array([0, 1, 2, 3, 0, 2])
    scores = np.eye(4)[y]
    gammas, u, s = seen_unseen_curve(scores, y, SEEN)
    np.testing.assert_array_equal(gammas, [-np.inf, -1, 1, np.inf])
    np.testing.assert_array_equal(u, [0, 1, 1, 1])
    np.testing.assert_array_equal(s, [1, 1, 0, 0])
    assert ausuc(scores, y, SEEN) == pytest.approx(1.0)


def test_choose_gamma_hand_example_and_shift() -> None:
    # H per regime: [-1, 1) -> 0.6 (best; contains 0), [1, 2) -> 1/3, [2, 4) -> 0.375, else 0.
    assert choose_gamma(SCORES, Y, SEEN) == 0.0
    # Adding 10 to every seen column shifts every d by 10: the best regime becomes [9, 11)
    # and its midpoint 10 is returned (0 now lies in the all-seen regime, where u = 0).
    shifted = SCORES + 10.0 * SEEN
    g = choose_gamma(shifted, Y, SEEN)
    assert g == pytest.approx(10.0)
    assert gzsl_accuracies(shifted, Y, SEEN, gamma=g) == pytest.approx((0.75, 0.5, 0.6))
    assert gzsl_accuracies(shifted, Y, SEEN)[2] == 0.0


def _rows_with_d(spec: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """One row per (true class, d): correct on both sides, with max seen - max unseen = d."""
    scores = np.full((len(spec), 4), -5.0)
    for i, (c, d) in enumerate(spec):
        if SEEN[c]:
            scores[i, c], scores[i, 2] = d, 0.0
        else:
            scores[i, c], scores[i, 0] = 0.0, d
    return scores, np.array([c for c, _ in spec])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_choose_gamma_tie_takes_smallest_abs(sign: float) -> None:
    # d: unseen row (class 2) at 1, seen row (class 0) at 2, unseen row (class 3) at 3,
    # seen row (class 1) at 4. Regimes: [1, 2): u = .5, s = 1 -> H = 2/3; [2, 3): .5, .5 -> .5;
    # [3, 4): u = 1, s = .5 -> 2/3; elsewhere H = 0. Midpoints 1.5 and 3.5 tie -> 1.5.
    # Mirrored (d -> -d with the roles of the rows swapped): midpoints -3.5, -1.5 -> -1.5.
    if sign > 0:
        spec = [(2, 1.0), (0, 2.0), (3, 3.0), (1, 4.0)]
    else:
        spec = [(2, -4.0), (0, -3.0), (3, -2.0), (1, -1.0)]
    scores, y = _rows_with_d(spec)
    g = choose_gamma(scores, y, SEEN)
    assert g == pytest.approx(1.5 * sign)
    assert gzsl_accuracies(scores, y, SEEN, gamma=g)[2] == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- weighting


def test_per_class_weighting_with_imbalanced_classes() -> None:
    # Seen class 0: 9 rows, all right; seen class 1: 1 row, predicted class 0 (wrong).
    #   per-class s = (1 + 0) / 2 = 0.5   (the per-sample mean would be 0.9)
    # Unseen class 2: 1 row right; unseen class 3: 3 rows, 1 right, 2 predicted class 2.
    #   per-class u = (1 + 1/3) / 2 = 2/3 (per-sample: 0.5); H = 2 * (2/3) * .5 / (7/6) = 4/7
    y = np.array([0] * 9 + [1] + [2] + [3, 3, 3])
    pred = np.array([0] * 9 + [0] + [2] + [3, 2, 2])
    scores = np.eye(4)[pred]
    s, u, h = gzsl_accuracies(scores, y, SEEN)
    assert (s, u, h) == pytest.approx((0.5, 2 / 3, 4 / 7))
    # Seen-class rows have d = 1, unseen-class rows d = -1: the curve is
    # (0, .5) -> (2/3, .5) at gamma = -1 -> (2/3, 0) at gamma = 1; AUSUC = 2/3 * 0.5 = 1/3.
    gammas, cu, cs = seen_unseen_curve(scores, y, SEEN)
    np.testing.assert_array_equal(gammas, [-np.inf, -1, 1, np.inf])
    np.testing.assert_allclose(cu, [0, 2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(cs, [0.5, 0.5, 0, 0])
    assert ausuc(scores, y, SEEN) == pytest.approx(1 / 3)


def test_per_class_accuracy() -> None:
    # class 0: 2 of 3 right; class 1: 0 of 1 -> (2/3 + 0) / 2 = 1/3
    yt, yp = [0, 0, 0, 1], [0, 0, 1, 0]
    assert per_class_accuracy(yt, yp) == pytest.approx(1 / 3)
    assert per_class_accuracy(yt, yp, classes=[0]) == pytest.approx(2 / 3)
    assert per_class_accuracy(yt, yp, classes=[0, 7]) == pytest.approx(2 / 3)  # absent class not averaged
    assert math.isnan(per_class_accuracy(yt, yp, classes=[7]))
    assert math.isnan(per_class_accuracy([], []))
    assert per_class_accuracy(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(0.75)


def test_harmonic_mean() -> None:
    assert harmonic_mean(0.5, 0.75) == pytest.approx(0.6)
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert math.isnan(harmonic_mean(float("nan"), 0.5))


# --------------------------------------------------------------------------- brute force


def _naive_acc(y: np.ndarray, pred: np.ndarray, classes: np.ndarray) -> float:
    accs = [float(np.mean(pred[y == c] == c)) for c in classes if np.any(y == c)]
    return float(np.mean(accs)) if accs else float("nan")


def _naive_h(scores: np.ndarray, y: np.ndarray, seen: np.ndarray, gamma: float) -> tuple[float, float, float]:
    """Literal calibrated stacking: subtract gamma from seen columns, argmax over all."""
    pred = np.argmax(scores - gamma * seen, axis=1)
    s = _naive_acc(y, pred, np.flatnonzero(seen))
    u = _naive_acc(y, pred, np.flatnonzero(~seen))
    return s, u, (0.0 if u + s == 0 else 2 * u * s / (u + s))


@pytest.fixture(scope="module")
def random_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n, k = 300, 12
    seen = np.zeros(k, dtype=bool)
    seen[rng.permutation(k)[:7]] = True
    y = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 0.7)))  # imbalanced classes
    scores = rng.normal(size=(n, k))
    scores[np.arange(n), y] += 1.5  # informative scores ...
    scores += 0.8 * seen  # ... biased towards the seen classes, as in practice
    return scores, y, seen


def test_curve_matches_brute_force(random_case) -> None:
    scores, y, seen = random_case
    gammas, u, s = seen_unseen_curve(scores, y, seen)
    assert gammas[0] == -np.inf and gammas[-1] == np.inf and np.all(np.diff(gammas) > 0)
    assert np.all(np.diff(u) >= 0) and np.all(np.diff(s) <= 0)
    assert u[0] == 0.0 and s[-1] == 0.0
    # Same rule at the critical values themselves (ties included).
    for g, ug, sg in zip(gammas, u, s):
        s_ref, u_ref, _ = gzsl_accuracies(scores, y, seen, gamma=g)
        assert abs(u_ref - ug) < 1e-12 and abs(s_ref - sg) < 1e-12
    # Independent literal argmax between the critical values: the value at gammas[j] holds
    # on [gammas[j], gammas[j+1]).
    finite = gammas[1:-1]
    probes = np.concatenate(([finite[0] - 1.0], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1.0]))
    for j, g in enumerate(probes):
        s_ref, u_ref, _ = _naive_h(scores, y, seen, g)
        assert abs(u_ref - u[j]) < 1e-12 and abs(s_ref - s[j]) < 1e-12
    # AUSUC against a plain trapezoid on the brute-force points.
    pts = np.array([_naive_h(scores, y, seen, g)[:2] for g in probes])  # (s, u)
    pts = np.vstack(([gzsl_accuracies(scores, y, seen, -np.inf)[:2]], pts))
    area = sum((pts[i + 1, 1] - pts[i, 1]) * (pts[i + 1, 0] + pts[i, 0]) / 2 for i in range(len(pts) - 1))
    assert ausuc(scores, y, seen) == pytest.approx(area, abs=1e-12)


def test_choose_gamma_matches_dense_grid(random_case) -> None:
    scores, y, seen = random_case
    g = choose_gamma(scores, y, seen)
    h_best = gzsl_accuracies(scores, y, seen, gamma=g)[2]
    assert h_best >= gzsl_accuracies(scores, y, seen, gamma=0.0)[2]
    gammas = seen_unseen_curve(scores, y, seen)[0][1:-1]
    mids = (gammas[:-1] + gammas[1:]) / 2
    grid = np.concatenate((np.linspace(gammas[0] - 1, gammas[-1] + 1, 1500), mids, [0.0]))
    h_grid = max(_naive_h(scores, y, seen, t)[2] for t in grid)
    assert abs(h_best - h_grid) < 1e-12
    assert h_best > gzsl_accuracies(scores, y, seen, gamma=0.0)[2]  # calibration helps here


def test_choose_gamma_is_fast() -> None:
    rng = np.random.default_rng(1)
    n, k = 10_000, 200
    seen = np.arange(k) < 150
    y = rng.integers(0, k, size=n)
    scores = rng.normal(size=(n, k))
    t0 = time.perf_counter()
    g = choose_gamma(scores, y, seen)
    report = gzsl_report(scores, y, seen, gamma=g)
    assert time.perf_counter() - t0 < 5.0
    assert math.isfinite(g) and 0.0 <= report["ausuc"] <= 1.0


# --------------------------------------------------------------------------- -inf, report


def test_masked_scores_with_minus_inf() -> None:
    inf = np.inf
    scores = np.array(
        [
            [-inf, -inf, 1.0, -inf],  # seen side all -inf: d = -inf (always unseen), right
            [2.0, -inf, -inf, -inf],  # unseen side all -inf: d = +inf (seen for finite gamma), right
            [-inf, -inf, -inf, -inf],  # everything masked: d taken as 0; argmaxes -> 0 and 2
            [0.0, 3.0, 1.0, -inf],  # column 3 masked: d = 2, seen argmax 1 (right)
        ]
    )
    y = np.array([2, 0, 2, 1])
    gammas, u, s = seen_unseen_curve(scores, y, SEEN)
    np.testing.assert_array_equal(gammas, [-inf, 0, 2, inf])
    assert not np.isnan(u).any() and not np.isnan(s).any()
    # -inf: row 0 unseen (right), rows 1-3 seen: class 2 rows 0 ok, 2 wrong (-> col 0) -> u = .5
    #        s: class 0 row 1 ok, class 1 row 3 ok -> 1
    # 0: row 2 -> unseen argmax col 2 (right): u = 1; s = 1
    # 2: row 3 -> unseen (col 2, wrong): s = .5
    # +inf: row 1 (d = +inf) ties and goes unseen too (-> col 2, wrong): s = 0
    np.testing.assert_allclose(u, [0.5, 1, 1, 1])
    np.testing.assert_allclose(s, [1, 1, 0.5, 0])
    assert gzsl_accuracies(scores, y, SEEN, gamma=1e300)[0] == 0.5  # but seen for any finite gamma
    for g, ug, sg in zip(gammas, u, s):
        assert gzsl_accuracies(scores, y, SEEN, gamma=g)[:2] == pytest.approx((sg, ug))
    # Trapezoids from the first point (u = .5): (1 - .5) * 1 = 0.5
    assert ausuc(scores, y, SEEN) == pytest.approx(0.5)
    assert choose_gamma(scores, y, SEEN) == 0.0  # H = 1 on [0, 2)


def test_gzsl_report_hand_example() -> None:
    rep = gzsl_report(SCORES, Y, SEEN)
    assert rep == pytest.approx(
        {
            "zsl_accuracy": 0.75,
            "seen_accuracy": 0.75,
            "unseen_accuracy": 0.5,
            "harmonic_mean": 0.6,
            "ausuc": 0.4375,
            "gamma": 0.0,
            "n_seen_test": 3,
            "n_unseen_test": 3,
        }
    )
    assert isinstance(rep["n_seen_test"], int) and all(isinstance(v, float) for k, v in rep.items() if not k.startswith("n_"))
    json.dumps(rep)
    assert gzsl_report(SCORES, Y, SEEN, gamma=2.5)["harmonic_mean"] == pytest.approx(0.375)


def test_missing_side_gives_nan() -> None:
    rows = Y < 2  # only seen-class samples
    rep = gzsl_report(SCORES[rows], Y[rows], SEEN)
    assert rep["n_unseen_test"] == 0 and rep["n_seen_test"] == 3
    for key in ("zsl_accuracy", "unseen_accuracy", "harmonic_mean", "ausuc"):
        assert math.isnan(rep[key])
    assert rep["seen_accuracy"] == pytest.approx(0.75)
    json.dumps(rep)  # NaN is allowed
    _, u, s = seen_unseen_curve(SCORES[rows], Y[rows], SEEN)
    assert np.isnan(u).all() and not np.isnan(s).any()
    assert choose_gamma(SCORES[rows], Y[rows], SEEN) == 0.0
    # No samples at all.
    s0, u0, h0 = gzsl_accuracies(np.zeros((0, 4)), [], SEEN)
    assert math.isnan(s0) and math.isnan(u0) and math.isnan(h0)


def test_int_mask_is_accepted() -> None:
    assert gzsl_accuracies(SCORES, Y, [1, 1, 0, 0]) == pytest.approx((0.75, 0.5, 0.6))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gzsl_accuracies(SCORES[0], Y, SEEN), "2-D"),
        (lambda: gzsl_accuracies(SCORES, Y[:5], SEEN), "6 rows"),
        (lambda: gzsl_accuracies(SCORES, Y.reshape(2, 3), SEEN), "1-D"),
        (lambda: gzsl_accuracies(SCORES, Y + 1, SEEN), "outside 0..3"),
        (lambda: gzsl_accuracies(SCORES, Y - 1, SEEN), "index -1"),
        (lambda: gzsl_accuracies(SCORES, Y.astype(float), SEEN), "integer"),
        (lambda: gzsl_accuracies(SCORES, Y, SEEN[:3]), "one entry per column"),
        (lambda: gzsl_accuracies(SCORES, Y, [0, 2, 1, 0]), "bool mask"),
        (lambda: gzsl_accuracies(SCORES, Y, np.ones(4, bool)), "every class as seen"),
        (lambda: seen_unseen_curve(SCORES, Y, np.zeros(4, bool)), "no class as seen"),
        (lambda: ausuc(SCORES, Y, np.ones(4, bool)), "every class as seen"),
        (lambda: choose_gamma(SCORES, Y, np.zeros(4, bool)), "no class as seen"),
        (lambda: zsl_accuracy(SCORES, Y, np.ones(4, bool)), "every class as seen"),
        (lambda: gzsl_report(SCORES, Y, np.ones(4, bool)), "every class as seen"),
        (lambda: gzsl_accuracies(np.where(SCORES > 8, np.nan, SCORES), Y, SEEN), "NaN"),
        (lambda: gzsl_accuracies(SCORES, Y, SEEN, gamma=float("nan")), "gamma"),
        (lambda: gzsl_report(SCORES, Y, SEEN, gamma="big"), "gamma"),
        (lambda: per_class_accuracy([0, 1], [0]), "entries"),
    ],
)
def test_errors_are_one_line(call, match: str) -> None:
    with pytest.raises(InputError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)
