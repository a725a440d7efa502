"""Bilinear compatibility models: DeViSE, ALE and SJE.

All three score an item against a class as ``F(x, y) = x^T W s_y`` (``x`` the unit-norm
item features, ``s_y`` the class semantics) and learn ``W`` on seen classes by stochastic
gradient descent (torch, Adam) on a ranking loss; they differ only in the loss:

- DeViSE (Frome et al., NeurIPS 2013): hinge rank loss ``sum_{j != y} [m + F_j - F_y]_+``.
- ALE (Akata et al., CVPR 2013 / TPAMI 2016): the same violations weighted by
  ``l(r) / r`` with ``l(r) = sum_{i<=r} 1/i`` and ``r`` the number of violating classes
  (the weighted approximate ranking of WSABIE), so the top of the ranking matters most.
- SJE (Akata et al., CVPR 2015): structured SVM hinge ``max_j (Delta(y, j) + F_j) - F_y``.

The number of epochs ("auto") is chosen by early stopping on a class-wise hold-out of
the seen classes (see :mod:`transzero.methods.semantic`), then ``W`` is retrained on all
seen classes for that many epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .semantic import SemanticMethod, per_class_accuracy, class_holdout

__all__ = ["ALEClassifier", "BilinearCompatibility", "DeViSEClassifier", "SJEClassifier"]


class BilinearCompatibility(SemanticMethod):
    """Base of DeViSE / ALE / SJE: ``F(x, y) = x^T W s_y`` trained with a ranking loss.

    Parameters
    ----------
    epochs : int or "auto"
        Passes over the training data; "auto" early-stops on held-out seen classes (at most
        ``max_epochs``, stopping after ``patience`` epochs without a better hold-out accuracy).
    max_epochs, patience : int
    lr : float
        Adam learning rate (defaults per loss were picked on held-out *training* classes of
        the Tiny ImageNet split: 1e-2 for DeViSE and ALE, 1e-3 for SJE).
    weight_decay : float
        L2 penalty on ``W``.
    margin : float
        The loss's margin ``m`` / ``Delta`` for a wrong class.
    batch_size : int
    random_state : int
        Seed of the initialisation and the sample order.
    gamma, candidates
        See :class:`~transzero.methods.semantic.SemanticMethod`.
    """

    loss: str = ""
    _state_attrs = SemanticMethod._state_attrs + ("W_", "epochs_")

    def __init__(self, epochs: int | str = "auto", max_epochs: int = 30, patience: int = 5, lr: float = 1e-3,
                 weight_decay: float = 0.0, margin: float = 1.0, batch_size: int = 64, random_state: int = 0,
                 gamma: float = 0.0, candidates: str = "all") -> None:
        self.epochs = epochs
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.margin = margin
        self.batch_size = batch_size
        self.random_state = random_state
        self.gamma = gamma
        self.candidates = candidates

    def _loss(self, F: Any, t: Any) -> Any:
        import torch

        Fy = F.gather(1, t[:, None])
        wrong = torch.ones_like(F).scatter_(1, t[:, None], 0.0)
        m = float(self.margin)
        if self.loss == "sje":
            return ((F + m * wrong).max(dim=1).values - Fy[:, 0]).mean()
        v = torch.relu(m + F - Fy) * wrong
        if self.loss == "devise":
            return v.sum(dim=1).mean()
        r = (v > 0).sum(dim=1)
        harmonic = torch.cumsum(1.0 / torch.arange(1, F.shape[1] + 1, dtype=F.dtype), 0)
        weight = torch.where(r > 0, harmonic[(r - 1).clamp(min=0)] / r.clamp(min=1), torch.zeros_like(Fy[:, 0]))
        return (weight * v.sum(dim=1)).mean()

    def _train(self, X: np.ndarray, y: np.ndarray, S: np.ndarray, cls: np.ndarray, epochs: int,
               val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, list[float]]:
        """SGD on samples of classes ``cls``; with ``val`` = (X, y, classes) the per-epoch hold-out accuracy."""
        import torch

        g = torch.Generator().manual_seed(int(self.random_state))
        col = np.full(S.shape[0], -1)
        col[cls] = np.arange(len(cls))
        Xt = torch.from_numpy(X.astype(np.float32))
        tt = torch.from_numpy(col[y].astype(np.int64))
        St = torch.from_numpy(S[cls].astype(np.float32))
        W = torch.zeros(X.shape[1], S.shape[1], requires_grad=True)
        with torch.no_grad():
            W.normal_(0.0, 1.0 / np.sqrt(X.shape[1]), generator=g)
        opt = torch.optim.Adam([W], lr=float(self.lr), weight_decay=float(self.weight_decay))
        bs = max(1, int(self.batch_size))
        history: list[float] = []
        for _ in range(epochs):
            order = torch.randperm(len(Xt), generator=g)
            for i in range(0, len(order), bs):
                idx = order[i:i + bs]
                F = (Xt[idx] @ W) @ St.T
                loss = self._loss(F, tt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if val is not None:
                Xv, yv, va = val
                Wn = W.detach().numpy().astype(np.float64)
                history.append(per_class_accuracy(yv, va[np.argmax((Xv @ Wn) @ S[va].T, axis=1)]))
                if len(history) - 1 - int(np.argmax(history)) >= max(1, int(self.patience)):
                    break
        return W.detach().numpy().astype(np.float32), history

    def _fit_map(self, X: np.ndarray, y: np.ndarray, S: np.ndarray) -> None:
        if self.loss not in ("devise", "ale", "sje"):
            raise InputError(f"unknown ranking loss {self.loss!r}")
        if float(self.lr) <= 0 or int(self.batch_size) < 1 or int(self.max_epochs) < 1:
            raise InputError("lr must be > 0, batch_size >= 1 and max_epochs >= 1")
        if self.epochs == "auto":
            fit_m, val_m = class_holdout(y)
            if val_m.any():
                _, hist = self._train(X[fit_m], y[fit_m], S, np.unique(y[fit_m]), int(self.max_epochs),
                                      val=(X[val_m], y[val_m], np.unique(y[val_m])))
                self.epochs_ = int(np.argmax(hist)) + 1  # first epoch with the best hold-out accuracy
            else:
                self.epochs_ = int(self.max_epochs)
        else:
            if int(self.epochs) < 1:
                raise InputError(f"epochs must be >= 1 or 'auto', got {self.epochs!r}")
            self.epochs_ = int(self.epochs)
        self.W_, _ = self._train(X, y, S, np.flatnonzero(self.seen_), self.epochs_)

    def _project(self, X: np.ndarray) -> np.ndarray:
        return X @ self.W_.astype(np.float64)


class DeViSEClassifier(BilinearCompatibility):
    """DeViSE (Frome et al., 2013): bilinear compatibility with a hinge rank loss (margin 0.1 as in the paper)."""

    loss = "devise"

    def __init__(self, epochs: int | str = "auto", max_epochs: int = 30, patience: int = 5, lr: float = 1e-2,
                 weight_decay: float = 0.0, margin: float = 0.1, batch_size: int = 64, random_state: int = 0,
                 gamma: float = 0.0, candidates: str = "all") -> None:
        super().__init__(epochs, max_epochs, patience, lr, weight_decay, margin, batch_size, random_state, gamma,
                         candidates)


class ALEClassifier(BilinearCompatibility):
    """ALE (Akata et al., 2013/2016): bilinear compatibility, rank-weighted (WARP) hinge loss."""

    loss = "ale"

    def __init__(self, epochs: int | str = "auto", max_epochs: int = 30, patience: int = 5, lr: float = 1e-2,
                 weight_decay: float = 0.0, margin: float = 1.0, batch_size: int = 64, random_state: int = 0,
                 gamma: float = 0.0, candidates: str = "all") -> None:
        super().__init__(epochs, max_epochs, patience, lr, weight_decay, margin, batch_size, random_state, gamma,
                         candidates)


class SJEClassifier(BilinearCompatibility):
    """SJE (Akata et al., 2015): bilinear compatibility, structured SVM loss (most violating class)."""

    loss = "sje"
