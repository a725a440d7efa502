"""Classical zero-shot learning: maps between item features and class semantics.

These methods learn, on examples of SEEN classes, how item features relate to class
semantics (attribute vectors, text embeddings of names or glosses), and apply that map to
classes never seen in training. ``fit(X_seen, y_seen, class_embeddings=...)`` takes the
semantics of *every* class of the label space; classes without examples are the unseen
ones. Predictions cover all classes (generalized ZSL) unless ``candidates="unseen"``
(conventional ZSL). ``gamma`` is calibrated stacking (Chao et al., 2016): it is subtracted
from every seen class's logit, trading seen accuracy for unseen accuracy.

Hyper-parameters left at ``"auto"`` are chosen by a *class-wise* hold-out on the training
data: a fifth of the seen classes play unseen, the method is fitted on the rest and scored
on those held-out classes (the protocol of Xian et al., 2018); nothing from test data.

Methods here: :class:`ESZSLClassifier` (closed form), :class:`SAEClassifier` (Sylvester
equation) and :class:`DAPClassifier` (attribute classifiers). The bilinear ranking models
live in :mod:`transzero.methods.compatibility`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_expit
from .._estimator import check_fitted

from .._util import l2_normalize, label_indices
from ..errors import InputError
from .base import ZeroShotMethod
from .tags import FitContext, MethodTags

__all__ = ["DAPClassifier", "ESZSLClassifier", "SAEClassifier", "SemanticMethod", "class_holdout", "per_class_accuracy",
           "validate_training"]

#: the grid of ESZSL / ridge regularisers searched when a parameter is "auto" (Romera-Paredes & Torr: 10^-3..10^3)
REG_GRID = tuple(10.0 ** k for k in range(-3, 4))


def class_holdout(y: np.ndarray, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split training samples by class: ``(fit_mask, val_mask)`` with ~``fraction`` of the classes held out.

    At least one class is held out and at least two are kept (needs >= 3 classes).
    """
    classes = np.unique(y)
    if len(classes) < 3:
        return np.ones(len(y), bool), np.zeros(len(y), bool)
    rng = np.random.default_rng(seed)
    n_val = min(max(1, int(round(fraction * len(classes)))), len(classes) - 2)
    val = rng.choice(classes, size=n_val, replace=False)
    val_mask = np.isin(y, val)
    return ~val_mask, val_mask


