"""Few-shot methods that start from zero-shot and improve with labelled support examples.

Every method here is a scikit-learn estimator over item vectors whose ``fit(X, y)`` takes
the support examples (``X`` may be ``None``: zero shots). Each keeps a *zero-shot prior* -
the zero-shot method the encoder supports (``similarity`` for text encoders and
vision-language models, the ``wordnet`` bridge for ImageNet backbones) - and uses it in two
ways:

* combined methods (``zs-linear``, ``tip-adapter``, ``tip-adapter-f``) add learned logits to
  the prior's log-probabilities, so with zero shots they *are* the zero-shot classifier;
* every method leaves classes without support examples to the prior: the prior decides how
  much probability goes to those classes, and the few-shot model shares the rest among the
  classes it has examples of (``p(k|x) = p_zs(S|x) p_fs(k|x)`` for ``k`` in the supported set
  ``S``). This is the documented fallback for "a class with no support examples".

Item vectors are L2-normalised before the few-shot heads see them; the prior sees them raw
(a concept head needs the features as they are).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util import l2_normalize
from ..errors import InputError
from ..labels import ClassEmbeddings
from .._util import label_indices
from .base import ZeroShotMethod
from .concept_head import ConceptHead
from .registry import create_method
from .tags import FitContext, MethodTags, get_tags

__all__ = [
    "FewShotMethod",
    "KNNClassifier",
    "LinearProbeClassifier",
    "PrototypeClassifier",
    "TipAdapterClassifier",
    "TipAdapterFClassifier",
    "ZeroShotLinearClassifier",
    "choose_C",
    "per_class_head",
]


class FewShotMethod(ZeroShotMethod):
    """Shared machinery: support checks, the zero-shot prior, and unsupported classes.

    Parameters
    ----------
    zero_shot : str
        ``"auto"`` (default): ``similarity`` when items and class descriptions share a
        space, else ``wordnet`` (``conse`` when the concepts have no WordNet ids) when the
        encoder has a concept head, else none. ``"none"``: no prior (every class then needs
        support examples). Or any zero-shot method name.
    """

    _state_attrs = ZeroShotMethod._state_attrs + ("supported_", "prior_name_", "aligned_")

    zero_shot: str

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(learns_from_labels=True, zero_shot_prior=True, one_space=False,
                                                    context=frozenset({"aligned", "concept_head"}))

    # ------------------------------------------------------------------ fit helpers
    def _fit_support(self, X: Any, y: Any, ctx: FitContext) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Checks; fits the prior; returns (normalised support vectors, class indices)."""
        ce = self._fit_common(ctx, None)
        aligned, concept_head = ctx.aligned, ctx.concept_head
        K = len(self.classes_)
        Xs = ys = None
        if (X is None) != (y is None):
            raise InputError("give both X and y (support examples and their labels), or neither for zero shots")
        if X is not None:
            Xr = np.asarray(X, dtype=np.float32)
            if Xr.ndim != 2:
                raise InputError(f"expected support vectors of shape (n_examples, dim), got shape {Xr.shape}")
            bad = np.where(~np.isfinite(Xr).all(axis=1))[0]
            if len(bad):
                raise InputError(f"support example {int(bad[0])} has NaN or infinite features; drop or re-encode it")
            labels = np.asarray(y, dtype=object).ravel()
            if len(labels) != len(Xr):
                raise InputError(f"{len(Xr)} support examples but {len(labels)} labels; they must match")
            ys = label_indices(self.classes_, labels, what="support example")
            self._raw_support = Xr
            Xs = l2_normalize(Xr)
            self.n_features_in_ = int(Xr.shape[1])
        self.aligned_ = bool(aligned) if aligned is not None else (Xs is None or Xs.shape[1] == ce.vectors.shape[1])
        self._fit_prior(ce, ctx.default_logit_scale, concept_head)
        if Xs is None and self.zero_shot_ is not None:
            self.n_features_in_ = int(self.zero_shot_.n_features_in_)  # items as the prior sees them
        supported = np.zeros(K, dtype=bool)
        if ys is not None:
            supported[np.unique(ys)] = True
        if self.zero_shot_ is None:
            missing = [str(c) for c, s in zip(self.classes_, supported) if not s]
            if missing:
                raise InputError(
                    f"class {missing[0]!r} has no support examples and there is no zero-shot prior "
                    "(zero_shot='none' or no text/concept side); add examples of it or drop it"
                )
        self.supported_ = supported
        return Xs, ys

    def _fit_prior(self, ce: ClassEmbeddings, default_logit_scale: float, concept_head: ConceptHead | None) -> None:
        name = str(self.zero_shot)
        if name == "auto":
            if self.aligned_:
                name = "similarity"
            elif concept_head is not None:
                name = "wordnet" if concept_head.concept_ids and any(concept_head.concept_ids) else "conse"
            else:
                name = "none"
        self.prior_name_ = name
        if name == "none":
            self.zero_shot_ = None
            return
        # a few-shot method fitted without examples is its own zero-shot prior; the wordnet prior keeps
        # temperature 1 (the few-shot heads learn their own weight on it; their benchmarks were run so)
        prior = create_method(name, **({"temperature": 1.0} if name == "wordnet" else {}))
        bridge = get_tags(prior).concept_head
        if bridge and concept_head is None:
            raise InputError(f"zero_shot={name!r} needs an encoder with a concept head")
        self.zero_shot_ = prior.fit(context=FitContext(ce, default_logit_scale, concept_head=concept_head if bridge else None))
        if not bridge and hasattr(self, "_raw_support"):
            if self._raw_support.shape[1] != prior.n_features_in_:
                raise InputError(
                    f"zero_shot={name!r} compares items with class descriptions, but items have "
                    f"{self._raw_support.shape[1]} dims and class vectors {prior.n_features_in_}; use zero_shot='none'"
                )

    # ------------------------------------------------------------------ scoring
    def prior_log_proba(self, X: np.ndarray) -> np.ndarray | None:
        """Log-probabilities of the zero-shot prior ``(N, K)`` (``None`` without a prior)."""
        from scipy.special import log_softmax  # SciPy loads lazily: not on the zero-shot path

        if self.zero_shot_ is None:
            return None
        return log_softmax(self.zero_shot_.decision_function(X).astype(np.float64), axis=1)

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-probabilities ``(N, K)`` (classes without support keep their zero-shot share)."""
        from scipy.special import log_softmax, logsumexp  # SciPy loads lazily: not on the zero-shot path
        from .._estimator import check_fitted

        check_fitted(self, "classes_")
        X = self._check_X(X)
        S = self.supported_
        if not S.any():
            lp = self.prior_log_proba(X)
            assert lp is not None
            return lp.astype(np.float32)
        f = log_softmax(self._fewshot_logits(l2_normalize(X), X).astype(np.float64)[:, S], axis=1)
        if S.all():
            return f.astype(np.float32)
        lp = self.prior_log_proba(X)
        assert lp is not None
        out = lp.copy()
        out[:, S] = logsumexp(lp[:, S], axis=1, keepdims=True) + f
        return out.astype(np.float32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)``."""
        return np.exp(self.decision_function(X).astype(np.float64))

    # ------------------------------------------------------------------ state
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state, with the prior's state nested under ``prior.``."""
        meta, arrays = super().get_state()
        if self.zero_shot_ is not None:
            pm, pa = self.zero_shot_.get_state()
            meta["prior"] = {"params": self.zero_shot_.get_params(), "state": pm}
            arrays.update({f"prior.{k}": v for k, v in pa.items()})
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> FewShotMethod:
        """Restore what :meth:`get_state` returned."""
        super().set_state(meta, arrays)
        self.zero_shot_ = None
        if meta.get("prior") is not None:
            prior = create_method(str(meta["prior_name_"]), **meta["prior"]["params"])
            pa = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("prior.")}
            self.zero_shot_ = prior.set_state(meta["prior"]["state"], pa)
        return self

    def _check_X(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise InputError(f"expected item vectors of shape (n_items, dim), got shape {X.shape}")
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"item vectors have {X.shape[1]} dims but the classifier was fitted on {self.n_features_in_}")
        if not np.all(np.isfinite(X)):
            raise InputError("item vectors contain NaN or infinity")
        return X


