"""``finetune``: end-to-end fine-tuning (LP-FT + WiSE-FT) as a few-shot method.

Unlike the other methods it needs the raw support *items*, not vectors: the encoder itself
changes. :class:`~transzero.ZeroShotClassifier` passes them (``fit(items, labels)``) and then
uses the fine-tuned encoder the method returns. The task head works on the new encoder's
raw features; classes without support examples stay with the zero-shot prior.

The recipe, :func:`finetune` (``transzero.finetune`` re-exports it; each step documented in docs/benchmarks.md
with its numbers):

1. **Split** the support set: ``val_fraction`` of every class (stratified) is held out for early
   stopping and for choosing the WiSE-FT mixing weight; with fewer than 2 examples of some
   class there is no split (fixed epochs, ``default_alpha``).
2. **LP** (linear probe): a logistic-regression head on the frozen pretrained features.
3. **FT**: the whole network and the head, initialised from the probe (LP-FT, Kumar et al. 2022),
   trained with AdamW (or SGD) and a cosine schedule; BatchNorm statistics stay frozen (few-shot
   batches are too small to estimate them), horizontal flips augment images. The epoch with
   the best held-out loss is kept.
4. **WiSE-FT** (Wortsman et al. 2022): weights ``(1 - a) * pretrained + a * fine-tuned`` (head:
   probe and fine-tuned head), ``a`` chosen on the held-out split from ``alphas`` (ties: the
   smaller ``a``, closer to the pretrained model and its zero-shot ability).

The backbone's own ImageNet concept head is never trained, so zero-shot bridges keep working
on the fine-tuned features. The result is a new encoder (weights in ``.safetensors``, loaded
like the original, exported to ONNX on first use) plus the task head.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util import l2_normalize, label_indices
from ..errors import InputError
from .fewshot import FewShotMethod
from .tags import FitContext, MethodTags

__all__ = ["FineTuneClassifier", "FineTuneConfig", "FineTuneResult", "finetune"]


@dataclass
class FineTuneConfig:
    """Hyper-parameters of :func:`finetune` (defaults: a fixed recipe, not tuned on any test set)."""

    epochs: int = 12
    lr: float = 1e-4
    head_lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    batch_size: int = 32
    val_fraction: float = 0.2
    lp_ft: bool = True
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    default_alpha: float = 0.5
    augment: bool = True
    seed: int = 0


@dataclass
class FineTuneResult:
    """What :func:`finetune` returns.

    Attributes
    ----------
    encoder : the fine-tuned (WiSE-interpolated) encoder, weights in ``weights_path``.
    coef, intercept : task head on the encoder's raw features: ``logits = X @ coef.T + intercept``.
    alpha : the WiSE-FT weight chosen (1 = fully fine-tuned, 0 = pretrained backbone + probe).
    history : per-epoch train/val loss and val accuracy; ``alpha_scores`` per alpha.
    """

    encoder: Any
    coef: np.ndarray
    intercept: np.ndarray
    alpha: float
    weights_path: Path
    history: list[dict[str, float]] = field(default_factory=list)
    alpha_scores: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: the un-interpolated fine-tuned model (alpha = 1) and its head, kept for comparisons
    ft_weights_path: Path | None = None
    ft_coef: np.ndarray | None = None
    ft_intercept: np.ndarray | None = None


def _split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y)
    if fraction <= 0 or counts[counts > 0].min() < 2:
        return np.arange(len(y)), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[: max(1, int(round(fraction * len(idx))))])
    val_a = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), val_a), val_a


class _Adapter:
    """What :func:`finetune` needs of an encoder family: a torch ``model``, features, save."""

    model: Any

    def state(self) -> dict[str, Any]:
        """A copy of every weight (for early stopping and WiSE-FT)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)


