"""Several classification tasks on one encoder: a shared adapter, one head per task, a joint loss.

Each task has its own :class:`~transzero.LabelSpace` and zero-shot prior (the modality's
zero-shot method). The model on top of the frozen encoder is

    h(x)        = normalise(x + x B)                   (shared by every task; B starts at 0)
    logits_t(x) = log p_zs,t(x) + V_t h(x) + c_t       (per task; V_t, c_t start at 0)

trained with the joint loss ``sum_t mean CE_t + lam * (||B||^2 + sum_t ||V_t||^2 + ||c_t||^2)``.
Items may be labelled for some tasks only (``None`` elsewhere): each task's loss uses its
labelled items, and the shared adapter learns from all of them. With no labels it is exactly
zero-shot for every task.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import log_softmax

from ._util import l2_normalize
from .errors import InputError, SavedModelError

__all__ = ["MultiTaskClassifier"]


class MultiTaskClassifier:
    """One encoder, several label spaces, jointly trained heads.

    Parameters
    ----------
    tasks : mapping of task name -> LabelSpace or list of class names
    encoder : str or Encoder, optional
        Default: the text default.
    lam : float
        L2 penalty pulling the adapter and heads toward zero-shot.
    steps : int
        Full-batch Adam steps.
    lr : float
    cache : as for :class:`~transzero.ZeroShotClassifier`.
    seed : int
    """

    def __init__(self, tasks: Mapping[str, Any], encoder: Any = None, lam: float = 1e-3, steps: int = 300,
                 lr: float = 1e-2, cache: Any = False, seed: int = 0) -> None:
        self.tasks = tasks
        self.encoder = encoder
        self.lam = lam
        self.steps = steps
        self.lr = lr
        self.cache = cache
        self.seed = seed

    # ------------------------------------------------------------------ pieces
    def _task_classifiers(self) -> dict[str, Any]:
        from .classifier import ZeroShotClassifier
        from .defaults import default_method
        from .labels import LabelSpace

        if not self.tasks:
            raise InputError("give at least one task: MultiTaskClassifier({'topic': [...], 'sentiment': [...]})")
        from .defaults import text_side_encoder
        from .encoders import Encoder, create_encoder

        enc = self.encoder if isinstance(self.encoder, Encoder) else create_encoder(self.encoder or text_side_encoder())
        out = {}
        for name, labels in self.tasks.items():
            space = labels if isinstance(labels, LabelSpace) else LabelSpace(list(labels))
            clf = ZeroShotClassifier(space, encoder=enc, method=default_method(enc.modality), cache=self.cache)
            out[str(name)] = clf.fit()
        return out

    def _labels_matrix(self, y: Mapping[str, Sequence[Any]], n: int) -> dict[str, np.ndarray]:
        """Per task, class indices (-1 = unlabelled for that task)."""
        unknown = sorted(set(y) - set(self.task_names_))
        if unknown:
            raise InputError(f"labels for unknown task {unknown[0]!r}; tasks are {', '.join(self.task_names_)}")
        out = {}
        for t in self.task_names_:
            col = list(y.get(t, [None] * n))
            if len(col) != n:
                raise InputError(f"task {t!r}: {len(col)} labels for {n} items; use None for items without this label")
            index = {str(c): i for i, c in enumerate(self.classes_[t])}
            idx = np.full(n, -1, dtype=np.int64)
            for i, v in enumerate(col):
                if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
                    continue
                if str(v) not in index:
                    raise InputError(f"task {t!r}, items[{i}]: label {v!r} is not one of its classes; add it to the task's labels")
                idx[i] = index[str(v)]
            out[t] = idx
        return out

    # ------------------------------------------------------------------ API
    def fit(self, X: Sequence[Any] | None = None, y: Mapping[str, Sequence[Any]] | None = None) -> MultiTaskClassifier:
        """Fit on items ``X`` and ``y`` = {task: labels (None where unlabelled)}; no data = zero-shot."""
        self.task_clfs_ = self._task_classifiers()
        self.task_names_ = list(self.task_clfs_)
        first = self.task_clfs_[self.task_names_[0]]
        self.encoder_ = first.encoder_
        self.classes_ = {t: [str(c) for c in c_.classes_] for t, c_ in self.task_clfs_.items()}
        D = self.encoder_.dim
        self.B_ = np.zeros((D, D), np.float32)
        self.V_ = {t: np.zeros((len(self.classes_[t]), D), np.float32) for t in self.task_names_}
        self.c_ = {t: np.zeros(len(self.classes_[t]), np.float32) for t in self.task_names_}
        if X is None and y is None:
            return self
        if X is None or y is None:
            raise InputError("give both items and {task: labels}, or neither for zero-shot")
        Xv = first.encode(list(X))
        return self.fit_encoded(Xv, y)

    def fit_encoded(self, X: np.ndarray, y: Mapping[str, Sequence[Any]]) -> MultiTaskClassifier:
        """Like :meth:`fit` from item vectors of this encoder (after ``fit()`` set the tasks up)."""
        import torch

        if not hasattr(self, "task_clfs_"):
            self.fit()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise InputError("item vectors must be a finite (n_items, dim) array")
        Y = self._labels_matrix(y, len(X))
        if all((v < 0).all() for v in Y.values()):
            raise InputError("no task has any labelled item; pass labels for at least one task")
        torch.manual_seed(int(self.seed))
        Xn = torch.from_numpy(l2_normalize(X))
        Z = {t: torch.from_numpy(self._prior(t, X).astype(np.float32)) for t in self.task_names_}
        D = X.shape[1]
        B = torch.zeros((D, D), requires_grad=True)
        V = {t: torch.zeros((len(self.classes_[t]), D), requires_grad=True) for t in self.task_names_}
        c = {t: torch.zeros(len(self.classes_[t]), requires_grad=True) for t in self.task_names_}
        opt = torch.optim.Adam([B, *V.values(), *c.values()], lr=float(self.lr))
        masks = {t: torch.from_numpy(Y[t] >= 0) for t in self.task_names_}
        targets = {t: torch.from_numpy(np.maximum(Y[t], 0)) for t in self.task_names_}
        lam = float(self.lam)
        for _ in range(int(self.steps)):
            h = torch.nn.functional.normalize(Xn + Xn @ B, dim=1)
            loss = lam * (B * B).sum()
            for t in self.task_names_:
                loss = loss + lam * ((V[t] * V[t]).sum() + (c[t] * c[t]).sum())
                m = masks[t]
                if m.any():
                    logits = Z[t][m] + h[m] @ V[t].T + c[t]
                    loss = loss + torch.nn.functional.cross_entropy(logits, targets[t][m])
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.B_ = B.detach().numpy().copy()
        self.V_ = {t: v.detach().numpy().copy() for t, v in V.items()}
        self.c_ = {t: v.detach().numpy().copy() for t, v in c.items()}
        self.n_labelled_ = {t: int((Y[t] >= 0).sum()) for t in self.task_names_}
        return self

    def _prior(self, task: str, X: np.ndarray) -> np.ndarray:
        return log_softmax(self.task_clfs_[task].method_.decision_function(X).astype(np.float64), axis=1)

    def _check(self) -> None:
        if not hasattr(self, "B_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit() first (no data = zero-shot)")

    def predict_proba_encoded(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per task, probabilities ``(N, K_t)`` from item vectors."""
        self._check()
        X = np.asarray(X, dtype=np.float32)
        Xn = l2_normalize(X)
        h = l2_normalize(Xn + Xn @ self.B_)
        out = {}
        for t in self.task_names_:
            z = self._prior(t, X) + h @ self.V_[t].T + self.c_[t]
            out[t] = np.exp(log_softmax(z, axis=1))
        return out

    def predict_proba(self, X: Sequence[Any]) -> dict[str, np.ndarray]:
        """Per task, probabilities ``(N, K_t)`` for raw items."""
        self._check()
        return self.predict_proba_encoded(self.task_clfs_[self.task_names_[0]].encode(list(X)))

    def predict(self, X: Sequence[Any]) -> dict[str, np.ndarray]:
        """Per task, the predicted class name of each item."""
        P = self.predict_proba(X)
        return {t: np.asarray(self.classes_[t], dtype=object)[P[t].argmax(1)] for t in self.task_names_}

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the classifier atomically: the same saved-classifier format as a single task, one task entry
        per task plus the shared adapter and heads (``.npy`` files named in ``config.json``; no pickle)."""
        from .saved_format import FORMAT, FORMAT_VERSION
        from .persistence import write_folder_atomically

        self._check()
        with write_folder_atomically(path) as folder:
            first = self.task_clfs_[self.task_names_[0]]
            tasks = [{"name": t, **self.task_clfs_[t].task_config(folder, f"task-{i}.")}
                     for i, t in enumerate(self.task_names_)]
            heads = {"B": folder.save_array("multitask.B", self.B_),
                     "V": {t: folder.save_array(f"multitask.V-{i}", self.V_[t]) for i, t in enumerate(self.task_names_)},
                     "c": {t: folder.save_array(f"multitask.c-{i}", self.c_[t]) for i, t in enumerate(self.task_names_)}}
            folder.write_config({
                "format": FORMAT, "format_version": FORMAT_VERSION, "kind": "multitask", **first.encoder_configs(folder),
                "tasks": tasks,
                "multitask": {"params": {"lam": self.lam, "steps": self.steps, "lr": self.lr, "seed": self.seed},
                              "n_labelled": getattr(self, "n_labelled_", {}), **heads},
            })
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], cache: Any = False, *, allow_download: bool = False) -> MultiTaskClassifier:
        """Read a folder written by :meth:`save` (or by transzero 0.1's multitask format); validated like a
        single classifier, no pickle, nothing read outside the folder."""
        from .classifier import ZeroShotClassifier
        from .saved_format import load_encoders, read_classifier_config
        from .persistence import ModelFolder

        folder = ModelFolder(path)
        if (folder.root / "multitask.json").is_file() and not (folder.root / "config.json").is_file():
            return cls._load_format_1(folder, cache)
        cfg = read_classifier_config(folder)
        if cfg.get("kind") != "multitask":
            raise SavedModelError(f"{path} holds a single-task classifier; load it with transzero.load_classifier")
        enc, label_enc = load_encoders(cfg, folder, allow_download=allow_download)
        clfs = {str(t["name"]): ZeroShotClassifier.from_task_config(t, folder, enc, label_enc, cache=cache)
                for t in cfg["tasks"]}
        mt = cfg["multitask"]
        m = cls._assemble(clfs, enc, cache, mt["params"])
        m.B_ = folder.load_array(mt["B"])
        m.V_ = {t: folder.load_array(mt["V"][t]) for t in m.task_names_}
        m.c_ = {t: folder.load_array(mt["c"][t]) for t in m.task_names_}
        m.n_labelled_ = dict(mt.get("n_labelled") or {})
        m._check_shapes(folder.root)
        return m

    @classmethod
    def _assemble(cls, clfs: dict[str, Any], encoder: Any, cache: Any, params: Mapping[str, Any]) -> MultiTaskClassifier:
        m = cls({t: c.label_space_ for t, c in clfs.items()}, encoder=encoder, cache=cache, **params)
        m.task_clfs_, m.task_names_, m.encoder_ = clfs, list(clfs), encoder
        m.classes_ = {t: [str(c) for c in clf.classes_] for t, clf in clfs.items()}
        return m

    def _check_shapes(self, where: Any) -> None:
        D = self.encoder_.dim
        ok = self.B_.shape == (D, D) and all(
            self.V_[t].shape == (len(self.classes_[t]), D) and self.c_[t].shape == (len(self.classes_[t]),)
            for t in self.task_names_)
        if not ok:
            raise SavedModelError(f"{where}: the multitask adapter or heads do not fit a {D}-d encoder; save it again")

    @classmethod
    def _load_format_1(cls, folder: Any, cache: Any) -> MultiTaskClassifier:
        """transzero 0.1: ``multitask.json`` + one saved classifier per task in ``task-<name>/``."""
        from .classifier import ZeroShotClassifier

        cfg = folder.read_config("multitask.json")
        clfs = {t: ZeroShotClassifier.load(folder.path(f"task-{_safe(t)}"), cache=cache) for t in cfg["tasks"]}
        first = clfs[cfg["tasks"][0]]
        for t, clf in clfs.items():  # one encoder object for all tasks
            if clf.encoder_.fingerprint != first.encoder_.fingerprint:
                raise SavedModelError(f"{folder.root}: task {t!r} was saved with a different encoder")
            clf.encoder_ = first.encoder_
        m = cls._assemble(clfs, first.encoder_, cache, cfg["params"])
        m.B_ = folder.load_array("B.npy")
        m.V_ = {t: folder.load_array(f"V-{_safe(t)}.npy") for t in m.task_names_}
        m.c_ = {t: folder.load_array(f"c-{_safe(t)}.npy") for t in m.task_names_}
        m._check_shapes(folder.root)
        return m


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