class KNNClassifier(FewShotMethod):
    """k nearest neighbours among the class *prompts* and labelled examples.

    Each item's ``n_neighbors`` most similar bank vectors vote for their class with
    weight ``exp(s * cos)``; a class's logit is the log of its total vote (classes with no
    vote get the log of a tiny floor). When items and class descriptions share a space
    (text encoders, CLIP) the bank holds every class prompt plus the labelled examples
    passed to ``fit``, so the same object does zero-shot and few-shot. For backbones
    without a text side (e.g. ``efficientnet-lite0``) the bank is the labelled examples,
    and classes without any stay with the zero-shot prior (see :class:`FewShotMethod`).

    Parameters
    ----------
    n_neighbors : int
    logit_scale : float, optional
        See :class:`SimilarityClassifier`.
    zero_shot : str
        The prior for classes without examples when there are no prompts in the bank.
    index : {"auto", "exact", "ann"}
        Neighbour search over the bank (:func:`transzero.neighbors.knn`; ``auto``: an HNSW index above ~50k).
    """

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(nn_index=True)

    _state_attrs = FewShotMethod._state_attrs + ("bank_vectors_", "bank_labels_")

    def __init__(self, n_neighbors: int = 5, logit_scale: float | None = None, zero_shot: str = "auto",
                 index: str = "auto") -> None:
        self.n_neighbors = n_neighbors
        self.logit_scale = logit_scale
        self.zero_shot = zero_shot
        self.index = index

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> KNNClassifier:
        """Build the neighbour bank from the class prompts (when aligned) plus labelled ``(X, y)``."""
        if int(self.n_neighbors) < 1:
            raise InputError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        class_embeddings = ctx.class_embeddings
        assert class_embeddings is not None
        bank: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        if self.aligned_:
            bank.append(l2_normalize(class_embeddings.prompt_vectors))
            labels.append(np.asarray(class_embeddings.prompt_labels, dtype=np.int64))
            self.supported_ = np.ones(len(self.classes_), dtype=bool)  # every class has prompts
        if Xs is not None and ys is not None:
            bank.append(Xs)
            labels.append(ys)
        dim = Xs.shape[1] if Xs is not None else int(class_embeddings.vectors.shape[1])
        self.bank_vectors_ = np.concatenate(bank).astype(np.float32) if bank else np.zeros((0, dim), np.float32)
        self.bank_labels_ = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        return self

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        from ..neighbors import knn

        k = min(int(self.n_neighbors), len(self.bank_vectors_))
        top_sims, top = knn(self.bank_vectors_, k, queries=Xn, index=getattr(self, "index", "auto"))
        top = np.maximum(top, 0)  # (an approximate index may return fewer than k: those get weight ~0 below)
        top_sims = np.where(top_sims > -1.5, top_sims, -1.0)
        # log-sum-exp of each class's neighbour logits; stable and exact
        z = self.logit_scale_ * top_sims
        zmax = z.max(axis=1, keepdims=True)
        w = np.exp(z - zmax)
        votes = np.zeros((Xn.shape[0], len(self.classes_)), dtype=np.float64)
        rows = np.repeat(np.arange(Xn.shape[0]), k)
        np.add.at(votes, (rows, self.bank_labels_[top].ravel()), w.ravel())
        return (np.log(np.maximum(votes, 1e-12)) + zmax).astype(np.float32)


