"""Hand-written SVG charts for reports: small, crisp, no library, no network (why: docs/architecture.md)."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["bars", "curve_chart", "reliability_chart"]

COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563")


def _axes(w: int, h: int, pad: int, ylabel: str, xlabel: str) -> list[str]:
    out = [f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" class="axis"/>',
           f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h - pad}" class="axis"/>']
    for k in range(0, 11, 2):
        y = h - pad - (h - pad - 10) * k / 10
        out.append(f'<line x1="{pad - 4}" y1="{y:.1f}" x2="{w - 10}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{pad - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{k / 10:.1f}</text>')
    out.append(f'<text x="{(w + pad) / 2:.0f}" y="{h - 6}" class="label" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text x="12" y="{(h - pad) / 2:.0f}" class="label" text-anchor="middle" '
               f'transform="rotate(-90 12 {(h - pad) / 2:.0f})">{escape(ylabel)}</text>')
    return out


def reliability_chart(rel: dict[str, Any], *, w: int = 360, h: int = 340) -> str:
    """Accuracy per confidence bin (bars, with counts on hover) against the diagonal of perfect calibration."""
    pad = 44
    sx = (w - 10 - pad)
    sy = (h - pad - 10)
    parts = _axes(w, h, pad, "accuracy", "confidence")
    for k in range(0, 11, 2):
        x = pad + sx * k / 10
        parts.append(f'<text x="{x:.1f}" y="{h - pad + 14}" class="tick" text-anchor="middle">{k / 10:.1f}</text>')
    parts.append(f'<line x1="{pad}" y1="{h - pad}" x2="{pad + sx}" y2="10" class="diag"/>')
    for b in rel["bins"]:
        if not b["count"]:
            continue
        x0 = pad + sx * b["lo"]
        bw = sx * (b["hi"] - b["lo"]) - 1
        acc, conf = b["accuracy"], b["confidence"]
        y = h - pad - sy * acc
        tip = (f"confidence {b['lo']:.2f}-{b['hi']:.2f}: {b['count']} items, accuracy {acc:.3f}, "
               f"mean confidence {conf:.3f}")
        parts.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h - pad - y:.1f}" class="bar" '
                     f'data-count="{b["count"]}" data-accuracy="{acc:.6f}"><title>{escape(tip)}</title></rect>')
        yc = h - pad - sy * conf
        parts.append(f'<line x1="{x0:.1f}" y1="{yc:.1f}" x2="{x0 + bw:.1f}" y2="{yc:.1f}" class="gap"/>')
    parts.append(f'<text x="{pad + 8}" y="26" class="label">ECE {100 * rel["ece"]:.2f}% · {rel["n"]} items</text>')
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">{"".join(parts)}</svg>'


def curve_chart(rows: list[dict[str, Any]], *, w: int = 520, h: int = 320) -> str:
    """Few-shot learning curve: mean accuracy (± std) per method over the shots."""
    pad = 44
    shots = sorted({int(r["shots"]) for r in rows})
    methods = list(dict.fromkeys(str(r["method"]) for r in rows))
    sx = (w - 130 - pad) / max(1, len(shots) - 1)
    sy = h - pad - 10

    def px(i: int) -> float:
        return pad + 10 + sx * i

    parts = _axes(w - 120, h, pad, "accuracy", "shots per class")
    for i, k in enumerate(shots):
        parts.append(f'<text x="{px(i):.1f}" y="{h - pad + 14}" class="tick" text-anchor="middle">{k}</text>')
    for m_i, m in enumerate(methods):
        color = COLORS[m_i % len(COLORS)]
        pts = [(shots.index(int(r["shots"])), float(r["accuracy_mean"]), float(r.get("accuracy_std") or 0.0))
               for r in rows if str(r["method"]) == m]
        pts.sort()
        line = " ".join(f"{px(i):.1f},{h - pad - sy * a:.1f}" for i, a, _ in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, a, s in pts:
            parts.append(f'<line x1="{px(i):.1f}" y1="{h - pad - sy * min(1, a + s):.1f}" x2="{px(i):.1f}" '
                         f'y2="{h - pad - sy * max(0, a - s):.1f}" stroke="{color}"/>'
                         f'<circle cx="{px(i):.1f}" cy="{h - pad - sy * a:.1f}" r="3.5" fill="{color}" data-method="'
                         f'{escape(m)}" data-shots="{shots[i]}" data-accuracy="{a:.6f}"><title>{escape(m)}, '
                         f'{shots[i]} shots: {100 * a:.2f}% ± {100 * s:.2f}</title></circle>')
        parts.append(f'<text x="{w - 115}" y="{24 + 16 * m_i}" class="label" fill="{color}">{escape(m)}</text>')
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">{"".join(parts)}</svg>'


def bars(groups: list[tuple[str, list[tuple[str, float]]]], *, unit: str = "%", w: int = 520, bar_h: int = 16,
         scale: float | None = None) -> str:
    """Horizontal bars: per group (a method, a stage) one bar per series; values as fractions (``%``) or seconds."""
    rows = sum(len(series) for _, series in groups) + len(groups)
    h = 14 + rows * (bar_h + 4)
    top = max([v for _, series in groups for _, v in series] + [1e-9])
    full = scale if scale is not None else top
    label_w = 170
    parts = []
    y = 10
    for g_i, (name, series) in enumerate(groups):
        parts.append(f'<text x="0" y="{y + bar_h - 4}" class="label">{escape(name)}</text>')
        y += bar_h + 4
        for s_i, (sname, v) in enumerate(series):
            bw = (w - label_w - 70) * (v / full if full else 0)
            shown = f"{100 * v:.2f}%" if unit == "%" else f"{v:.3g} {unit}"
            parts.append(f'<text x="14" y="{y + bar_h - 4}" class="tick">{escape(sname)}</text>'
                         f'<rect x="{label_w}" y="{y}" width="{max(bw, 0.5):.1f}" height="{bar_h}" '
                         f'fill="{COLORS[s_i % len(COLORS)]}" data-value="{v:.6f}"><title>{escape(name)} · '
                         f'{escape(sname)}: {shown}</title></rect>'
                         f'<text x="{label_w + bw + 6:.1f}" y="{y + bar_h - 4}" class="tick">{shown}</text>')
            y += bar_h + 4
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">{"".join(parts)}</svg>'
