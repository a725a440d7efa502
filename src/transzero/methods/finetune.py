"""``finetune``: end-to-end fine-tuning (LP-FT + WiSE-FT) as a few-shot method.

Unlike the other methods it needs the raw support *items*, not vectors: the encoder itself
changes. :class:`~transzero.ZeroShotClassifier` passes them (``fit(items, labels)``) and then
uses the fine-tuned encoder the method returns. The task head works on the new encoder's
raw features; classes without support examples stay with the zero-shot prior.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._util import l2_normalize, label_indices
from ..errors import InputError
from .fewshot import FewShotMethod
from .tags import FitContext, MethodTags

__all__ = ["FineTuneClassifier"]


class FineTuneClassifier(FewShotMethod):
    """Fine-tune the encoder on the support set (see :mod:`transzero.finetune` for the recipe).

    Parameters
    ----------
    epochs, lr, head_lr, weight_decay, optimizer, batch_size, val_fraction, lp_ft, alphas, default_alpha, seed
        :class:`transzero.finetune.FineTuneConfig` fields.
    output_dir : path, optional
        Where the fine-tuned weights go (default: a new folder under the cache directory).
    zero_shot : str
        The prior for classes without support (see :class:`FewShotMethod`).
    """

    _state_attrs = FewShotMethod._state_attrs + ("coef_", "intercept_", "alpha_")

    def __init__(self, epochs: int = 12, lr: float = 1e-4, head_lr: float = 1e-3, weight_decay: float = 1e-4,
                 optimizer: str = "adamw", batch_size: int = 32, val_fraction: float = 0.2, lp_ft: bool = True,
                 alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0), default_alpha: float = 0.5,
                 seed: int = 0, output_dir: str | os.PathLike[str] | None = None, zero_shot: str = "auto") -> None:
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.lp_ft = lp_ft
        self.alphas = alphas
        self.default_alpha = default_alpha
        self.seed = seed
        self.output_dir = output_dir
        self.zero_shot = zero_shot

    @classmethod
    def __transzero_tags__(cls) -> MethodTags:
        return super().__transzero_tags__().replace(trains_encoder=True)

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> FineTuneClassifier:
        """Fine-tune ``context.encoder`` on ``context.items`` with labels ``y``; ``X`` (vectors) is not enough.

        For an encoder aligned with the label space (a text encoder), the head starts at the
        zero-shot head ``s * class_vectors`` and, after training, ``context.reembed(new_encoder)``
        gives the class vectors the new encoder's zero-shot prior uses.
        """
        from ..finetune import FineTuneConfig, finetune

        ctx = FitContext.build(context, **fields)
        items, encoder = ctx.items, ctx.encoder
        if y is not None and (items is None or encoder is None):
            raise InputError(
                "method 'finetune' trains the encoder, so it needs the raw items: "
                "ZeroShotClassifier(labels, encoder='efficientnet-lite0', method='finetune').fit(items, labels)"
            )
        # checks labels, fits the prior; X is the pretrained vectors of the items (for shapes only)
        self._fit_support(X, y, ctx)
        K = len(self.classes_)
        self.alpha_ = 0.0
        self.encoder_ = encoder
        self.coef_ = np.zeros((K, self.n_features_in_), np.float32)
        self.intercept_ = np.zeros(K, np.float32)
        if y is None:
            return self
        yi = label_indices(self.classes_, np.asarray(y, dtype=object).ravel(), what="support example")
        cfg = FineTuneConfig(epochs=int(self.epochs), lr=float(self.lr), head_lr=float(self.head_lr),
                             weight_decay=float(self.weight_decay), optimizer=str(self.optimizer),
                             batch_size=int(self.batch_size), val_fraction=float(self.val_fraction),
                             lp_ft=bool(self.lp_ft), alphas=tuple(float(a) for a in self.alphas),
                             default_alpha=float(self.default_alpha), seed=int(self.seed))
        head_init = None
        if self.aligned_ and ctx.class_embeddings is not None:
            head_init = (self.logit_scale_ * l2_normalize(ctx.class_embeddings.vectors), np.zeros(K, np.float32))
        res = finetune(encoder, list(items or []), yi, K, cfg, output_dir=self.output_dir, head_init=head_init)
        if self.aligned_ and ctx.reembed is not None and self.zero_shot_ is not None:
            self.class_embeddings_new_ = ctx.reembed(res.encoder)
            self._fit_prior(self.class_embeddings_new_, ctx.default_logit_scale, ctx.concept_head)
        self.result_ = res
        self.encoder_ = res.encoder
        self.coef_, self.intercept_, self.alpha_ = res.coef, res.intercept, float(res.alpha)
        return self

    def _fewshot_logits(self, Xn: np.ndarray, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_.T + self.intercept_
