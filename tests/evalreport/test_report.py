"""The evaluation report: its content against the eval's numbers, one self-contained file, `eval --report` and
`transzero report` giving the same page, and one-line errors."""

from __future__ import annotations

import csv
import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from transzero.calibration import expected_calibration_error
from transzero.evalreport import build_report, read_predictions, report_content
from transzero.evalreport.media import audio_data_uri, image_data_uri

from ..test_cli import ENC, run

WORDS = {"sports": ["goal", "match", "team", "striker"], "politics": ["vote", "budget", "senator", "election"],
         "technology": ["phone", "chip", "software", "computer"]}


def _gold(tmp_path: Path, n: int = 45) -> Path:
    """Texts whose words point to their class most of the time (and to another some of the time: errors)."""
    rng = np.random.default_rng(0)
    classes = list(WORDS)
    p = tmp_path / "gold.csv"
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(n):
            gold = classes[i % 3]
            other = classes[(i + 1) % 3]
            words = list(rng.choice(WORDS[gold], 2)) + list(rng.choice(WORDS[other], 1 + (i % 5 == 0) * 2))
            w.writerow([f"item {i}: " + " ".join(words), gold])
        w.writerow(["", "sports"])  # a bad row: reported, not scored
    return p


def _records(n: int, k: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    rng = np.random.default_rng(seed)
    classes = [f"class {i}" for i in range(k)]
    out = []
    for i in range(n):
        p = rng.dirichlet(np.ones(k) * 0.3)
        gold = classes[int(rng.integers(k))]
        out.append({"row": i + 1, "text": f"text {i}", "gold": gold, "label": classes[int(np.argmax(p))],
                    "confidence": float(p.max()), "error": None,
                    "probabilities": {c: float(v) for c, v in zip(classes, p)}})
    return out, classes


def test_content_matches_the_numbers() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    recs, classes = _records(300, 7)
    c = report_content({"classes": classes, "accuracy": 0.1, "kind": "eval"}, recs)
    gold, pred = [r["gold"] for r in recs], [r["label"] for r in recs]
    assert sum(n for _, _, n in c.confusion) == 300
    assert sum(n for g, p, n in c.confusion if g == p) == sum(a == b for a, b in zip(gold, pred))
    p, r, f1, sup = precision_recall_fscore_support(gold, pred, labels=classes, zero_division=0)
    assert [x["recall"] for x in c.per_class] == pytest.approx(list(r))
    assert [x["support"] for x in c.per_class] == list(sup)
    assert c.n_errors == sum(a != b for a, b in zip(gold, pred))
    conf = [e["confidence"] for e in c.errors]
    assert conf == sorted(conf, reverse=True) and len(c.errors) == min(40, c.n_errors)
    P = np.asarray([[r["probabilities"][k] for k in classes] for r in recs])
    y = np.asarray([classes.index(g) for g in gold])
    assert c.reliability["ece"] == pytest.approx(expected_calibration_error(P, y))
    assert sum(b["count"] for b in c.reliability["bins"]) == 300


def test_eval_report_is_one_self_contained_file_and_report_rebuilds_it(tmp_path: Path, capsys) -> None:
    data = _gold(tmp_path)
    page, js, preds = tmp_path / "r.html", tmp_path / "e.json", tmp_path / "p.jsonl"
    code, _, err = run(["eval", str(data), *ENC, "--report", str(page), "--json", str(js), "--predictions", str(preds),
                        "--no-cache", "-q"], capsys)
    assert code == 0, err
    html = page.read_text()
    metrics = json.loads(js.read_text())
    for hook in ("report-metrics", "confusion-matrix", "per-class-table", "errors-list", "reliability-diagram"):
        assert f'data-testid="{hook}"' in html
    # nothing from the network: no external src/href, and a policy that forbids it
    assert not re.search(r'(src|href)="(https?:)?//', html) and "default-src 'none'" in html
    assert f'data-value="{metrics["accuracy"]:.6f}"' in html
    assert metrics["kind"] == "eval" and metrics["command"].startswith("transzero eval ") and metrics["versions"]
    assert metrics["classes"] == sorted(WORDS) and set(metrics["class_prompts"]) == set(WORDS)
    assert html.count('data-testid="error-item"') == round((1 - metrics["accuracy"]) * metrics["n"])
    # `transzero report` from the JSON and its predictions (JSONL, or CSV with --predictions) gives the same page
    again = tmp_path / "again.html"
    code, _, err = run(["report", str(js), "-o", str(again), "-q"], capsys)
    assert code == 0, err
    assert again.read_text() == html
    flat = tmp_path / "p.csv"
    assert run(["eval", str(data), *ENC, "--predictions", str(flat), "--no-cache", "-q"], capsys)[0] == 0
    from_csv = tmp_path / "csv.html"
    assert run(["report", str(js), "-o", str(from_csv), "--predictions", str(flat), "-q"], capsys)[0] == 0
    a, b = report_content(metrics, read_predictions(preds)), report_content(metrics, read_predictions(flat))
    assert (a.confusion, a.per_class, a.n_errors) == (b.confusion, b.per_class, b.n_errors)


def test_curve_report_has_the_learning_curve(tmp_path: Path, capsys) -> None:
    data = _gold(tmp_path)
    page = tmp_path / "c.html"
    code, _, err = run(["eval", str(data), *ENC, "--support", str(data), "--shots", "0,1,2", "--seeds", "2",
                        "--method", "prototype", "--report", str(page), "--no-cache", "-q"], capsys)
    assert code == 0, err
    html = page.read_text()
    assert 'data-testid="learning-curve"' in html and html.count('data-method="prototype"') == 3


@pytest.mark.parametrize("argv,match", [
    (["report", "{js}", "-o", "{tmp}/r.txt"], "a report is an HTML file"),
    (["report", "{tmp}/missing.json", "-o", "{tmp}/r.html"], "no such file"),
    (["report", "{bad}", "-o", "{tmp}/r.html"], "not an eval result"),
    (["report", "{js}", "-o", "{tmp}/r.html", "--predictions", "{classified}"], "no gold labels"),
    (["eval", "{data}", "--encoder", "test-keywords", "--report", "{tmp}/r.pdf"], "a report is an HTML file"),
])
def test_report_errors_are_one_line(argv: list[str], match: str, tmp_path: Path, capsys) -> None:
    data = _gold(tmp_path)
    js = tmp_path / "e.json"
    assert run(["eval", str(data), *ENC, "--json", str(js), "--no-cache", "-q"], capsys)[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    classified = tmp_path / "c.jsonl"
    assert run(["classify", str(data), "--labels", ",".join(WORDS), *ENC, "-o", str(classified), "-q"], capsys)[0] == 0
    args = [a.format(js=js, tmp=tmp_path, bad=bad, classified=classified, data=data) for a in argv]
    code, _, err = run(args, capsys)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err


def test_report_without_predictions_says_how_to_save_them(tmp_path: Path, capsys) -> None:
    data = _gold(tmp_path)
    js = tmp_path / "e.json"
    assert run(["eval", str(data), *ENC, "--json", str(js), "--no-cache", "-q"], capsys)[0] == 0
    code, _, err = run(["report", str(js), "-o", str(tmp_path / "r.html")], capsys)
    assert code == 2 and "--predictions" in err and not (tmp_path / "r.html").exists()


def test_media_are_embedded_small(tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(img)
    uri = image_data_uri(img)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) < 20_000
    clip = tmp_path / "c.wav"
    t = np.arange(16000 * 5) / 16000
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())
    a = audio_data_uri(clip)
    assert a.startswith("data:audio/wav;base64,") and len(a) < 70_000  # 3 s at 8 kHz, 16-bit
    assert image_data_uri(tmp_path / "nope.png") is None and audio_data_uri(img) is None


def test_large_label_sets_stay_small() -> None:
    recs, classes = _records(3080, 200, seed=1)
    html = build_report({"classes": classes, "accuracy": 0.5, "kind": "eval", "n": 3080}, recs)
    assert len(html.encode()) < 3_000_000
    assert "full matrix" in html