def _balanced_folds(y: np.ndarray, max_folds: int = 5) -> int:
    """Folds for cross-validation on the support set: min(max_folds, smallest class count)."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    return int(min(max_folds, counts.min()))


def _support_splits(y: np.ndarray, max_folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation splits of the support set (indices), deterministic.

    Stratified k-fold when every class has >= 2 examples; otherwise (1 shot) shuffled
    k-fold over examples, so a held-out example's class may be absent from training -
    which measures exactly what 1-shot predictions rely on (the prior for that class).
    Empty when there are fewer than 2 examples.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    if len(y) < 2:
        return []
    folds = _balanced_folds(y, max_folds)
    if folds >= 2:
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    return list(KFold(n_splits=min(max_folds, len(y)), shuffle=True, random_state=0).split(np.zeros(len(y))))


# ---------------------------------------------------------------------- prototype
class PrototypeClassifier(FewShotMethod):
    """Nearest class mean (cosine), optionally blended with the class-text embedding.

    Parameters
    ----------
    text_weight : float
        Weight of the class description's embedding added to each support mean (only for
        encoders aligned with the label space, e.g. text encoders and CLIP; ignored
        otherwise). 0 = pure prototypes.
    logit_scale : float, optional
        Softmax scale of the cosines; default: the encoder's.
    zero_shot : str
        See :class:`FewShotMethod`.
    """

    _state_attrs = FewShotMethod._state_attrs + ("prototypes_",)

    def __init__(self, text_weight: float = 1.0, logit_scale: float | None = None, zero_shot: str = "auto") -> None:
        self.text_weight = text_weight
        self.logit_scale = logit_scale
        self.zero_shot = zero_shot

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> PrototypeClassifier:
        """Class means of the support vectors (and the class text, when aligned)."""
        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        K = len(self.classes_)
        D = Xs.shape[1] if Xs is not None else self.n_features_in_
        P = np.zeros((K, D), dtype=np.float64)
        if Xs is not None and ys is not None:
            np.add.at(P, ys, Xs)
            P[self.supported_] /= np.bincount(ys, minlength=K)[self.supported_, None]
        ce = ctx.class_embeddings
        if self.aligned_ and float(self.text_weight) > 0 and ce is not None and ce.vectors.shape[1] == D:
            P[self.supported_] += float(self.text_weight) * l2_normalize(ce.vectors)[self.supported_]
        self.prototypes_ = l2_normalize(P.astype(np.float32))
        return self

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self.logit_scale_ * (Xn @ self.prototypes_.T)


# ---------------------------------------------------------------------- linear probe
class LinearProbeClassifier(FewShotMethod):
    """Logistic-regression probe (scikit-learn) on normalised features.

    ``C`` is chosen by stratified cross-validation on the support set (from ``Cs``) when
    every supported class has at least 2 examples; with 1 shot, ``C=default_C``.

    Parameters
    ----------
    Cs : sequence of float
        Inverse regularisation strengths searched.
    default_C : float
        Used when cross-validation is impossible (1 example of some class).
    zero_shot : str
        See :class:`FewShotMethod` (used only for classes without support).
    """

    _state_attrs = FewShotMethod._state_attrs + ("coef_", "intercept_", "C_")

    def __init__(self, Cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0), default_C: float = 10.0,
                 zero_shot: str = "auto") -> None:
        self.Cs = Cs
        self.default_C = default_C
        self.zero_shot = zero_shot

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> LinearProbeClassifier:
        """Fit the probe on the supported classes."""
        from sklearn.linear_model import LogisticRegression

        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        K = len(self.classes_)
        D = self.n_features_in_
        self.coef_ = np.zeros((K, D), dtype=np.float32)
        self.intercept_ = np.zeros(K, dtype=np.float32)
        self.C_ = float(self.default_C)
        if Xs is None or ys is None:
            return self
        present = np.unique(ys)
        if len(present) == 1:  # one class: it wins among the supported (a single class has nothing to separate)
            return self
        self.C_ = choose_C(Xs, ys, tuple(float(c) for c in self.Cs), float(self.default_C))
        lr = LogisticRegression(C=self.C_, max_iter=2000).fit(Xs, ys)
        self.coef_[lr.classes_], self.intercept_[lr.classes_] = per_class_head(lr)
        return self

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        return Xn @ self.coef_.T + self.intercept_


def per_class_head(lr: Any) -> tuple[np.ndarray, np.ndarray]:
    """One weight row and bias per class of a fitted ``LogisticRegression`` (binary: ±half of its one row)."""
    if len(lr.classes_) > 2:
        return lr.coef_, lr.intercept_
    return np.vstack([-lr.coef_, lr.coef_]) / 2, np.r_[-lr.intercept_, lr.intercept_] / 2


def choose_C(Xs: np.ndarray, ys: np.ndarray, Cs: tuple[float, ...], default: float) -> float:
    """The logistic-regression ``C`` of ``Cs`` with the best cross-validated accuracy on the support set
    (``default`` when there are too few examples per class to cross-validate)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    if _balanced_folds(ys) < 2 or len(Cs) < 2:  # 1 shot: a held-out class would be unseen by the probe; nothing to compare
        return default
    cv = _support_splits(ys)  # stratified here (every class has >= 2 examples)
    scores = [cross_val_score(LogisticRegression(C=c, max_iter=2000), Xs, ys, cv=cv).mean() for c in Cs]
    return float(Cs[int(np.argmax(scores))])


