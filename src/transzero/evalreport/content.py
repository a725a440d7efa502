"""What a report shows, computed from an eval's metrics and its prediction records (no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReportContent", "report_content"]

#: headline metrics, in this order, when the eval has them (name -> label)
HEADLINE = (("accuracy", "accuracy"), ("macro_f1", "macro F1"), ("mean_per_class_accuracy", "mean per-class accuracy"),
            ("ece", "ECE"), ("harmonic_mean", "GZSL H"), ("seen_accuracy", "seen accuracy"),
            ("unseen_accuracy", "unseen accuracy"), ("zsl_accuracy", "ZSL accuracy"))


@dataclass
class ReportContent:
    """Everything a report page shows, as plain values (``report.json`` could hold it)."""

    title: str
    kind: str
    modality: str
    #: (label, value as a fraction or a number, key in the eval JSON)
    headline: list[tuple[str, float, str]]
    facts: list[tuple[str, str]]
    command: str | None
    versions: dict[str, str]
    classes: list[str]
    #: per class: class, precision, recall, f1, support, prompts
    per_class: list[dict[str, Any]] = field(default_factory=list)
    #: sparse confusion counts [gold index, predicted index, count]; predicted index -1 = rejected ("none")
    confusion: list[list[int]] = field(default_factory=list)
    #: the most confident errors: item (text or path), gold, label, confidence, runner-up
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_errors: int = 0
    #: reliability bins (count, confidence, accuracy) and the ECE they give
    reliability: dict[str, Any] | None = None
    curve: list[dict[str, Any]] | None = None
    gzsl: list[dict[str, Any]] | None = None
    transduction: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0
    n_scored: int = 0
    skipped: list[str] = field(default_factory=list)


def _fact(v: Any) -> str:
    if isinstance(v, dict):  # routing decisions: what was chosen, and why
        return " · ".join(str(v[k]) for k in ("route", "why") if v.get(k) is not None) or "–"
    return str(v)


def _modality(metrics: dict[str, Any], records: list[dict[str, Any]] | None) -> str:
    if metrics.get("modality") in ("text", "image", "audio"):
        return str(metrics["modality"])
    from ..data.audio import AUDIO_SUFFIXES
    from ..data.images import IMAGE_SUFFIXES

    items = [r["text"] for r in records or [] if r.get("text")][:20]
    suffixes = {Path(t).suffix.lower() for t in items if len(t) < 1024}
    if suffixes and suffixes <= set(IMAGE_SUFFIXES):
        return "image"
    if suffixes and suffixes <= set(AUDIO_SUFFIXES):
        return "audio"
    return "text"


def report_content(metrics: dict[str, Any], records: list[dict[str, Any]] | None, *,
                   max_errors: int = 40) -> ReportContent:
    """The report of an eval (any kind): its metrics (the ``--json`` content) and, for a plain eval, its prediction
    records with gold labels (:func:`~transzero.evalreport.records.normalise_record` shape)."""
    kind = str(metrics.get("kind") or ("curve" if "curve" in metrics else "gzsl" if "results" in metrics else "eval"))
    data = str(metrics.get("data", ""))
    title = f"{Path(data).name or 'evaluation'} · {metrics.get('encoder', '?')} + " \
            f"{metrics.get('method') or ', '.join(metrics.get('methods', [])) or '?'}"
    headline = [(label, float(metrics[k]), k) for k, label in HEADLINE
                if isinstance(metrics.get(k), (int, float)) and np.isfinite(metrics[k])]
    facts = [(k, _fact(metrics[k])) for k in ("data", "encoder", "method", "n", "n_classes", "n_rows", "n_skipped",
                                              "preset", "language", "chosen_method", "predictions_file")
             if metrics.get(k) not in (None, "")]
    out = ReportContent(title=title, kind=kind, modality=_modality(metrics, records), headline=headline, facts=facts,
                        command=metrics.get("command"), versions=dict(metrics.get("versions") or {}),
                        classes=[], timings={k: float(v) for k, v in (metrics.get("timings") or {}).items()
                                             if isinstance(v, (int, float))},
                        n_rows=int(metrics.get("n_rows") or 0),
                        skipped=[f"row {s.get('row')}: {s.get('error')}" if isinstance(s, dict) else str(s)
                                 for s in list(metrics.get("skipped") or [])[:50]])
    if isinstance(metrics.get("curve"), list):
        out.curve = metrics["curve"]
    if isinstance(metrics.get("results"), list):
        out.gzsl = metrics["results"]
    if "inductive" in metrics or "transduction" in metrics:
        out.transduction = {"inductive": metrics.get("inductive"), "transductive": {
            k: metrics.get(k) for k in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece")},
            **(metrics.get("transduction") or {})}
    if records:
        _from_records(out, metrics, records, max_errors)
    return out


def _from_records(out: ReportContent, metrics: dict[str, Any], records: list[dict[str, Any]], max_errors: int) -> None:
    from sklearn.metrics import precision_recall_fscore_support

    from ..calibration import expected_calibration_error, reliability_bins

    classes = [str(c) for c in (metrics.get("classes") or [])]
    if not classes:
        seen = next((r["probabilities"] for r in records if r.get("probabilities")), None)
        classes = list(seen) if seen else sorted({r["gold"] for r in records if r.get("gold")})
    out.classes = classes
    index = {c: i for i, c in enumerate(classes)}
    scored = [r for r in records if r.get("error") is None and r.get("label") is not None and r.get("gold") is not None]
    out.n_scored = len(scored)
    if not out.n_rows:
        out.n_rows = len(records)
    in_scope = [r for r in scored if r["gold"] in index]
    gold = [r["gold"] for r in in_scope]
    pred = [r["label"] for r in in_scope]
    if in_scope:
        p, rc, f1, sup = precision_recall_fscore_support(gold, pred, labels=classes, zero_division=0)
    else:
        p = rc = f1 = sup = np.zeros(len(classes))
    prompts = metrics.get("class_prompts") or {}
    out.per_class = [{"class": c, "precision": float(p[i]), "recall": float(rc[i]), "f1": float(f1[i]),
                      "support": int(sup[i]), "prompts": list(prompts.get(c, []))[:3]} for i, c in enumerate(classes)]
    counts: dict[tuple[int, int], int] = {}
    for g, y in zip(gold, pred):
        key = (index[g], index.get(y, -1))
        counts[key] = counts.get(key, 0) + 1
    out.confusion = [[g, y, n] for (g, y), n in sorted(counts.items())]
    wrong = [r for r in in_scope if r["label"] != r["gold"]]
    out.n_errors = len(wrong)
    wrong.sort(key=lambda r: -(r.get("confidence") or 0.0))
    for r in wrong[:max_errors]:
        probs = r.get("probabilities") or {}
        ranked = sorted(probs.items(), key=lambda kv: -(kv[1] or 0.0))
        gold_p = probs.get(r["gold"])
        out.errors.append({"row": r.get("row"), "item": r.get("text") or "", "gold": r["gold"], "label": r["label"],
                           "confidence": r.get("confidence"), "gold_probability": gold_p,
                           "top": [[c, v] for c, v in ranked[:3]]})
    with_p = [r for r in in_scope if r.get("probabilities") and all(r["probabilities"].get(c) is not None for c in classes)]
    if with_p:
        P = np.asarray([[r["probabilities"][c] for c in classes] for r in with_p], dtype=np.float64)
        y = np.asarray([index[r["gold"]] for r in with_p])
        b = reliability_bins(P, y, 15)
        m = b["count"] > 0
        ece = expected_calibration_error(P, y, 15)  # the eval's own ECE, on the same bins
        out.reliability = {"bins": [{"lo": i / 15, "hi": (i + 1) / 15, "count": int(b["count"][i]),
                                     "confidence": float(b["confidence"][i]) if m[i] else None,
                                     "accuracy": float(b["accuracy"][i]) if m[i] else None} for i in range(15)],
                           "ece": ece, "n": len(with_p)}