def validate_training(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's checks of training data (2-D, finite, dense, real; a 1-D label per row), as InputError."""
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_X_y

    try:
        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
    except ValueError as exc:  # (a TypeError -- e.g. objects that are not numbers -- is a programming error: as is)
        raise InputError(" ".join(str(exc).split())) from None
    return X.astype(np.float32), y


def per_class_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the classes present in ``y`` of the accuracy on that class's samples."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


class SemanticMethod(ZeroShotMethod):
    """Base of the methods that map item features to class semantics learned on seen classes.

    Subclasses implement :meth:`_fit_map` (learn from normalised features and class indices)
    and :meth:`_project` (predicted semantics ``(N, S)``); the compatibility of an item with
    class ``k`` is ``project(x) . s_k`` unless :meth:`_scores` is overridden.

    Common parameters
    -----------------
    gamma : float
        Calibrated stacking: subtracted from the logits of the seen classes.
    candidates : {"all", "unseen", "seen"}
        Which classes predictions range over: all (generalized ZSL), only the classes
        without training examples (conventional ZSL), or only the seen ones.
    """

    _state_attrs = ZeroShotMethod._state_attrs + ("class_vectors_", "seen_", "temperature_", "semantic_names_")

    gamma: float
    candidates: str

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        # the class vectors live in their own semantic space (attributes, gloss embeddings...)
        return super().__transzero_tags__().replace(learns_from_labels=True, semantics=True, seen_classes=True,
                                                    explains=True, one_space=False)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> SemanticMethod:
        """Learn the feature-semantics map from examples of the seen classes.

        Parameters
        ----------
        X : array (N, D)
            Item features of the training examples.
        y : sequence of str (N,)
            Their classes; every one must be in ``class_embeddings.classes``. Classes of the
            label space without examples are the unseen classes.
        context : FitContext, optional
            Its ``class_embeddings``: semantics of every class (``LabelSpace.embed``), seen and
            unseen (``class_embeddings=`` as a keyword does the same). Without them every class
            of ``y`` is its own one-hot attribute: a supervised classifier with no unseen classes
            (the degenerate case scikit-learn's common estimator checks exercise).
        """
        class_embeddings = FitContext.build(context, **fields).class_embeddings
        name = type(self).__name__
        if y is None:
            raise InputError(f"{name} requires y to be passed, but the target y is None: "
                             "fit(X, y) with examples of the seen classes")
        if X is None:
            raise InputError(f"{name} learns from examples of seen classes; fit(X, y) needs both")
        if self.candidates not in ("all", "unseen", "seen"):
            raise InputError(f"candidates must be 'all', 'unseen' or 'seen', got {self.candidates!r}")
        X, y = validate_training(X, y)
        if class_embeddings is None:
            # No semantics: every class is its own attribute (one-hot), so the method is a plain supervised
            # classifier of the classes in y -- nothing is unseen. This is what scikit-learn's common checks fit.
            self.classes_ = np.unique(y)
            yi = np.searchsorted(self.classes_, y).astype(np.int64)
            S = np.eye(len(self.classes_))
            feature_names = [str(c) for c in self.classes_]
        else:
            classes = [str(c) for c in class_embeddings.classes]
            yi = label_indices(classes, [str(v) for v in y], what="training example",
                               problem="is not in the label space", fix="add it with its semantics")
            S = np.asarray(class_embeddings.vectors, dtype=np.float64)
            if not np.all(np.isfinite(S)):
                k = int(np.flatnonzero(~np.isfinite(S).all(1))[0])
                raise InputError(f"class {classes[k]!r} has NaN or infinite semantics; fix its description/attributes")
            self.classes_ = np.asarray(classes, dtype=object)
            feature_names = list(class_embeddings.feature_names) if class_embeddings.feature_names else None
        seen = np.zeros(len(self.classes_), dtype=bool)
        seen[yi] = True
        if seen.sum() < 2:
            raise InputError(f"{name} needs examples of at least 2 seen classes, got {int(seen.sum())} class")
        if self.candidates == "unseen" and seen.all():
            raise InputError("candidates='unseen' but every class has training examples; add unseen classes to the label space")
        self.n_features_in_ = int(X.shape[1])
        self.logit_scale_ = 1.0
        self.class_vectors_ = S.astype(np.float32)
        self.seen_ = seen
        self.semantic_names_ = feature_names
        Xn = l2_normalize(X).astype(np.float64)
        self._fit_map(Xn, yi, S)
        self.temperature_ = self._fit_temperature(Xn, yi)
        return self

    def _fit_map(self, X: np.ndarray, y: np.ndarray, S: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _project(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scores(self, X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        """Raw compatibility ``(N, K)`` of normalised features with class semantics ``S``."""
        return self._project(X) @ (self.class_vectors_ if S is None else S).T

    def _fit_temperature(self, X: np.ndarray, y: np.ndarray) -> float:
        """Scale of the raw scores that maximises the likelihood of the training labels (seen classes)."""
        z = self._scores(X)[:, self.seen_]
        col = np.cumsum(self.seen_) - 1
        t = col[y]
        z = z - z.max(axis=1, keepdims=True)
        spread = float(np.std(z)) or 1.0

        def nll(log_t: float) -> float:
            a = np.exp(log_t) * z
            m = a.max(axis=1, keepdims=True)
            lse = (m[:, 0] + np.log(np.exp(a - m).sum(axis=1)))
            return float(np.mean(lse - a[np.arange(len(t)), t]))

        c = -np.log(spread)
        res = minimize_scalar(nll, bounds=(c - 8, c + 8), method="bounded")
        return float(np.exp(res.x))

    # ------------------------------------------------------------------ predict
    def _check_X(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_array

        try:
            X = check_array(X, dtype=np.float64)
        except ValueError as exc:
            raise InputError(" ".join(str(exc).split())) from None
        if hasattr(self, "n_features_in_") and X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                             "features as input; use the encoder it was trained with")
        return X.astype(np.float32)

    def _logits(self, Xn: np.ndarray) -> np.ndarray:
        z = self.temperature_ * self._scores(Xn.astype(np.float64))
        z[:, self.seen_] -= float(self.gamma)
        if self.candidates == "unseen":
            z[:, self.seen_] = -np.inf
        elif self.candidates == "seen":
            z[:, ~self.seen_] = -np.inf
        return z

    def scores(self, X: Any) -> np.ndarray:
        """Calibrated logits over *all* classes, before stacking and candidate masking (for GZSL evaluation)."""
        check_fitted(self, "classes_")
        return self.temperature_ * self._scores(l2_normalize(self._check_X(X)).astype(np.float64))

    @property
    def seen_classes_(self) -> np.ndarray:
        """Classes that had training examples."""
        return self.classes_[self.seen_]

    @property
    def unseen_classes_(self) -> np.ndarray:
        """Classes of the label space without training examples."""
        return self.classes_[~self.seen_]

    # ------------------------------------------------------------------ explain
    def _contributions(self, X: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Per item, each semantic dimension's additive share of its score for class ``k[i]``."""
        return self._project(X) * self.class_vectors_[k]

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per item: the predicted class (or ``classes[i]``, a class index) and the semantic dimensions
        (attributes) that contributed most to its score.

        Each entry has the attribute name (or ``dim <j>``), the class's value for it, and its
        ``contribution`` to the class's raw score (the contributions sum to that score).
        """
        Xc = l2_normalize(self._check_X(X)).astype(np.float64)
        pred = np.argmax(self._logits(Xc), axis=1) if classes is None else np.asarray(classes, dtype=np.int64)
        contrib = self._contributions(Xc, pred)
        names = self.semantic_names_
        out = []
        for i in range(len(Xc)):
            k = int(pred[i])
            order = np.argsort(-contrib[i])[: int(top)]
            items = [{"attribute": names[j] if names else f"dim {j}", "value": float(self.class_vectors_[k, j]),
                      "contribution": float(contrib[i, j])} for j in order]
            out.append({"label": str(self.classes_[k]), "seen": bool(self.seen_[k]), "attributes": items})
        return out


def _binarise(S: np.ndarray) -> np.ndarray:
    """0/1 attributes: a binary matrix (also after row normalisation: one non-zero value per row) keeps
    its pattern; a continuous one is thresholded at each attribute's mean over the classes."""
    binary = True
    for row in S:
        nz = row[row != 0]
        if len(nz) and (nz.min() < 0 or np.ptp(nz) > 1e-6 * max(abs(float(nz.max())), 1e-12)):
            binary = False
            break
    if binary:
        return (S > 0).astype(np.float64)
    return (S > S.mean(axis=0, keepdims=True)).astype(np.float64)


def _eig_sym(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, V = np.linalg.eigh((M + M.T) / 2)
    return np.maximum(w, 0.0), V


class ESZSLClassifier(SemanticMethod):
    """Embarrassingly simple zero-shot learning (Romera-Paredes & Torr, ICML 2015).

    Closed form ``V = (X^T X + alpha I)^-1 X^T Y S (S^T S + lam I)^-1`` with ``Y`` the
    class-indicator matrix of the seen classes; compatibility ``x^T V s_y``.

    Parameters
    ----------
    alpha, lam : float or "auto"
        Feature-side and semantic-side ridge (the paper's gamma and lambda); "auto" searches
        10^-3..10^3 on a class-wise hold-out of the training data.
    signed_targets : bool
        ``Y`` in {-1, 1} as in the paper (True) or in {0, 1} (default). The signed form adds
        ``-sum_k s_k`` to every target; with many seen classes that constant swamps the class
        signal (Tiny ImageNet, 120 training classes, gloss semantics: 5-7 % vs 20-26 %
        accuracy on held-out *training* classes), so the default is 0/1.
    gamma, candidates
        See :class:`SemanticMethod`.
    """

    _state_attrs = SemanticMethod._state_attrs + ("V_", "alpha_", "lam_")

    def __init__(self, alpha: float | str = "auto", lam: float | str = "auto", signed_targets: bool = False,
                 gamma: float = 0.0, candidates: str = "all") -> None:
        self.alpha = alpha
        self.lam = lam
        self.signed_targets = signed_targets
        self.gamma = gamma
        self.candidates = candidates

    def _parts(self, X: np.ndarray, y: np.ndarray, S: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, ...]:
        Ss = S[cls]  # (z, a) semantics of the classes trained on
        col = {int(c): j for j, c in enumerate(cls)}
        Y = np.full((len(y), len(cls)), -1.0 if self.signed_targets else 0.0)
        Y[np.arange(len(y)), [col[int(v)] for v in y]] = 1.0
        b, Vd = _eig_sym(X.T @ X)
        c, U = _eig_sym(Ss.T @ Ss)
        M = Vd.T @ (X.T @ (Y @ Ss)) @ U  # (d, a) in both eigenbases
        return b, Vd, c, U, M

    @staticmethod
    def _solve(b: np.ndarray, Vd: np.ndarray, c: np.ndarray, U: np.ndarray, M: np.ndarray, alpha: float, lam: float) -> np.ndarray:
        return Vd @ (M / np.outer(b + alpha, c + lam)) @ U.T

    def _fit_map(self, X: np.ndarray, y: np.ndarray, S: np.ndarray) -> None:
        alphas = REG_GRID if self.alpha == "auto" else (float(self.alpha),)
        lams = REG_GRID if self.lam == "auto" else (float(self.lam),)
        if min(alphas) < 0 or min(lams) < 0:
            raise InputError("alpha and lam must be >= 0")
        fit_m, val_m = class_holdout(y)
        if (len(alphas) > 1 or len(lams) > 1) and val_m.any():
            tr = np.unique(y[fit_m])
            va = np.unique(y[val_m])
            b, Vd, c, U, M = self._parts(X[fit_m], y[fit_m], S, tr)
            Xv = X[val_m] @ Vd
            Sv = U.T @ S[va].T  # (a, z_val)
            yv = y[val_m]
            best, best_acc = (alphas[0], lams[0]), -1.0
            for a in alphas:
                for lm in lams:
                    pred = va[np.argmax(Xv @ ((M / np.outer(b + a, c + lm)) @ Sv), axis=1)]
                    acc = per_class_accuracy(yv, pred)
                    if acc > best_acc + 1e-12:
                        best, best_acc = (a, lm), acc
            self.alpha_, self.lam_ = float(best[0]), float(best[1])
        else:
            self.alpha_, self.lam_ = float(alphas[0]), float(lams[0])
        b, Vd, c, U, M = self._parts(X, y, S, np.flatnonzero(self.seen_))
        self.V_ = self._solve(b, Vd, c, U, M, self.alpha_, self.lam_).astype(np.float32)

    def _project(self, X: np.ndarray) -> np.ndarray:
        return X @ self.V_


class SAEClassifier(SemanticMethod):
    """Semantic autoencoder (Kodirov, Xiang & Gong, CVPR 2017).

    Learns ``W`` (semantics x features) minimising ``|X - W^T S|^2 + lam |W X - S|^2``:
    the Sylvester equation ``S S^T W + W (lam X X^T) = (1 + lam) S X^T``, solved in the
    eigenbases of both sides (scipy's ``solve_sylvester`` gives the same answer, slower
    for a grid of ``lam``). Items are compared with classes by cosine, either in semantic
    space (``W x`` vs ``s``) or in feature space (``x`` vs ``W^T s``, the paper's
    better direction on most data sets).

    Parameters
    ----------
    lam : float or "auto"
        Weight of the encoder term; "auto" searches 10^-3..10^3 on a class-wise hold-out.
    direction : {"auto", "semantic", "feature"}
        Where items and classes are compared; "auto" picks on the same hold-out.
    gamma, candidates
        See :class:`SemanticMethod`.
    """

    _state_attrs = SemanticMethod._state_attrs + ("W_", "lam_", "direction_")

    def __init__(self, lam: float | str = "auto", direction: str = "auto", gamma: float = 0.0,
                 candidates: str = "all") -> None:
        self.lam = lam
        self.direction = direction
        self.gamma = gamma
        self.candidates = candidates

    @staticmethod
    def _parts(X: np.ndarray, y: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, ...]:
        Sy = S[y]  # (N, k): each sample's class semantics
        a, U = _eig_sym(Sy.T @ Sy)  # S S^T in the paper's column layout
        b, V = _eig_sym(X.T @ X)
        C = U.T @ (Sy.T @ X) @ V  # (k, d)
        return a, U, b, V, C

    @staticmethod
    def _solve(a: np.ndarray, U: np.ndarray, b: np.ndarray, V: np.ndarray, C: np.ndarray, lam: float) -> np.ndarray:
        denom = np.add.outer(a, lam * b)
        denom = np.maximum(denom, 1e-10 * max(float(denom.max()), 1e-12))
        return U @ ((1.0 + lam) * C / denom) @ V.T  # (k, d)

    @staticmethod
    def _compare(X: np.ndarray, S: np.ndarray, W: np.ndarray, direction: str) -> np.ndarray:
        if direction == "semantic":
            return l2_normalize(X @ W.T).astype(np.float64) @ l2_normalize(S).astype(np.float64).T
        return X @ l2_normalize(S @ W).astype(np.float64).T  # X is unit-norm already

    def _fit_map(self, X: np.ndarray, y: np.ndarray, S: np.ndarray) -> None:
        lams = REG_GRID if self.lam == "auto" else (float(self.lam),)
        dirs = ("semantic", "feature") if self.direction == "auto" else (str(self.direction),)
        if any(d not in ("semantic", "feature") for d in dirs):
            raise InputError(f"direction must be 'auto', 'semantic' or 'feature', got {self.direction!r}")
        if min(lams) <= 0:
            raise InputError("lam must be > 0")
        fit_m, val_m = class_holdout(y)
        self.lam_, self.direction_ = float(lams[0]), dirs[0]
        if (len(lams) > 1 or len(dirs) > 1) and val_m.any():
            parts = self._parts(X[fit_m], y[fit_m], S)
            va = np.unique(y[val_m])
            best = -1.0
            for lm in lams:
                W = self._solve(*parts, lm)
                for d in dirs:
                    acc = per_class_accuracy(y[val_m], va[np.argmax(self._compare(X[val_m], S[va], W, d), axis=1)])
                    if acc > best + 1e-12:
                        best, self.lam_, self.direction_ = acc, float(lm), d
        self.W_ = self._solve(*self._parts(X, y, S), self.lam_).astype(np.float32)

    def _project(self, X: np.ndarray) -> np.ndarray:
        return X @ self.W_.T

    def _scores(self, X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        return self._compare(X, self.class_vectors_ if S is None else S, self.W_.astype(np.float64), self.direction_)

    def _contributions(self, X: np.ndarray, k: np.ndarray) -> np.ndarray:
        s = l2_normalize(self.class_vectors_[k]).astype(np.float64)
        if self.direction_ == "semantic":
            return l2_normalize(self._project(X)).astype(np.float64) * s
        # feature space: cos(x, W^T s) = sum_a s_a (W x)_a / |W^T s|, an additive share per attribute
        norm = np.linalg.norm(s @ self.W_, axis=1, keepdims=True)
        return self._project(X) * s / np.maximum(norm, 1e-12)


class DAPClassifier(SemanticMethod):
    """Direct attribute prediction (Lampert, Nickisch & Harmeling, CVPR 2009 / TPAMI 2014).

    One probabilistic classifier per attribute, trained on the seen classes' (binarised)
    attributes; a class's score is ``sum_m log p(a_m = a_m^y | x) - log p(a_m = a_m^y)``,
    the MAP rule of the paper with attribute priors from the seen classes. Attributes
    are binarised at their mean over the label space's classes (binary matrices stay as they
    are, also after L2 normalisation). The classifiers are ridge regressions to ±1 targets with Platt scaling, as the
    paper's SVMs with Platt scaling; ``reg`` is the ridge.

    Parameters
    ----------
    reg : float or "auto"
        Ridge of the attribute regressions; "auto" searches 10^-3..10^3 on a class-wise hold-out.
    gamma, candidates
        See :class:`SemanticMethod`.
    """

    _state_attrs = SemanticMethod._state_attrs + ("W_", "platt_", "binary_", "prior_", "reg_")

    def __init__(self, reg: float | str = "auto", gamma: float = 0.0, candidates: str = "all") -> None:
        self.reg = reg
        self.gamma = gamma
        self.candidates = candidates

    @staticmethod
    def _platt(z: np.ndarray, t: np.ndarray, iters: int = 25) -> np.ndarray:
        """Per column, (a, b) of ``p = sigmoid(a z + b)`` fitted to 0/1 targets by Newton's method."""
        n, m = z.shape
        n_pos = t.sum(axis=0)
        tt = np.where(t > 0, (n_pos + 1) / (n_pos + 2), 1 / (n - n_pos + 2))  # Platt's smoothed targets
        ab = np.zeros((2, m))
        ab[0] = 1.0
        for _ in range(iters):
            p = 1 / (1 + np.exp(-(ab[0] * z + ab[1])))
            g = p - tt
            w = p * (1 - p) + 1e-9
            g_a, g_b = (g * z).sum(0), g.sum(0)
            h_aa, h_ab, h_bb = (w * z * z).sum(0) + 1e-6, (w * z).sum(0), w.sum(0) + 1e-6
            det = h_aa * h_bb - h_ab ** 2
            ab[0] -= (h_bb * g_a - h_ab * g_b) / det
            ab[1] -= (h_aa * g_b - h_ab * g_a) / det
        return ab

    def _log_scores(self, z: np.ndarray, platt: np.ndarray, B: np.ndarray, prior: np.ndarray) -> np.ndarray:
        u = platt[0] * z + platt[1]
        lp1, lp0 = log_expit(u), log_expit(-u)  # log p(a=1|x), log p(a=0|x)
        lprior = B * np.log(prior) + (1 - B) * np.log(1 - prior)  # (K, A)
        return lp1 @ B.T + lp0 @ (1 - B).T - lprior.sum(axis=1)

    def _fit_map(self, X: np.ndarray, y: np.ndarray, S: np.ndarray) -> None:
        B = _binarise(S)
        self.binary_ = B.astype(np.float32)
        regs = REG_GRID if self.reg == "auto" else (float(self.reg),)
        if min(regs) < 0:
            raise InputError("reg must be >= 0")
        fit_m, val_m = class_holdout(y)
        self.reg_ = float(regs[0])
        if len(regs) > 1 and val_m.any():
            Xf, yf = X[fit_m], y[fit_m]
            b, V = _eig_sym(Xf.T @ Xf)
            R = V.T @ (Xf.T @ (2 * B[yf] - 1))
            tr, va = np.unique(yf), np.unique(y[val_m])
            best = -1.0
            for r in regs:
                W = V @ (R / (b + r)[:, None])
                platt = self._platt(Xf @ W, B[yf])
                prior = np.clip(B[tr].mean(axis=0), 0.02, 0.98)
                pred = va[np.argmax(self._log_scores(X[val_m] @ W, platt, B[va], prior), axis=1)]
                acc = per_class_accuracy(y[val_m], pred)
                if acc > best + 1e-12:
                    best, self.reg_ = acc, float(r)
        b, V = _eig_sym(X.T @ X)
        W = V @ ((V.T @ (X.T @ (2 * B[y] - 1))) / (b + self.reg_)[:, None])
        self.W_ = W.astype(np.float32)
        self.platt_ = self._platt(X @ W, B[y]).astype(np.float32)
        self.prior_ = np.clip(B[self.seen_].mean(axis=0), 0.02, 0.98).astype(np.float32)

    def _project(self, X: np.ndarray) -> np.ndarray:
        """Per attribute, ``p(a_m = 1 | x)``."""
        return 1 / (1 + np.exp(-(self.platt_[0] * (X @ self.W_) + self.platt_[1])))

    def _scores(self, X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        B = self.binary_.astype(np.float64)
        return self._log_scores(X @ self.W_.astype(np.float64), self.platt_.astype(np.float64), B,
                                self.prior_.astype(np.float64))

    def _contributions(self, X: np.ndarray, k: np.ndarray) -> np.ndarray:
        u = self.platt_[0] * (X @ self.W_) + self.platt_[1]
        Bk = self.binary_[k].astype(np.float64)
        prior = self.prior_.astype(np.float64)
        return Bk * (log_expit(u) - np.log(prior)) + (1 - Bk) * (log_expit(-u) - np.log(1 - prior))

    def explain(self, X: Any, top: int = 5, classes: Any = None) -> list[dict[str, Any]]:
        """Per item: the predicted class (or ``classes[i]``) and the attributes whose predicted presence/absence
        supported it most."""
        out = super().explain(X, top, classes)
        Xc = l2_normalize(self._check_X(X)).astype(np.float64)
        p = self._project(Xc)
        names = self.semantic_names_
        for i, e in enumerate(out):
            k = int(np.flatnonzero(self.classes_ == e["label"])[0])
            for item in e["attributes"]:
                j = names.index(item["attribute"]) if names else int(item["attribute"].split()[1])
                item["value"] = float(self.binary_[k, j])
                item["probability"] = float(p[i, j])
        return out