class _ImageAdapter(_Adapter):
    """EfficientNet-Lite0 (torch) as a trainable feature extractor over preprocessed pixels."""

    def __init__(self, encoder: Any, items: list[Any]) -> None:
        from ..data.images import load_image

        self.encoder = encoder
        pre = encoder.preprocess
        arrays = []
        for i, item in enumerate(items):
            try:
                arrays.append(pre(load_image(item, target=pre.size)))
            except InputError as exc:
                raise InputError(f"support item {i}: {exc}") from None
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:  # mixed low-res and full-size images: train at the full-size setting
            from dataclasses import replace

            pre1 = replace(pre, low_res_size=None)
            arrays = [pre1(load_image(item, target=pre.size)) for item in items]
        self.pixels = np.stack(arrays).astype(np.float32)
        self.model = _recreate(encoder, backend="torch")._torch_model()

    def parameters(self) -> Any:
        return [p for n, p in self.model.named_parameters() if not n.startswith("_fc.")]

    def features(self, idx: np.ndarray, augment: bool, rng: np.random.Generator) -> Any:
        import torch

        x = self.pixels[idx]
        if augment:
            flip = rng.random(len(idx)) < 0.5
            x = x.copy()
            x[flip] = x[flip][..., ::-1]
        return self.model.extract_features(torch.from_numpy(np.ascontiguousarray(x))).mean(dim=(2, 3))

    def save(self, state: dict[str, Any], out_dir: Path) -> tuple[Any, Path]:
        from safetensors.torch import save_file

        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "model.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
        # the int8 recipe was checked on the packaged weights only: fine-tuned ones run the fp32 graph
        backend = "onnx" if self.encoder.backend == "onnx-int8" else self.encoder.backend
        return _recreate(self.encoder, weights=str(path), backend=backend), path


def _recreate(encoder: Any, **changes: Any) -> Any:
    """The same encoder (registry name + creation arguments) with some arguments changed."""
    from ..encoders import create_encoder

    p = encoder.preprocess
    kwargs = {"backend": encoder.backend, "scaling": p.scaling, "size": p.size, "crop_pct": p.crop_pct,
              "low_res_size": p.low_res_size, "low_res_views": list(p.low_res_views), "weights": encoder.weights,
              **dict(encoder.create_kwargs), **changes}
    return create_encoder(encoder.name, **kwargs)


class _TextAdapter(_Adapter):
    """A transformers text encoder run with torch (e.g. ``minilm-l6``): pooled, as the encoder pools."""

    def __init__(self, encoder: Any, items: list[Any]) -> None:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        from ..encoders.text import TokenBatcher, pool_tokens

        hf_logging.set_verbosity_error()
        self.encoder = encoder
        texts = encoder.validate(items)
        batcher = TokenBatcher.from_dir(encoder.tokenizer_dir, encoder.max_length, encoder.prefix)
        self.ids, self.mask = [], []
        for t in texts:  # one row per text; batches are padded on the fly
            e = batcher.tokenizer.encode(batcher.prefix + t, add_special_tokens=True)
            self.ids.append(np.asarray(e.ids, dtype=np.int64))
            self.mask.append(np.ones(len(e.ids), dtype=np.int64))
        self.model = AutoModel.from_pretrained(str(encoder.model_dir), local_files_only=True)
        self._pool = pool_tokens
        self.torch = torch

    def parameters(self) -> Any:
        return list(self.model.parameters())

    def features(self, idx: np.ndarray, augment: bool, rng: np.random.Generator) -> Any:
        torch = self.torch
        n = max(len(self.ids[i]) for i in idx)
        ids = np.zeros((len(idx), n), np.int64)
        mask = np.zeros((len(idx), n), np.int64)
        for r, i in enumerate(idx):
            ids[r, : len(self.ids[i])] = self.ids[i]
            mask[r, : len(self.ids[i])] = 1
        self.model.train(augment)  # dropout is the augmentation of text fine-tuning
        h = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
        m = torch.from_numpy(mask).unsqueeze(-1).to(h.dtype)
        if self.encoder.pooling == "cls":
            v = h[:, 0]
        elif self.encoder.pooling == "max":
            v = h.masked_fill(m == 0, -1e9).max(dim=1).values
        else:
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(v, dim=1) if self.encoder.normalize else v

    def save(self, state: dict[str, Any], out_dir: Path) -> tuple[Any, Path]:
        import shutil

        from ..encoders.text import TorchTextEncoder

        out_dir.mkdir(parents=True, exist_ok=True)
        self.model.load_state_dict(state)
        self.model.save_pretrained(str(out_dir), safe_serialization=True)
        src = Path(self.encoder.model_dir)
        for f in src.iterdir():  # tokenizer and sentence-transformers pooling layout travel along
            if f.name in ("config.json", "model.safetensors", "pytorch_model.bin") or f.name.startswith("."):
                continue
            dest = out_dir / f.name
            if f.is_dir():
                shutil.copytree(f, dest, dirs_exist_ok=True)
            elif f.suffix in (".json", ".txt", ".model"):
                shutil.copyfile(f, dest)
        import hashlib

        from ..encoders import create_encoder

        digest = hashlib.sha256((out_dir / "model.safetensors").read_bytes()).hexdigest()[:12]
        base = self.encoder.name.split(":", 1)[-1].rsplit("/", 1)[-1]
        enc = create_encoder(f"hf:{out_dir}", name=f"{base}-ft-{digest}", max_length=self.encoder.max_length,
                             prefix=self.encoder.prefix, logit_scale=self.encoder.default_logit_scale)
        assert isinstance(enc, TorchTextEncoder)
        enc.finetuned_dir = out_dir  # type: ignore[attr-defined]
        return enc, out_dir / "model.safetensors"


