"""``transzero demo``: classify a few bundled texts (no arguments needed)."""

from __future__ import annotations

import time
from typing import Optional

from rich.table import Table

from ._common import EncoderOpt, out

DEMO_LABELS = ["sports", "politics", "technology", "business", "health"]
DEMO_TEXTS = [
    "The striker scored twice as United won the derby 3-1.",
    "Parliament passed the budget after a long night of debate.",
    "The new phone ships with a faster chip and a better camera.",
    "Shares of the retailer fell 8% after weak quarterly earnings.",
    "Doctors recommend thirty minutes of exercise a day to lower blood pressure.",
    "The senator announced she will run for governor next year.",
    "Engineers released an open-source compiler that runs on GPUs.",
    "The tennis champion withdrew from the tournament with a wrist injury.",
]


def demo(encoder: Optional[str] = EncoderOpt) -> None:
    """Classify a few bundled example texts into labels it prints (no arguments needed)."""
    from ..classifier import ZeroShotClassifier

    t0 = time.perf_counter()
    out.print(f"labels: {', '.join(DEMO_LABELS)}", highlight=False)
    clf = ZeroShotClassifier(DEMO_LABELS, encoder=encoder).fit()
    proba = clf.predict_proba(DEMO_TEXTS)
    t = Table(title=f"zero-shot with {clf.encoder_.name} (no training examples)")
    t.add_column("text")
    t.add_column("label")
    t.add_column("confidence", justify="right")
    for text, p in zip(DEMO_TEXTS, proba):
        k = int(p.argmax())
        t.add_row(text, str(clf.classes_[k]), f"{p[k]:.2f}")
    out.print(t)
    out.print(f"done in {time.perf_counter() - t0:.1f}s. Try: transzero classify my.txt --labels \"a,b,c\"", highlight=False)
