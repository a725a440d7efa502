"""The report page: one HTML file with inline CSS, JS and SVG (:func:`build_report`, :func:`write_report`)."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

from .content import ReportContent, report_content
from .media import audio_data_uri, image_data_uri, locate
from .svg import bars, curve_chart, reliability_chart

__all__ = ["build_report", "write_report"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:4px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:14px 0}
.muted{color:#6b7280}.cmd{font-family:ui-monospace,Menlo,monospace;font-size:12px;background:#f3f4f6;padding:6px 8px;
border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #f3f4f6;text-align:left}
th{cursor:pointer;user-select:none;background:#f9fafb;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.matrix{overflow:auto;max-height:640px}.matrix table{font-size:11px}.matrix td{width:22px;height:18px;text-align:center;padding:0;
border:1px solid #fff}.matrix th{font-weight:normal;white-space:nowrap;max-width:160px;overflow:hidden;text-overflow:ellipsis}
.matrix th.col{writing-mode:vertical-rl;transform:rotate(180deg);height:120px;vertical-align:bottom}
.err{display:flex;gap:12px;align-items:flex-start;border-bottom:1px solid #f3f4f6;padding:6px 0}
.err .item{flex:1;white-space:pre-wrap;word-break:break-word}.err img{border-radius:4px}.tag{font-size:12px;padding:1px 6px;
border-radius:10px;background:#fee2e2;color:#991b1b;margin-right:4px}.tag.gold{background:#dcfce7;color:#166534}
svg .axis{stroke:#9ca3af}svg .grid{stroke:#f3f4f6}svg .diag{stroke:#9ca3af;stroke-dasharray:4 3}svg .bar{fill:#93c5fd}
svg .gap{stroke:#dc2626;stroke-width:2}svg .tick{font-size:10px;fill:#6b7280}svg .label{font-size:11px;fill:#374151}
.controls{margin:6px 0;display:flex;gap:12px;align-items:center;flex-wrap:wrap}.pairs li{margin:2px 0}
"""

_JS = r"""
(function(){
const D = JSON.parse(document.getElementById('report-data').textContent);
const K = D.classes.length;
function sortTable(table){
  table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
    const body = table.tBodies[0], rows = Array.from(body.rows);
    const asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    rows.sort((a, b) => { const x = a.cells[col].dataset.v ?? a.cells[col].textContent, y = b.cells[col].dataset.v ?? b.cells[col].textContent;
      const nx = parseFloat(x), ny = parseFloat(y);
      const c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? c : -c; });
    rows.forEach(r => body.appendChild(r)); }));
}
document.querySelectorAll('table.sortable').forEach(sortTable);
const box = document.getElementById('matrix');
if (box && K) {
  const M = new Map(); const rowTotal = new Array(K).fill(0), rowErr = new Array(K).fill(0), colErr = new Array(K).fill(0);
  let none = new Array(K).fill(0);
  for (const [g, p, n] of D.confusion) { rowTotal[g] += n; if (p < 0) { none[g] += n; rowErr[g] += n; continue; }
    M.set(g * K + p, n); if (g !== p) { rowErr[g] += n; colErr[p] += n; } }
  const hasNone = none.some(v => v > 0);
  const recall = i => rowTotal[i] ? (M.get(i * K + i) || 0) / rowTotal[i] : 1;
  const byErrors = Array.from({length: K}, (_, i) => i).sort((a, b) => (rowErr[b] + colErr[b]) - (rowErr[a] + colErr[a]) || a - b);
  const TOP = Math.min(K, 20);
  const state = {full: K <= TOP, sort: 'errors'};
  function classesShown(){ const base = state.full ? Array.from({length: K}, (_, i) => i) : byErrors.slice(0, TOP).sort((a, b) => a - b); return base; }
  function order(rows){
    const r = rows.slice();
    if (state.sort === 'name') r.sort((a, b) => D.classes[a].localeCompare(D.classes[b]));
    else if (state.sort === 'recall') r.sort((a, b) => recall(a) - recall(b) || a - b);
    else r.sort((a, b) => rowErr[b] - rowErr[a] || a - b);
    return r; }
  function render(){
    const cols = classesShown(), rows = order(cols);
    const esc = s => s.replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
    let h = '<table data-testid="confusion-table"><thead><tr><th>gold \\ predicted</th>';
    for (const c of cols) h += '<th class="col" title="' + esc(D.classes[c]) + '">' + esc(D.classes[c]) + '</th>';
    if (hasNone) h += '<th class="col">' + esc(D.none_label) + '</th>';
    h += '</tr></thead><tbody>';
    for (const g of rows) {
      h += '<tr><th title="' + esc(D.classes[g]) + ' (' + rowTotal[g] + ' items, recall ' + (100 * recall(g)).toFixed(1) + '%)">' + esc(D.classes[g]) + '</th>';
      const cells = hasNone ? cols.concat([-1]) : cols;
      for (const p of cells) {
        const n = p < 0 ? none[g] : (M.get(g * K + p) || 0);
        const rate = rowTotal[g] ? n / rowTotal[g] : 0;
        const bg = n === 0 ? '#fff' : (g === p ? 'rgba(5,150,105,' : 'rgba(220,38,38,') + (0.12 + 0.88 * rate).toFixed(3) + ')';
        const tip = esc(D.classes[g]) + ' \u2192 ' + esc(p < 0 ? D.none_label : D.classes[p]) + ': ' + n;
        h += '<td class="cell" data-count="' + n + '" data-gold="' + g + '" data-pred="' + p + '" title="' + tip + '" style="background:' + bg + '">' + (n ? n : '') + '</td>';
      }
      h += '</tr>';
    }
    box.innerHTML = h + '</tbody></table>';
    document.getElementById('matrix-note').textContent = state.full ? ('all ' + K + ' classes') :
      ('the ' + TOP + ' classes with the most errors (of ' + K + '); "full matrix" shows all');
  }
  const full = document.getElementById('matrix-full'), sortSel = document.getElementById('matrix-sort');
  if (full) { full.checked = state.full; full.disabled = K <= TOP; full.addEventListener('change', () => { state.full = full.checked; render(); }); }
  if (sortSel) sortSel.addEventListener('change', () => { state.sort = sortSel.value; render(); });
  render();
}
document.body.dataset.ready = '1';
})();
"""


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.2f}%"


