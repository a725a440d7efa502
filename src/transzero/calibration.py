"""Calibrated probabilities: temperature (and bias) scaling, ECE, reliability diagrams.

A zero-shot classifier's softmax is only as meaningful as its logit scale. With a few
labelled examples, :class:`Calibrator` fits a temperature ``T`` (and, optionally, one bias
per class) by minimising the negative log-likelihood of those examples (Guo et al., 2017;
the bias is "vector scaling" with a shared scale, L2-regularised toward zero because the
examples are few). Without labels the method's default scale is used: for cosine-similarity
methods that is the encoder's ``default_logit_scale``, chosen once on labelled data of
*other* tasks, never on the task at hand (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from .errors import InputError, SavedModelError
from .io import atomic_path

__all__ = ["Calibrator", "expected_calibration_error", "plot_reliability", "reliability_bins"]


def reliability_bins(proba: np.ndarray, y: np.ndarray, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per equal-width confidence bin: ``count``, mean ``confidence``, ``accuracy`` (NaN when empty)."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": acc}


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (Guo et al., 2017)."""
    b = reliability_bins(proba, y, n_bins)
    m = b["count"] > 0
    return float(np.sum(b["count"][m] / b["count"].sum() * np.abs(b["accuracy"][m] - b["confidence"][m])))


def plot_reliability(
    proba: np.ndarray, y: np.ndarray, path: str | os.PathLike[str], *, title: str = "", n_bins: int = 15,
    others: dict[str, np.ndarray] | None = None,
) -> Path:
    """Reliability diagram (accuracy vs confidence per bin, with ECE) as a PNG; ``others`` adds more curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {"model": proba, **(others or {})}
    fig, ax = plt.subplots(figsize=(4.8, 4.6), dpi=110)
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    for name, p in curves.items():
        b = reliability_bins(p, y, n_bins)
        m = b["count"] > 0
        ece = expected_calibration_error(p, y, n_bins)
        ax.plot(b["confidence"][m], b["accuracy"][m], marker="o", ms=3, label=f"{name} (ECE {100 * ece:.1f})")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title or "reliability", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out


class Calibrator:
    """Temperature (and per-class bias) scaling of logits, fitted on labelled examples.

    Parameters
    ----------
    bias : bool
        Also fit one additive bias per class (needs a few examples of each class).
    bias_l2 : float
        L2 penalty on the biases (per example), so 1-2 examples per class cannot swing them.

    Attributes
    ----------
    temperature_ : float
    bias_ : ndarray (K,)
    n_examples_ : int
        Labelled examples it was fitted on.
    """

    def __init__(self, bias: bool = True, bias_l2: float = 0.1) -> None:
        self.bias = bias
        self.bias_l2 = bias_l2

    def fit(self, logits: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on logits ``(N, K)`` and true class indices ``(N,)``."""
        Z = np.asarray(logits, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if Z.ndim != 2 or len(Z) != len(y) or not len(y):
            raise InputError(f"calibration needs logits (n, K) and one label per row, got {Z.shape} and {len(y)} labels")
        if (y < 0).any() or (y >= Z.shape[1]).any():
            raise InputError("calibration labels must be class indices in [0, K)")
        if not np.all(np.isfinite(Z)):
            raise InputError("calibration logits contain NaN or infinity")
        K = Z.shape[1]
        nb = K if self.bias else 0
        rows = np.arange(len(y))

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            t, b = theta[0], theta[1:]
            s = np.exp(-t)  # 1 / T
            A = Z * s + (b if nb else 0.0)
            L = log_softmax(A, axis=1)
            nll = -L[rows, y].mean()
            G = softmax(A, axis=1)
            G[rows, y] -= 1.0
            G /= len(y)
            g_t = -np.sum(G * Z * s)
            grad = np.concatenate([[g_t], G.sum(axis=0) if nb else []])
            if nb:
                nll += self.bias_l2 * 0.5 * np.sum(b ** 2)
                grad[1:] += self.bias_l2 * b
            return float(nll), grad

        res = minimize(loss, np.zeros(1 + nb), jac=True, method="L-BFGS-B")
        self.temperature_ = float(np.exp(res.x[0]))
        self.bias_ = np.asarray(res.x[1:] if nb else np.zeros(K), dtype=np.float64)
        self.n_classes_ = K
        self.n_examples_ = int(len(y))
        return self

    def transform(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated logits."""
        Z = np.asarray(logits, dtype=np.float64)
        if Z.shape[1] != self.n_classes_:
            raise InputError(f"logits have {Z.shape[1]} classes but the calibrator was fitted on {self.n_classes_}")
        return Z / self.temperature_ + self.bias_

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return softmax(self.transform(logits), axis=1)

    def save_config(self) -> dict[str, Any]:
        """The calibrator's part of a saved classifier (settings and fitted values; small, so JSON)."""
        return {"use_bias": bool(self.bias), "bias_l2": self.bias_l2, **self.get_state()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], n_classes: int) -> Calibrator:
        """Inverse of :meth:`save_config` (the number of classes is checked)."""
        cal = cls(bias=bool(config.get("use_bias", True)), bias_l2=float(config.get("bias_l2", 0.1)))
        cal.temperature_ = float(config["temperature"])
        cal.bias_ = np.asarray(config["bias"], dtype=np.float64)
        if cal.bias_.shape != (n_classes,) or not cal.temperature_ > 0 or not np.all(np.isfinite(cal.bias_)):
            raise SavedModelError(f"calibration: temperature {cal.temperature_} and {cal.bias_.shape[0] if cal.bias_.ndim else 0} "
                                  f"biases do not fit {n_classes} classes; calibrate again")
        cal.n_classes_ = n_classes
        cal.n_examples_ = config.get("n_examples")
        return cal

    def get_state(self) -> dict[str, Any]:
        return {"temperature": self.temperature_, "bias": [float(b) for b in self.bias_], "n_examples": self.n_examples_}
