"""Classical zero-shot methods (dap, eszsl, sae, devise, ale, sje, conse on seen classes).

Synthetic data: features are a fixed random linear image of each class's binary
attribute vector plus noise, so a map learned on 15 seen classes must transfer to 5
unseen ones (chance among the unseen: 20 %).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from transzero.errors import InputError
from transzero.labels import LabelSpace
from transzero.methods import ZSL_METHODS, create_method

N_CLASSES, N_ATTR, DIM = 20, 30, 64
SEEN, UNSEEN = list(range(15)), list(range(15, 20))
NAMES = [f"c{i}" for i in range(N_CLASSES)]


@pytest.fixture(scope="module")
def synthetic() -> dict:
    rng = np.random.default_rng(0)
    S = (rng.random((N_CLASSES, N_ATTR)) < 0.4).astype(float)
    M = rng.normal(size=(N_ATTR, DIM))

    def sample(k: int, n: int) -> np.ndarray:
        return S[k] @ M + 1.5 * rng.normal(size=(n, DIM))

    space = LabelSpace.from_attributes(NAMES, S, [f"attr{j}" for j in range(N_ATTR)])
    X = np.vstack([sample(k, 40) for k in SEEN])
    y = [NAMES[k] for k in SEEN for _ in range(40)]
    Xu = np.vstack([sample(k, 30) for k in UNSEEN])
    yu = np.asarray([NAMES[k] for k in UNSEEN for _ in range(30)], dtype=object)
    Xs = np.vstack([sample(k, 10) for k in SEEN])
    ys = np.asarray([NAMES[k] for k in SEEN for _ in range(10)], dtype=object)
    return {"ce": space.embed(None), "X": X, "y": y, "Xu": Xu, "yu": yu, "Xs": Xs, "ys": ys}


def fit(name: str, data: dict, **params: object):
    return create_method(name, **params).fit(data["X"], data["y"], class_embeddings=data["ce"], default_logit_scale=10.0)


@pytest.mark.parametrize("name", ZSL_METHODS)
def test_recovers_unseen_classes(name: str, synthetic: dict) -> None:
    est = fit(name, synthetic)
    if name == "conse":
        z = est.scores(synthetic["Xu"])
        z[:, est.seen_] = -np.inf
        pred = est.classes_[np.argmax(z, axis=1)]
    else:
        est.set_params(candidates="unseen")
        pred = est.predict(synthetic["Xu"])
    acc = float(np.mean(pred == synthetic["yu"]))
    assert acc > 0.6, f"{name}: unseen accuracy {acc:.2f} (chance 0.20)"
    assert set(pred) <= {NAMES[k] for k in UNSEEN}


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_contract(name: str, synthetic: dict) -> None:
    est = fit(name, synthetic)
    assert est.fit(synthetic["X"], synthetic["y"], class_embeddings=synthetic["ce"]) is est
    assert list(est.classes_) == NAMES
    assert list(est.unseen_classes_) == [NAMES[k] for k in UNSEEN]
    P = est.predict_proba(synthetic["Xs"])
    assert P.shape == (len(synthetic["Xs"]), N_CLASSES)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    # seen items are mostly recognised among all classes; candidates="seen" never names an unseen class
    assert np.mean(est.predict(synthetic["Xs"]) == synthetic["ys"]) > 0.6
    seen_only = clone(est).set_params(candidates="seen").fit(synthetic["X"], synthetic["y"], class_embeddings=synthetic["ce"])
    assert set(seen_only.predict(synthetic["Xu"])) <= {NAMES[k] for k in SEEN}


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_calibrated_stacking_moves_predictions_to_unseen(name: str, synthetic: dict) -> None:
    est = fit(name, synthetic)
    X = np.vstack([synthetic["Xs"], synthetic["Xu"]])
    n_unseen = [np.isin(clone(est).set_params(gamma=g).fit(synthetic["X"], synthetic["y"], class_embeddings=synthetic["ce"])
                        .predict(X), [NAMES[k] for k in UNSEEN]).sum() for g in (-1e4, 0.0, 1e4)]
    assert n_unseen[0] <= n_unseen[1] <= n_unseen[2]
    assert n_unseen[0] == 0 and n_unseen[2] == len(X)
    np.testing.assert_allclose(est.scores(X), est.set_params(gamma=0.0).decision_function(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_state_round_trip(name: str, synthetic: dict) -> None:
    est = fit(name, synthetic)
    meta, arrays = est.get_state()
    import json

    json.dumps(meta)  # the JSON half is JSON
    other = create_method(name).set_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_allclose(other.decision_function(synthetic["Xu"]), est.decision_function(synthetic["Xu"]), rtol=1e-5)


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_explain_names_attributes(name: str, synthetic: dict) -> None:
    est = fit(name, synthetic)
    ex = est.explain(synthetic["Xu"][:3], top=4)
    assert [e["label"] for e in ex] == list(est.predict(synthetic["Xu"][:3]))
    for e in ex:
        assert len(e["attributes"]) == 4
        assert all(a["attribute"].startswith("attr") for a in e["attributes"])
        contrib = [a["contribution"] for a in e["attributes"]]
        assert contrib == sorted(contrib, reverse=True)


def test_bilinear_contributions_sum_to_the_score(synthetic: dict) -> None:
    from transzero._util import l2_normalize

    for name in ("eszsl", "ale"):
        est = fit(name, synthetic)
        Xn = l2_normalize(synthetic["Xu"][:5]).astype(np.float64)
        k = np.argmax(est.decision_function(synthetic["Xu"][:5]), axis=1)
        raw = est._scores(Xn)[np.arange(5), k]
        np.testing.assert_allclose(est._contributions(Xn, k).sum(axis=1), raw, rtol=1e-4, atol=1e-6)


def test_dap_explains_attribute_probabilities(synthetic: dict) -> None:
    est = fit("dap", synthetic)
    e = est.explain(synthetic["Xu"][:1], top=3)[0]
    for a in e["attributes"]:
        assert a["value"] in (0.0, 1.0)
        assert 0.0 <= a["probability"] <= 1.0


def test_hyperparameters_are_chosen_on_training_classes(synthetic: dict) -> None:
    est = fit("eszsl", synthetic)
    assert est.alpha_ in 10.0 ** np.arange(-3, 4) and est.lam_ in 10.0 ** np.arange(-3, 4)
    fixed = fit("eszsl", synthetic, alpha=est.alpha_, lam=est.lam_)
    np.testing.assert_allclose(fixed.V_, est.V_, rtol=1e-5, atol=1e-7)
    sae = fit("sae", synthetic)
    assert sae.direction_ in ("semantic", "feature")
    ale = fit("ale", synthetic)
    assert 1 <= ale.epochs_ <= ale.max_epochs


def test_sae_solves_the_sylvester_equation(synthetic: dict) -> None:
    from scipy.linalg import solve_sylvester

    from transzero._util import l2_normalize

    est = fit("sae", synthetic, lam=0.5)
    X = l2_normalize(synthetic["X"]).astype(np.float64).T  # (d, N)
    idx = np.asarray([NAMES.index(v) for v in synthetic["y"]])
    S = synthetic["ce"].vectors.astype(np.float64)[idx].T  # (k, N)
    W = solve_sylvester(S @ S.T, 0.5 * X @ X.T, 1.5 * S @ X.T)
    np.testing.assert_allclose(est.W_, W, rtol=1e-3, atol=1e-5)


def test_eszsl_matches_the_closed_form(synthetic: dict) -> None:
    from transzero._util import l2_normalize

    est = fit("eszsl", synthetic, alpha=1.0, lam=0.1)
    X = l2_normalize(synthetic["X"]).astype(np.float64)
    S = synthetic["ce"].vectors.astype(np.float64)[SEEN]
    Y = np.zeros((len(X), len(SEEN)))
    Y[np.arange(len(X)), [NAMES.index(v) for v in synthetic["y"]]] = 1.0
    V = np.linalg.solve(X.T @ X + np.eye(DIM), X.T @ Y @ S) @ np.linalg.inv(S.T @ S + 0.1 * np.eye(N_ATTR))
    np.testing.assert_allclose(est.V_, V, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ZSL_METHODS)
def test_bad_input(name: str, synthetic: dict) -> None:
    ce, X, y = synthetic["ce"], synthetic["X"], synthetic["y"]
    with pytest.raises(InputError, match="not in the label space"):
        create_method(name).fit(X, y[:-1] + ["zebra"], class_embeddings=ce)
    with pytest.raises(InputError, match="at least 2 seen classes"):
        create_method(name).fit(X[:40], y[:40], class_embeddings=ce)
    Xbad = X.copy()
    Xbad[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        create_method(name).fit(Xbad, y, class_embeddings=ce)
    if name != "conse":
        plain = create_method(name).fit(X, y)  # no semantics: one-hot classes, nothing unseen
        assert list(plain.classes_) == sorted(NAMES[k] for k in SEEN) and plain.seen_.all()
        with pytest.raises(InputError, match="requires y to be passed"):
            create_method(name).fit(X, None, class_embeddings=ce)
        with pytest.raises(InputError, match="fit\\(X, y\\) needs both"):
            create_method(name).fit(None, y, class_embeddings=ce)
        est = fit(name, synthetic)
        with pytest.raises(InputError, match="64"):
            est.predict(X[:, :10])


def test_unseen_candidates_need_unseen_classes(synthetic: dict) -> None:
    ce = synthetic["ce"].subset([NAMES[k] for k in SEEN])
    with pytest.raises(InputError, match="every class has training examples"):
        create_method("eszsl", candidates="unseen").fit(synthetic["X"], synthetic["y"], class_embeddings=ce)


#: the only common checks that fail, all for one reason: scikit-learn wants a binary classifier's
#: decision_function to be 1-D (n,), while every transzero method returns (n, K), one column per class, for
#: any K (GZSL scores, calibrated stacking and masking address classes by column).
BINARY_DECISION_SHAPE = "decision_function is (n, K) for every K, also K = 2 (transzero's method contract)"
EXPECTED_FAILED = {c: BINARY_DECISION_SHAPE for c in
                   ("check_classifiers_classes", "check_classifiers_train", "check_decision_proba_consistency")}


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_sklearn_check_estimator(name: str) -> None:
    """scikit-learn's full common checks; without class semantics each class is its own one-hot attribute."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(create_method(name), on_fail=None, expected_failed_checks=EXPECTED_FAILED)
    failed = [(r["check_name"], repr(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 45


@pytest.mark.parametrize("name", [m for m in ZSL_METHODS if m != "conse"])
def test_multiclass_part_of_the_excluded_checks(name: str) -> None:
    """What check_classifiers_train asks of a 3-class problem, which the expected failure above would hide."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=300, centers=3, random_state=0, cluster_std=0.1)
    X = X - X.mean(axis=0)
    est = create_method(name).fit(X, y)
    assert list(est.classes_) == [0, 1, 2]
    pred = est.predict(X)
    assert np.mean(pred == y) > 0.83
    np.testing.assert_array_equal(est.classes_[np.argmax(est.decision_function(X), axis=1)], pred)
    np.testing.assert_array_equal(est.classes_[np.argmax(est.predict_proba(X), axis=1)], pred)