def _section(testid: str, title: str, body: str, note: str = "") -> str:
    n = f'<p class="muted">{note}</p>' if note else ""
    return f'<section data-testid="{testid}"><h2>{escape(title)}</h2>{n}{body}</section>'


def _headline(c: ReportContent) -> str:
    cards = "".join(f'<div class="card" data-metric="{escape(key)}" data-value="{v:.6f}"><b>'
                    f'{_pct(v) if key != "n" else int(v)}</b><span>{escape(label)}</span></div>'
                    for label, v, key in c.headline)
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in c.facts)
    cmd = f'<div class="cmd" data-testid="report-command">{escape(c.command)}</div>' if c.command else ""
    versions = " · ".join(f"{escape(k)} {escape(v)}" for k, v in c.versions.items())
    return (f'<section data-testid="report-metrics"><h2>Results</h2><div class="cards">{cards}</div>'
            f'<table style="margin-top:10px">{facts}</table>{cmd}'
            f'<p class="muted">{versions}</p></section>')


def _per_class(c: ReportContent) -> str:
    rows = []
    for r in c.per_class:
        prompts = "; ".join(r["prompts"])
        rows.append(f'<tr data-class="{escape(r["class"])}"><td>{escape(r["class"])}</td>'
                    f'<td class="num" data-v="{r["precision"]:.6f}">{_pct(r["precision"])}</td>'
                    f'<td class="num" data-v="{r["recall"]:.6f}">{_pct(r["recall"])}</td>'
                    f'<td class="num" data-v="{r["f1"]:.6f}">{_pct(r["f1"])}</td>'
                    f'<td class="num" data-v="{r["support"]}">{r["support"]}</td>'
                    f'<td class="muted">{escape(prompts)}</td></tr>')
    return _section("per-class-table", "Per class", '<div style="overflow:auto;max-height:560px"><table class="sortable">'
                    "<thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
                    f"<th>prompts / description</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>",
                    "Click a column to sort.")


def _confusion(c: ReportContent) -> str:
    pairs = sorted((n, g, p) for g, p, n in c.confusion if g != p)[::-1][:15]
    names = c.classes + ["(rejected)"]
    top = "".join(f'<li><b>{n}</b> × {escape(c.classes[g])} → {escape(names[p])}</li>' for n, g, p in pairs)
    controls = ('<div class="controls"><label>sort rows by <select id="matrix-sort"><option value="errors">errors'
                '</option><option value="recall">recall</option><option value="name">class name</option></select>'
                '</label><label><input type="checkbox" id="matrix-full"> full matrix</label>'
                '<span class="muted" id="matrix-note"></span></div>')
    body = (f'<p class="muted">Most confused pairs (gold → predicted):</p><ol class="pairs">{top or "<li>none</li>"}</ol>'
            f'{controls}<div class="matrix" id="matrix"></div>')
    return _section("confusion-matrix", "Confusion matrix", body, "Counts on hover; rows are gold classes.")


def _errors(c: ReportContent, data: str | None, max_media: int) -> str:
    items = []
    for k, e in enumerate(c.errors):
        item = e["item"]
        shown = f'<div class="item">{escape(item[:600])}{"…" if len(item) > 600 else ""}</div>'
        if c.modality in ("image", "audio") and k < max_media:
            path = locate(item, data)
            uri = None if path is None else (image_data_uri(path) if c.modality == "image" else audio_data_uri(path))
            if uri and c.modality == "image":
                shown = f'<img src="{uri}" alt="{escape(item)}"><div class="item muted">{escape(item)}</div>'
            elif uri:
                shown = f'<div class="item"><audio controls preload="none" src="{uri}"></audio><br>' \
                        f'<span class="muted">{escape(item)}</span></div>'
        top = ", ".join(f"{escape(cl)} {_pct(v)}" for cl, v in e["top"])
        conf = "–" if e["confidence"] is None else _pct(e["confidence"])
        gold_p = "" if e["gold_probability"] is None else f" (gold at {_pct(e['gold_probability'])})"
        items.append(f'<div class="err" data-testid="error-item" data-gold="{escape(e["gold"])}" '
                     f'data-label="{escape(e["label"])}" data-confidence="{e["confidence"] or 0:.6f}">{shown}'
                     f'<div style="min-width:260px"><span class="tag gold">gold {escape(e["gold"])}</span>'
                     f'<span class="tag">predicted {escape(e["label"])}</span><br><span class="muted">confidence '
                     f'{conf}{gold_p}<br>top: {top}</span></div></div>')
    note = f"The {len(c.errors)} most confident of {c.n_errors} errors." if c.n_errors else "No errors."
    return _section("errors-list", "Most confident errors", "".join(items), note)


