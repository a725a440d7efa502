"""The report opened from disk in a real browser (Playwright driving Debian's Chromium): every panel against the
eval's JSON; a 200-class report's matrix views; load time. Skipped, saying why, where Chromium or Playwright is
missing (``.ci/run`` installs both). ``TRANSZERO_SCREENSHOT=docs/report.png`` also writes the README's screenshot."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser test's driver)")

from ..test_cli import ENC, run  # noqa: E402
from .test_report import _gold, _records  # noqa: E402

CHROMIUM = os.environ.get("TRANSZERO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (apt-get install chromium; .ci/run does)")]


@pytest.fixture(scope="module")
def page():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--disable-dev-shm-usage"])
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(30_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("requestfailed", lambda r: errors.append(f"request {r.url}"))
        pg.js_errors = errors  # type: ignore[attr-defined]
        yield pg
        browser.close()


def _open(page, path: Path) -> float:
    t0 = time.perf_counter()
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return time.perf_counter() - t0


def test_every_panel_agrees_with_the_json(page, tmp_path: Path, capsys) -> None:
    data = _gold(tmp_path)
    report, js = tmp_path / "report.html", tmp_path / "e.json"
    code, _, err = run(["eval", str(data), *ENC, "--report", str(report), "--json", str(js), "--transductive",
                        "--no-cache", "-q"], capsys)
    assert code == 0, err
    m = json.loads(js.read_text())
    seconds = _open(page, report)
    assert seconds < 2.0 and not page.js_errors, page.js_errors
    metrics = page.get_by_test_id("report-metrics")
    for key in ("accuracy", "macro_f1", "ece"):
        value = float(metrics.locator(f"[data-metric='{key}']").get_attribute("data-value"))
        assert value == pytest.approx(m[key], abs=1e-6)
        assert f"{100 * m[key]:.2f}%" in metrics.locator(f"[data-metric='{key}']").inner_text()
    assert page.get_by_test_id("report-command").inner_text().startswith("transzero eval ")
    counts = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=confusion-matrix] td.cell'))
        .map(c => [+c.dataset.gold, +c.dataset.pred, +c.dataset.count])""")
    assert sum(n for *_, n in counts) == m["n"]
    assert sum(n for g, p, n in counts if g == p) == round(m["accuracy"] * m["n"])
    cells = page.get_by_test_id("confusion-matrix").locator("td.cell")
    assert "→" in cells.first.get_attribute("title")  # counts on hover
    rows = page.get_by_test_id("per-class-table").locator("tbody tr")
    assert rows.count() == m["n_classes"]
    for r in rows.all():
        name = r.get_attribute("data-class")
        recall = float(r.locator("td").nth(2).get_attribute("data-v"))
        assert recall == pytest.approx(m["per_class_accuracy"][name], abs=1e-6)
    page.get_by_test_id("per-class-table").locator("th", has_text="recall").click()
    shown = [float(r.locator("td").nth(2).get_attribute("data-v")) for r in rows.all()]
    assert shown == sorted(shown)
    n_errors = round((1 - m["accuracy"]) * m["n"])
    assert page.get_by_test_id("errors-list").get_by_test_id("error-item").count() == min(40, n_errors)
    bars = page.get_by_test_id("reliability-diagram").locator("rect.bar")
    assert sum(int(b.get_attribute("data-count")) for b in bars.all()) == m["n"]
    assert f"ECE {100 * m['ece']:.2f}%" in page.get_by_test_id("reliability-diagram").inner_text()
    panel = page.get_by_test_id("transduction-panel").inner_text()
    assert f"{100 * m['inductive']['accuracy']:.2f}%" in panel and f"changed {m['transduction']['changed']}" in panel
    shot = os.environ.get("TRANSZERO_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=False)


@pytest.mark.parametrize("k", [77, 200])
def test_a_large_label_set_opens_fast_and_its_matrix_reads(page, tmp_path: Path, k: int) -> None:
    from transzero.evalreport import write_report

    recs, classes = _records(3080, k, seed=k)
    acc = sum(r["gold"] == r["label"] for r in recs) / len(recs)
    path = write_report(tmp_path / "big.html", {"classes": classes, "accuracy": acc, "kind": "eval", "n": 3080}, recs)
    assert path.stat().st_size < 3_000_000
    seconds = _open(page, path)
    assert seconds < 2.0 and not page.js_errors, page.js_errors
    matrix = page.get_by_test_id("confusion-matrix")
    assert matrix.locator("tbody tr").count() == 20  # the most confused classes first
    matrix.locator("#matrix-full").check()
    assert matrix.locator("tbody tr").count() == k
    total = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=confusion-matrix] td.cell'))
        .reduce((s, c) => s + (+c.dataset.count), 0)""")
    assert total == 3080
    matrix.locator("#matrix-sort").select_option("name")
    names = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=confusion-matrix] tbody tr th'))
        .map(th => th.textContent)""")
    assert len(names) == k and names == sorted(names)
