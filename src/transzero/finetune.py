"""End-to-end fine-tuning of an encoder on labelled support examples, keeping what it knew.

Recipe (each step documented in docs/benchmarks.md with its numbers):

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

The recipe lives in :mod:`transzero.methods.finetune`, beside the ``finetune`` method that runs it (one
fine-tuning module, in the methods layer); this module keeps the public import path.
"""

from __future__ import annotations

from .methods.finetune import FineTuneConfig, FineTuneResult, finetune

__all__ = ["FineTuneConfig", "FineTuneResult", "finetune"]