def _transduction(t: dict[str, Any]) -> str:
    ind, tra = t.get("inductive") or {}, t.get("transductive") or {}
    rows = "".join(f'<tr><td>{escape(k)}</td><td class="num">{_pct(ind.get(k))}</td><td class="num">{_pct(tra.get(k))}'
                   f'</td></tr>' for k in ("accuracy", "macro_f1", "mean_per_class_accuracy", "ece")
                   if ind.get(k) is not None or tra.get(k) is not None)
    changes = ""
    if t.get("changed") is not None:
        changes = (f'<p>The adaptation changed {t["changed"]} labels: {t.get("fixed", 0)} became right, '
                   f'{t.get("broken", 0)} became wrong.</p>')
    steps = " → ".join(escape(str(s)) for s in t.get("steps") or [])
    decisions = "".join(f'<li><b>{escape(str(d.get("step", "")))}</b>: {escape(str(d.get("why", d)))}</li>'
                        for d in t.get("decisions") or [] if isinstance(d, dict))
    fallback = f'<p class="muted">{escape(str(t["fallback"]))}</p>' if t.get("fallback") else ""
    body = (f'<table><thead><tr><th>metric</th><th>inductive</th><th>transductive</th></tr></thead><tbody>{rows}'
            f'</tbody></table>{changes}<p>steps: {steps or "–"} over {t.get("n_items", "?")} items</p>'
            f'<ul>{decisions}</ul>{fallback}')
    return _section("transduction-panel", "Transduction", body)


def _gzsl(results: list[dict[str, Any]]) -> str:
    groups = [(str(r.get("method", "?")), [(k.replace("_", " "), float(r[k])) for k in
              ("seen_accuracy", "unseen_accuracy", "harmonic_mean", "zsl_accuracy") if isinstance(r.get(k), (int, float))])
              for r in results]
    return _section("gzsl-panel", "Generalized zero-shot: seen, unseen, H", bars(groups, scale=1.0))


def build_report(metrics: dict[str, Any], records: list[dict[str, Any]] | None = None, *, max_errors: int = 40,
                 max_media: int = 24) -> str:
    """The report page of an eval: its metrics (the ``--json`` content) and prediction records with gold labels."""
    c = report_content(metrics, records, max_errors=max_errors)
    data = metrics.get("data")
    parts = [f'<h1>{escape(c.title)}</h1><p class="muted">transzero evaluation report · {escape(c.kind)} · '
             f'{c.n_rows} rows{f", {c.n_scored} scored" if c.n_scored else ""}</p>', _headline(c)]
    if c.per_class:
        parts.append(_confusion(c))
        parts.append(_per_class(c))
        parts.append(_errors(c, str(data) if data else None, max_media))
    if c.reliability is not None:
        parts.append(_section("reliability-diagram", "Reliability", reliability_chart(c.reliability),
                              "Accuracy per confidence bin; the red line is the bin's mean confidence."))
    if c.curve:
        parts.append(_section("learning-curve", "Few-shot learning curve", curve_chart(c.curve)))
    if c.gzsl:
        parts.append(_gzsl(c.gzsl))
    if c.transduction is not None:
        parts.append(_transduction(c.transduction))
    if c.timings:
        stages = [(k, [("seconds", v)]) for k, v in c.timings.items() if k != "total" and v > 0]
        total = c.timings.get("total")
        parts.append(_section("timings", "Timings by stage", bars(stages, unit="s") if stages else "",
                              f"total {total:.2f} s" if total is not None else ""))
    if c.skipped:
        parts.append(_section("skipped", "Skipped rows", "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in c.skipped)
                              + "</ul>"))
    payload = {"classes": c.classes, "confusion": c.confusion, "none_label": "(rejected)",
               "metrics": {key: v for _, v, key in c.headline}}
    blob = json.dumps(payload, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; media-src data:; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f"<title>{escape(c.title)}</title><style>{_CSS}</style></head><body><main>{''.join(parts)}</main>"
            f'<script type="application/json" id="report-data">{blob}</script><script>{_JS}</script></body></html>')


def write_report(path: str | os.PathLike[str], metrics: dict[str, Any], records: list[dict[str, Any]] | None = None,
                 **kw: Any) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically."""
    from ..io import atomic_path

    page = build_report(metrics, records, **kw)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)
