"""Transductive adaptation on synthetic data with known structure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from transzero.errors import InputError
from transzero.transductive import (
    Transduction,
    class_prior_em,
    knn_graph,
    label_propagation,
    self_training,
    sinkhorn_balance,
)


def two_gaussians(n: int, prior: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D classes N(-1, 1) and N(+1, 1); exact posteriors under a uniform training prior."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) >= prior).astype(int)  # class 0 with probability `prior`
    x = rng.normal(2.0 * y - 1.0, 1.0)
    logits = np.stack([-(x + 1) ** 2 / 2, -(x - 1) ** 2 / 2], axis=1)
    return x, y, softmax(logits, axis=1)


def test_prior_em_recovers_a_shifted_prior() -> None:
    _, y, P = two_gaussians(20000, prior=0.8)
    Q, prior = class_prior_em(P)
    assert prior[0] == pytest.approx(0.8, abs=0.02)
    # the re-weighted posteriors are better decisions under the shifted prior
    assert np.mean(Q.argmax(1) == y) > np.mean(P.argmax(1) == y) + 0.02


def clusters(n_per: int = 60, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.eye(k, 16) * 5
    X = np.vstack([c + rng.normal(size=(n_per, 16)) for c in centers])
    return X, np.repeat(np.arange(k), n_per)


def noisy_start(y: np.ndarray, k: int, flip: float, seed: int = 1) -> np.ndarray:
    """Weak zero-shot-like probabilities: right class favoured, but a fraction of items pointing elsewhere."""
    rng = np.random.default_rng(seed)
    start = y.copy()
    wrong = rng.random(len(y)) < flip
    start[wrong] = (y[wrong] + rng.integers(1, k, wrong.sum())) % k
    Z = np.eye(k)[start] * 1.0 + rng.normal(scale=0.1, size=(len(y), k))
    return Z


def test_label_propagation_recovers_clusters() -> None:
    X, y = clusters()
    Z = noisy_start(y, 3, flip=0.35)
    P0 = softmax(Z, axis=1)
    assert np.mean(P0.argmax(1) == y) < 0.7
    P = label_propagation(P0, knn_graph(X, k=10), alpha=0.9)
    assert np.mean(P.argmax(1) == y) > 0.95
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_balance_evens_out_a_biased_model() -> None:
    X, y = clusters()
    Z = np.stack([X[:, 0], X[:, 1], X[:, 2]], axis=1) / 5
    Z[:, 0] += 0.8  # a zero-shot model that favours class 0
    P0 = softmax(Z * 3, axis=1)
    assert np.bincount(P0.argmax(1), minlength=3)[0] > 90
    Q = sinkhorn_balance(P0)
    np.testing.assert_allclose(Q.sum(axis=0), len(y) / 3, rtol=1e-3)
    assert np.mean(Q.argmax(1) == y) > np.mean(P0.argmax(1) == y)


def test_self_training_learns_the_clusters() -> None:
    X, y = clusters()
    P0 = softmax(noisy_start(y, 3, flip=0.3), axis=1)
    Q = self_training(X, P0)
    assert np.mean(Q.argmax(1) == y) > np.mean(P0.argmax(1) == y) + 0.1


def test_default_recipe_end_to_end_and_deterministic() -> None:
    X, y = clusters(n_per=80)
    Z = noisy_start(y, 3, flip=0.35)
    t = Transduction()
    P1 = t.adapt(X, Z)
    assert t.info["steps"] == ["propagate", "balance"] and "fallback" not in t.info
    assert np.mean(P1.argmax(1) == y) > 0.95
    np.testing.assert_array_equal(P1, Transduction().adapt(X, Z))
    assert [d["step"] for d in t.info["decisions"]] == ["balance"]
    assert t.info["decisions"][0]["target"] == "uniform" and "near balanced" in t.info["decisions"][0]["why"]
    # sharpening (after propagation/balancing) changes confidence, never the decision
    P2 = P1
    P_flat = Transduction(sharpen=1.0).adapt(X, Z)
    np.testing.assert_array_equal(P_flat.argmax(1), P2.argmax(1))
    assert P2.max(1).mean() > P_flat.max(1).mean()


def test_guard_keeps_a_skewed_set_skewed() -> None:
    """Balancing a 25:1 set to equal shares moves much of the big class; the guard targets a skewed share."""
    X, y = clusters(n_per=200)
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:8], np.flatnonzero(y == 2)[:8]])
    X, y = X[keep], y[keep]
    Z = noisy_start(y, 3, flip=0.1)
    guarded = Transduction(k=5)
    P = guarded.adapt(X, Z)
    d = guarded.info["decisions"][0]
    assert d["target"] == "skewed" and "skewed" in d["why"]
    unguarded = Transduction(k=5, guard=False)
    Pu = unguarded.adapt(X, Z)
    assert unguarded.info["decisions"][0]["target"] == "uniform"
    acc, acc_u = np.mean(P.argmax(1) == y), np.mean(Pu.argmax(1) == y)
    assert acc > acc_u + 0.03, (acc, acc_u)


def test_self_training_learns_a_share_of_every_class() -> None:
    X, y = clusters(n_per=80)
    Z = noisy_start(y, 3, flip=0.3)
    t = Transduction(steps=("propagate", "balance", "self-train"))
    P = t.adapt(X, Z)
    assert np.mean(P.argmax(1) == y) > 0.95 and t.info["decisions"][-1]["step"] == "self-train"
    # a class the start never predicts still gets its share of examples
    Z2 = Z.copy()
    Z2[:, 2] -= 50.0
    Q = self_training(X, softmax(Z2, axis=1), fraction=0.5)
    assert (Q.argmax(1) == 2).sum() > 40

def test_too_few_items_fall_back_to_inductive() -> None:
    X, y = clusters(n_per=3)
    Z = noisy_start(y, 3, flip=0.3)
    t = Transduction()
    P = t.adapt(X, Z)
    assert "too few" in t.info["fallback"] and "40" in t.info["fallback"]
    np.testing.assert_allclose(P, softmax(Z, axis=1))
    # a smaller minimum lets it run
    t2 = Transduction(k=3, min_items=5)
    t2.adapt(X, Z)
    assert "fallback" not in t2.info


def test_every_step_runs_and_bad_recipes_are_refused() -> None:
    X, y = clusters()
    Z = noisy_start(y, 3, flip=0.2)
    t = Transduction(steps="center,prior,propagate,balance,self-train", sharpen=1.0)
    P = t.adapt(X, Z)
    assert len(t.info["prior"]) == 3 and P.shape == (len(y), 3)
    with pytest.raises(InputError, match="unknown transductive step 'magic'"):
        Transduction(steps=("propagate", "magic"))
    with pytest.raises(InputError, match="one row per item"):
        Transduction().adapt(X[:5], Z)
    with pytest.raises(InputError, match="alpha"):
        label_propagation(softmax(Z, axis=1), knn_graph(X), alpha=1.0)


def test_graph_agreement_guard_keeps_inductive_answers_when_neighbours_disagree() -> None:
    """Speech methods adapt over another encoder's vectors: when that graph does not group the method's classes
    (agreement near chance), the guard keeps the inductive probabilities and says why."""
    from transzero.transductive import Transduction, graph_agreement, knn_graph

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (100, 8)) + 6 * np.eye(8)[0], rng.normal(0, 1, (100, 8)) - 6 * np.eye(8)[0]])
    aligned = np.r_[np.zeros(100, int), np.ones(100, int)]
    shuffled = rng.permutation(aligned)
    G = knn_graph(X.astype(np.float32), 10)
    assert graph_agreement(G, aligned, 2) > 0.9
    assert abs(graph_agreement(G, shuffled, 2)) < 0.2
    logits = 2.0 * np.eye(2)[shuffled] + rng.normal(0, 0.1, (200, 2))
    t = Transduction(min_agreement=0.5)
    P = t.adapt(X.astype(np.float32), logits)
    np.testing.assert_allclose(P, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    assert t.info["steps"] == [] and t.info["decisions"][0]["step"] == "guard"
    t2 = Transduction(min_agreement=0.5)
    t2.adapt(X.astype(np.float32), 2.0 * np.eye(2)[aligned] + rng.normal(0, 0.1, (200, 2)))
    assert t2.info["steps"] == ["propagate", "balance"] and t2.info["decisions"][0]["step"] == "guard"
    assert Transduction().min_agreement is None  # text and images: no graph-agreement guard


def _clusters(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items in 3 tight clusters along 3 axes; returns vectors, true class and a nuisance class (another 3-way split
    the vectors do not show)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = 4.0 * np.eye(8)[y] + rng.normal(0, 1, (n, 8))
    return X.astype(np.float32), y, rng.permutation(y)


def test_text_recipe_adapts_when_it_keeps_the_sure_labels() -> None:
    """Right answer known: a method that is sure and right on most items and unsure and wrong on a third, over
    well-clustered items. The text recipe (balance, self-train) fixes the unsure errors and keeps the sure labels,
    so it is adopted."""
    from transzero.transductive import default_transduction

    X, y, _ = _clusters()
    rng = np.random.default_rng(1)
    hard = rng.random(len(y)) < 0.35
    shown = np.where(hard, (y + 1 + rng.integers(0, 2, len(y))) % 3, y)  # the hard third: a wrong class
    logits = np.where(hard[:, None], 0.3, 2.0) * np.eye(3)[shown] + rng.normal(0, 0.2, (len(y), 3))
    t = default_transduction("text")
    P = t.adapt(X, logits)
    assert (P.argmax(1) == y).mean() > 0.95 > (logits.argmax(1) == y).mean()
    assert t.info["steps"] == list(t.steps) and t.steps[-1] == "self-train"
    check = [d for d in t.info["decisions"] if d["step"] == "check"]
    assert len(check) == 1 and check[0]["kept"] >= 0.95 and check[0]["why"].endswith(": adapted")


def test_text_recipe_falls_back_when_it_would_overrule_the_sure_labels() -> None:
    """Right answer known: the neighbours group the items by something else than the classes (a nuisance split) and
    the method is confident and right. Adapting would overrule it; the check sees that on the surest fifth, tries the
    fallback, then keeps the inductive answer, and says so."""
    from transzero.transductive import default_transduction

    X, _, nuisance = _clusters()
    truth = np.random.default_rng(2).permutation(nuisance)  # classes unrelated to the clusters
    logits = 3.0 * np.eye(3)[truth] + np.random.default_rng(3).normal(0, 0.3, (len(truth), 3))
    t = default_transduction("text")
    P = t.adapt(X, logits)
    np.testing.assert_allclose(P, softmax(logits, axis=1))
    assert t.info["steps"] == []
    checks = [d for d in t.info["decisions"] if d["step"] == "check"]
    assert [c["steps"] for c in checks] == [list(t.steps), *map(list, t.fallbacks)]
    assert checks[-1]["why"].endswith("the inductive probabilities are kept")
    assert all(c["kept"] < 0.95 for c in checks)


def test_skew_is_judged_on_the_methods_own_labels() -> None:
    """A small balanced set where propagation piles items into one class: judging skew after propagation would
    'balance' towards that class; the text recipe judges it on the method's labels and balances to equal shares."""
    rng = np.random.default_rng(0)
    n = 70
    y = np.arange(n) % 7
    X = (np.eye(8)[y] + rng.normal(0, 0.3, (n, 8)) + 3.0 * np.eye(8)[7]).astype(np.float32)  # one shared hub
    logits = 2.0 * np.eye(7)[y] + rng.normal(0, 1.0, (n, 7))
    current = Transduction(steps=("propagate", "balance"), k=20)
    inductive = Transduction(steps=("propagate", "balance"), k=20, skew_from="inductive")
    current.adapt(X, logits)
    inductive.adapt(X, logits)
    assert [d["target"] for d in inductive.info["decisions"] if d["step"] == "balance"] == ["uniform"]
    with pytest.raises(InputError, match="skew_from"):
        Transduction(skew_from="later")
    with pytest.raises(InputError, match="keep_confident"):
        Transduction(keep_confident=1.5)
    with pytest.raises(InputError, match="unknown transductive step 'spin'"):
        Transduction(fallbacks=(("spin",),))


def test_confident_kept_counts_the_surest_share() -> None:
    from transzero.transductive import confident_kept

    P0 = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45], [0.51, 0.49]])
    P1 = P0[:, ::-1].copy()
    P1[0] = P0[0]  # the surest item kept, every other flipped
    assert confident_kept(P0, P1, 0.2) == 1.0
    assert confident_kept(P0, P1, 0.4) == 0.5
    assert confident_kept(P0, P0, 1.0) == 1.0