# ---------------------------------------------------------------------- zs-linear
class ZeroShotLinearClassifier(FewShotMethod):
    """Linear head on top of the zero-shot logits, regularised toward them.

    ``logits(x) = a * log p_zs(x) + V x + c`` with penalty ``lam * (||V||^2 + ||c||^2)``
    and a learned prior weight ``a`` (starting at 1): the zero-shot classifier is the prior
    (``V = 0, a = 1``), so with 0 shots it equals zero-shot. For a similarity prior this is
    a linear head initialised at ``s * class_vectors`` and pulled back toward it. ``lam``
    is chosen by cross-validation on the support set from ``lams`` (at 1 shot, folds over
    examples: a held-out example's class may have no training example, as at test time
    for a poorly covered class).

    Parameters
    ----------
    lams : sequence of float
    default_lam : float
    zero_shot : str
        See :class:`FewShotMethod`; ``"none"`` turns this into a plain L2 logistic regression.
    """

    _state_attrs = FewShotMethod._state_attrs + ("V_", "c_", "a_", "lam_")

    def __init__(self, lams: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1), default_lam: float = 1e-2,
                 zero_shot: str = "auto") -> None:
        self.lams = lams
        self.default_lam = default_lam
        self.zero_shot = zero_shot

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> ZeroShotLinearClassifier:
        """Fit the residual head on the support set (all classes take part)."""
        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        K, D = len(self.classes_), self.n_features_in_
        self.V_ = np.zeros((K, D), dtype=np.float32)
        self.c_ = np.zeros(K, dtype=np.float32)
        self.a_ = 1.0
        self.lam_ = float(self.default_lam)
        if Xs is None or ys is None:
            return self
        Z = self.prior_log_proba(self._raw_support)
        Z = np.zeros((len(Xs), K)) if Z is None else Z
        self.lam_ = self._choose_lam(Xs, ys, Z)
        self.V_, self.c_, self.a_, _ = _fit_residual(Xs, ys, Z, self.lam_)
        # every class has a logit here (prior + residual), so no class is left to the prior alone
        self.supported_ = np.ones(K, dtype=bool) if self.zero_shot_ is not None else self.supported_
        return self

    def _choose_lam(self, Xs: np.ndarray, ys: np.ndarray, Z: np.ndarray) -> float:
        from scipy.special import log_softmax  # SciPy loads lazily: not on the zero-shot path

        lams = tuple(float(v) for v in self.lams)
        splits = _support_splits(ys)
        if not splits or len(lams) < 2:
            return float(self.default_lam)
        loss = np.zeros(len(lams))
        order = np.argsort(lams)[::-1]  # strongest penalty first; each fit warm-starts the next (a path)
        for tr, te in splits:
            w = None
            for j in order:
                V, c, a, w = _fit_residual(Xs[tr], ys[tr], Z[tr], lams[j], w0=w)
                lp = log_softmax(a * Z[te] + Xs[te] @ V.T + c, axis=1)
                loss[j] -= lp[np.arange(len(te)), ys[te]].sum()
        return lams[int(np.argmin(loss))]

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        Z = self.prior_log_proba(X)
        base = Xn @ self.V_.T + self.c_
        return base if Z is None else self.a_ * Z + base