def _adapter(encoder: Any, items: list[Any]) -> Any:
    from ..encoders.image import EfficientNetLiteEncoder
    from ..encoders.text import TorchTextEncoder

    if isinstance(encoder, EfficientNetLiteEncoder):
        return _ImageAdapter(encoder, items)
    if isinstance(encoder, TorchTextEncoder):
        return _TextAdapter(encoder, items)
    raise InputError(
        f"fine-tuning supports efficientnet-lite0 and torch text encoders (minilm-l6, hf:<dir>), not "
        f"{encoder.name} ({encoder.backend}); use backend='torch' or a frozen method (linear, zs-linear, tip-adapter)"
    )


def finetune(
    encoder: Any,
    items: list[Any],
    y: np.ndarray,
    n_classes: int,
    config: FineTuneConfig | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    keep_finetuned: bool = False,
    head_init: tuple[np.ndarray, np.ndarray] | None = None,
) -> FineTuneResult:
    """Fine-tune ``encoder`` end to end on ``items`` with class indices ``y`` (0..n_classes-1).

    Returns the new encoder (weights written under ``output_dir``, default a fresh folder under
    ``$TRANSZERO_CACHE_DIR/finetuned``) and the task head. See the module docstring for the recipe.
    ``keep_finetuned=True`` also writes the un-interpolated weights (``model_finetuned.safetensors``).
    ``head_init=(W, b)`` starts the head there instead of from a linear probe: the zero-shot head
    ``s * class_vectors`` of an encoder aligned with its label space (a text encoder), so that
    fine-tuning starts exactly at zero-shot.
    """
    import torch

    from .._util import default_cache_dir
    from .fewshot import choose_C

    cfg = config or FineTuneConfig()
    if cfg.optimizer not in ("adamw", "sgd"):
        raise InputError(f"optimizer must be adamw or sgd, not {cfg.optimizer!r}")
    if int(cfg.epochs) < 1:
        raise InputError(f"epochs must be >= 1, got {cfg.epochs}")
    y = np.asarray(y, dtype=np.int64)
    if len(items) != len(y) or not len(y):
        raise InputError(f"{len(items)} support items but {len(y)} labels; give one label per item (at least one)")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    ad = _adapter(encoder, list(items))
    train, val = _split(y, cfg.val_fraction, cfg.seed)
    pre_state = ad.state()

    # ---- LP: probe on frozen pretrained features (skipped when the head starts at zero-shot)
    present = np.unique(y[train])
    dim = int(encoder.dim)
    W0 = np.zeros((n_classes, dim), np.float32)
    b0 = np.zeros(n_classes, np.float32)
    if head_init is not None:
        W0 = np.asarray(head_init[0], np.float32).copy()
        b0 = np.asarray(head_init[1], np.float32).copy()
    elif cfg.lp_ft and len(present) > 1:
        from sklearn.linear_model import LogisticRegression

        from .fewshot import per_class_head

        with torch.no_grad():
            F_np = torch.cat([ad.features(b, False, rng) for b in np.array_split(train, max(1, len(train) // 64))]).numpy()
        C = choose_C(F_np, y[train], (0.01, 0.1, 1.0, 10.0), 1.0)
        lr = LogisticRegression(C=C, max_iter=3000).fit(F_np, y[train])
        W0[lr.classes_], b0[lr.classes_] = per_class_head(lr)
        b0[np.setdiff1d(np.arange(n_classes), lr.classes_)] = -1e4  # classes absent from training: never predicted by the head
    head = torch.nn.Linear(dim, n_classes)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(W0))
        head.bias.copy_(torch.from_numpy(b0))

    # ---- FT: everything, BN frozen (eval mode), cosine schedule, best epoch on held-out loss
    ad.model.eval()
    groups = [{"params": ad.parameters(), "lr": cfg.lr}, {"params": head.parameters(), "lr": cfg.head_lr}]
    opt: Any = (torch.optim.AdamW(groups, weight_decay=cfg.weight_decay) if cfg.optimizer == "adamw"
                else torch.optim.SGD(groups, momentum=0.9, weight_decay=cfg.weight_decay))
    steps_per_epoch = max(1, int(np.ceil(len(train) / cfg.batch_size)))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch)
    yt = torch.from_numpy(y)
    history: list[dict[str, float]] = []

    def evaluate(idx: np.ndarray) -> tuple[float, float]:
        with torch.no_grad():
            logits = torch.cat([head(ad.features(b, False, rng)) for b in np.array_split(idx, max(1, len(idx) // 64))])
            loss = torch.nn.functional.cross_entropy(logits, yt[idx]).item()
            return loss, float((logits.argmax(1) == yt[idx]).float().mean())

    best = (np.inf, ad.state(), {k: v.detach().clone() for k, v in head.state_dict().items()})
    for epoch in range(cfg.epochs):
        order = rng.permutation(train)
        total = 0.0
        for b in np.array_split(order, steps_per_epoch):
            loss = torch.nn.functional.cross_entropy(head(ad.features(b, cfg.augment, rng)), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        row = {"epoch": epoch + 1, "train_loss": total / len(train)}
        if len(val):
            row["val_loss"], row["val_accuracy"] = evaluate(val)
            if row["val_loss"] < best[0]:
                best = (row["val_loss"], ad.state(), {k: v.detach().clone() for k, v in head.state_dict().items()})
        history.append(row)
    if len(val):
        ad.load_state(best[1])
        head.load_state_dict(best[2])
    ft_state = ad.state()
    W1, b1 = head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy()

    # ---- WiSE-FT: interpolate, alpha on the held-out split
    def mix(a: float) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        st = {k: ((1 - a) * pre_state[k] + a * ft_state[k]) if pre_state[k].is_floating_point() else ft_state[k]
              for k in ft_state}
        return st, (1 - a) * W0 + a * W1, (1 - a) * b0 + a * b1

    scores: dict[str, float] = {}
    alpha = float(cfg.default_alpha)
    if len(val) and len(cfg.alphas):
        best_acc = -1.0
        for a in sorted(float(v) for v in cfg.alphas):
            st, W, b = mix(a)
            ad.load_state(st)
            with torch.no_grad():
                feats = torch.cat([ad.features(bb, False, rng) for bb in np.array_split(val, max(1, len(val) // 64))]).numpy()
            acc = float(((feats @ W.T + b).argmax(1) == y[val]).mean())
            scores[str(a)] = acc
            if acc > best_acc + 1e-9:
                best_acc, alpha = acc, a
    state, W, b = mix(alpha)
    out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="ft-", dir=_mk(default_cache_dir() / "finetuned")))
    enc, path = ad.save(state, out)
    ft_path = None
    if alpha != 1.0 and keep_finetuned:
        from safetensors.torch import save_file

        ft_path = out / "model_finetuned.safetensors"
        save_file({k: v.contiguous() for k, v in ft_state.items()}, str(ft_path))
    return FineTuneResult(enc, W.astype(np.float32), b.astype(np.float32), alpha, path, history, scores,
                          {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
                          ft_path if alpha != 1.0 else path, W1.astype(np.float32), b1.astype(np.float32))


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


class FineTuneClassifier(FewShotMethod):
    """Fine-tune the encoder on the support set (the recipe: :func:`finetune` below).

    Parameters
    ----------
    epochs, lr, head_lr, weight_decay, optimizer, batch_size, val_fraction, lp_ft, alphas, default_alpha, seed
        :class:`FineTuneConfig` fields.
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
