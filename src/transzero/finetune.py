"""End-to-end fine-tuning of an encoder on labelled support examples, keeping what it knew (LP-FT + WiSE-FT).

The recipe and its steps are documented in :mod:`transzero.methods.finetune`, beside the ``finetune`` method that
runs it (one fine-tuning module, in the methods layer); this module keeps the public import path.
"""

from __future__ import annotations

from .methods.finetune import FineTuneConfig, FineTuneResult, finetune

__all__ = ["FineTuneConfig", "FineTuneResult", "finetune"]