def _fit_residual(
    Xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, lam: float, w0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Multinomial logistic regression on ``a * Z + V x + c`` (L2 on ``V, c``; L-BFGS).

    Returns V, c, a and the flat parameter vector (to warm-start a fit at a nearby ``lam``).
    """
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    n, D = Xs.shape
    K = Z.shape[1]
    Y = np.zeros((n, K))
    Y[np.arange(n), ys] = 1.0
    X64 = Xs.astype(np.float64)
    learn_a = bool(np.any(Z != 0))

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        V = w[: K * D].reshape(K, D)
        c = w[K * D: K * D + K]
        a = w[-1]
        L = a * Z + X64 @ V.T + c
        lp = log_softmax(L, axis=1)
        G = (np.exp(lp) - Y) / n
        loss = -(lp * Y).sum() / n + lam * ((V * V).sum() + (c * c).sum())
        gV = G.T @ X64 + 2 * lam * V
        ga = float((G * Z).sum()) if learn_a else 0.0
        return float(loss), np.concatenate([gV.ravel(), G.sum(0) + 2 * lam * c, [ga]])

    if w0 is None:
        w0 = np.zeros(K * D + K + 1)
        w0[-1] = 1.0
    res = minimize(f, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500},
                   bounds=[(None, None)] * (K * D + K) + [(0.0, None)])
    w = res.x
    return w[: K * D].reshape(K, D).astype(np.float32), w[K * D: K * D + K].astype(np.float32), float(w[-1]), w


# ---------------------------------------------------------------------- Tip-Adapter
class TipAdapterClassifier(FewShotMethod):
    """Tip-Adapter (Zhang et al., ECCV 2022): a key-value cache of support features.

    ``logits(x) = log p_zs(x) + alpha * A(x) L`` with affinities
    ``A(x) = exp(-beta * (1 - cos(x, keys)))`` and one-hot values ``L``. ``alpha`` and
    ``beta`` are chosen on the support set only, by leave-one-out (each example scored by
    the cache without itself). ``finetune=True`` is Tip-Adapter-F: the keys are then trained
    by gradient descent (AdamW, cosine schedule) on the support set with ``alpha, beta``
    fixed, starting from the features (so it starts at Tip-Adapter).

    Parameters
    ----------
    alphas, betas : sequence of float
        Search grids.
    finetune : bool
        Train the cache keys (Tip-Adapter-F).
    epochs, lr : int, float
        Key training (Tip-Adapter-F).
    zero_shot : str
        See :class:`FewShotMethod`; ``"none"`` leaves the cache alone.
    """

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(nn_index=True)

    _state_attrs = FewShotMethod._state_attrs + ("keys_", "key_labels_", "alpha_", "beta_")

    def __init__(self, alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                 betas: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0), finetune: bool = False,
                 epochs: int = 20, lr: float = 1e-3, zero_shot: str = "auto", index: str = "auto") -> None:
        self.alphas = alphas
        self.betas = betas
        self.finetune = finetune
        self.epochs = epochs
        self.lr = lr
        self.zero_shot = zero_shot
        self.index = index

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> TipAdapterClassifier:
        """Build the cache, choose alpha/beta by leave-one-out, optionally train the keys."""
        from scipy.special import log_softmax  # SciPy loads lazily: not on the zero-shot path

        ctx = FitContext.build(context, **fields)
        Xs, ys = self._fit_support(X, y, ctx)
        K = len(self.classes_)
        self.alpha_, self.beta_ = float(self.alphas[0]), float(self.betas[0])
        if Xs is None or ys is None:
            self.keys_ = np.zeros((0, self.n_features_in_), dtype=np.float32)
            self.key_labels_ = np.zeros(0, dtype=np.int64)
            return self
        Z = self.prior_log_proba(self._raw_support)
        Z = np.zeros((len(Xs), K)) if Z is None else Z
        L = np.eye(K)[ys]
        sims = Xs.astype(np.float64) @ Xs.T.astype(np.float64)
        best = (np.inf, self.alpha_, self.beta_)
        for beta in self.betas:
            Aff = np.exp(-float(beta) * (1.0 - sims))
            np.fill_diagonal(Aff, 0.0)  # leave one out
            cache = Aff @ L
            for alpha in self.alphas:
                lp = log_softmax(Z + float(alpha) * cache, axis=1)
                nll = -lp[np.arange(len(ys)), ys].mean()
                if nll < best[0] - 1e-12:
                    best = (nll, float(alpha), float(beta))
        _, self.alpha_, self.beta_ = best
        keys = Xs.astype(np.float32)
        if self.finetune and self.alpha_ > 0:  # alpha 0: the support chose no cache; nothing to train
            keys = self._train_keys(keys, ys, Z)
        self.keys_ = keys
        self.key_labels_ = ys
        if self.zero_shot_ is not None:
            self.supported_ = np.ones(K, dtype=bool)
        return self

    def _train_keys(self, keys: np.ndarray, ys: np.ndarray, Z: np.ndarray) -> np.ndarray:
        import torch

        g = torch.Generator().manual_seed(0)
        Kt = torch.nn.Parameter(torch.from_numpy(keys.copy()))
        Xt = torch.from_numpy(keys.copy())
        Zt = torch.from_numpy(Z.astype(np.float32))
        Lt = torch.nn.functional.one_hot(torch.from_numpy(ys), Z.shape[1]).float()
        yt = torch.from_numpy(ys)
        opt = torch.optim.AdamW([Kt], lr=float(self.lr), eps=1e-4)
        steps = max(1, int(self.epochs))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        n = len(ys)
        for _ in range(steps):
            for idx in torch.randperm(n, generator=g).split(256):
                aff = torch.exp(-self.beta_ * (1.0 - Xt[idx] @ Kt.T))
                aff = aff * (1 - torch.nn.functional.one_hot(idx, n).float())  # an example never sees its own key
                logits = Zt[idx] + self.alpha_ * aff @ Lt
                loss = torch.nn.functional.cross_entropy(logits, yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
        return Kt.detach().numpy().astype(np.float32)

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        K = len(self.classes_)
        Z = self.prior_log_proba(X)
        Z = np.zeros((len(Xn), K)) if Z is None else Z
        if len(self.keys_) == 0:
            return Z
        from ..neighbors import knn, resolve_index

        if resolve_index(getattr(self, "index", "auto"), len(self.keys_)) == "ann":
            # a huge cache: the affinity of the 256 nearest keys (the others add exp(-beta (1 - cos)) ~ 0)
            sims, idx = knn(self.keys_, 256, queries=Xn, index="ann")
            votes = np.zeros((len(Xn), K))
            ok = idx >= 0
            rows = np.repeat(np.arange(len(Xn)), idx.shape[1]).reshape(idx.shape)
            np.add.at(votes, (rows[ok], self.key_labels_[idx[ok]]), np.exp(-self.beta_ * (1.0 - sims[ok].astype(np.float64))))
            return Z + self.alpha_ * votes
        aff = np.exp(-self.beta_ * (1.0 - Xn.astype(np.float64) @ self.keys_.T.astype(np.float64)))
        return Z + self.alpha_ * aff @ np.eye(K)[self.key_labels_]


class TipAdapterFClassifier(TipAdapterClassifier):
    """Tip-Adapter-F: :class:`TipAdapterClassifier` with trained keys (``finetune=True``)."""

    def __init__(self, alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                 betas: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0), finetune: bool = True,
                 epochs: int = 20, lr: float = 1e-3, zero_shot: str = "auto", index: str = "auto") -> None:
        super().__init__(alphas=alphas, betas=betas, finetune=finetune, epochs=epochs, lr=lr, zero_shot=zero_shot,
                         index=index)
