"""Language detection and the preset -> encoder routing, on every front end (CLI, service, Python)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import pytest

from transzero import ZeroShotClassifier
from transzero.encoders import list_encoders, register_encoder
from transzero.errors import InputError
from transzero.language import (MULTILINGUAL_MIN_SHARE, FastTextLanguageDetector, LanguageReport, detect_language,
                                set_language_detector)
from transzero.defaults import text_encoder_for
from transzero.presets import PRESETS, Preset, check_preset

from .conftest import TOPIC_LABELS, TOPIC_TEXTS, KeywordEncoder
from .test_cli import run as _run


class MarkerDetector:
    """A tiny fake: a text is German when it holds 'der', French with 'le', else English (score 0.9);
    empty-ish texts score 0.2 (not confident)."""

    name = "marker"

    def __init__(self) -> None:
        self.seen = 0

    def detect(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        self.seen += len(texts)
        out = []
        for t in texts:
            words = t.lower().split()
            if len(words) < 2:
                out.append(("en", 0.2))
            elif "der" in words:
                out.append(("de", 0.9))
            elif "le" in words:
                out.append(("fr", 0.9))
            else:
                out.append(("en", 0.9))
        return out


if "test-multilingual" not in list_encoders():
    register_encoder("test-multilingual", modality="text", description="second keyword encoder for routing tests")(
        lambda **kw: KeywordEncoder(name="test-multilingual", **kw))


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> MarkerDetector:
    det = MarkerDetector()
    set_language_detector(det)
    monkeypatch.setitem(PRESETS, "fast", Preset("fast", "test-keywords", "test-multilingual", "test"))
    monkeypatch.setitem(PRESETS, "accurate", Preset("accurate", "test-keywords", "test-multilingual", "test"))
    from transzero import defaults

    monkeypatch.setitem(defaults.DEFAULT_ENCODERS, "text", "test-keywords")
    yield det
    set_language_detector(None)


def test_report_counts_confident_items_and_routes_by_share(marker: MarkerDetector) -> None:
    english = ["the match was won by the home team"] * 19
    r = detect_language(english + ["der Markt fiel heute stark"])
    assert r.counts == {"en": 19, "de": 1} and r.share_non_english == pytest.approx(0.05)
    assert not r.multilingual and r.route == "en"  # 5 % is below the threshold: detector noise on English sets
    r = detect_language(english[:8] + ["der Markt fiel heute stark"] * 2)
    assert r.share_non_english >= MULTILINGUAL_MIN_SHARE and r.multilingual
    assert r.language == "en" and r.route == "mul"  # English is most common but a fifth is not: a mix
    r = detect_language(["der Markt fiel heute"] * 5 + ["le marché a chuté"] * 3)
    assert (r.language, r.route) == ("de", "de")
    # unconfident and non-text items count as not English-or-other: they never route by themselves
    r = detect_language(["ok", "hm", "", None, 3])  # type: ignore[list-item]
    assert r.n_items == 2 and r.counts == {} and r.route == "en" and r.language == "und"
    assert detect_language([]).route == "en"
    d = r.to_dict()
    assert set(d) >= {"language", "route", "multilingual", "share_non_english", "counts", "n_items", "detector", "why"}


def test_detection_samples_evenly(marker: MarkerDetector) -> None:
    texts = ["the match was won by the home team"] * 5000 + ["der Markt fiel heute stark"] * 5000
    r = detect_language(texts, sample=100)
    assert marker.seen == 100 and r.counts == {"en": 50, "de": 50}  # spread over the input, not its head


def test_presets_map_language_to_encoder(marker: MarkerDetector) -> None:
    assert text_encoder_for("fast", "en") == "test-keywords"
    assert text_encoder_for("fast", "de") == text_encoder_for("accurate", "mul") == "test-multilingual"
    assert text_encoder_for(None, None) == "test-keywords"  # the documented default (DEFAULT_ENCODERS["text"])
    with pytest.raises(InputError, match="unknown preset 'turbo'; choose one of fast, accurate"):
        check_preset("turbo")


def test_python_api_takes_preset_and_language(marker: MarkerDetector) -> None:
    clf = ZeroShotClassifier(TOPIC_LABELS, language="de").fit()
    assert clf.encoder_.name == "test-multilingual"
    clf = ZeroShotClassifier(TOPIC_LABELS, preset="fast").fit()
    assert clf.encoder_.name == "test-keywords"
    assert ZeroShotClassifier(TOPIC_LABELS, encoder="test-multilingual", language="en").fit().encoder_.name == \
        "test-multilingual"  # a named encoder wins
    assert clf.get_params()["preset"] == "fast"


def _gold(path: Path, german: bool) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for label, text in TOPIC_TEXTS.items():
            w.writerow([("der " if german else "") + text, label])
    return path


def test_cli_eval_routes_by_the_items_language(marker: MarkerDetector, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    js = tmp_path / "r.json"
    code, _, err = _run(["eval", str(_gold(tmp_path / "de.csv", True)), "--json", str(js), "--preset", "fast"], capsys)
    assert code == 0, err
    r = json.loads(js.read_text())
    assert r["encoder"] == "test-multilingual" and r["preset"] == "fast"
    assert r["language"]["route"] == "de" and r["language"]["detected"] is True
    assert "not English" in err  # the decision is a note
    code, _, err = _run(["eval", str(_gold(tmp_path / "en.csv", False)), "--json", str(js)], capsys)
    assert code == 0, err
    r = json.loads(js.read_text())
    assert r["encoder"] == "test-keywords" and r["language"]["route"] == "en"
    # --language skips detection
    code, _, err = _run(["eval", str(tmp_path / "en.csv"), "--json", str(js), "--language", "fr"], capsys)
    r = json.loads(js.read_text())
    assert code == 0 and r["encoder"] == "test-multilingual" and r["language"] == {"language": "fr", "route": "fr",
                                                                                  "detected": False}


def test_cli_classify_routes_sharded_jobs_too(marker: MarkerDetector, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "items.txt"
    items.write_text("\n".join("der " + t for t in TOPIC_TEXTS.values()) + "\n")
    js = tmp_path / "s.json"
    code, _, err = _run(["classify", str(items), "-l", ",".join(TOPIC_LABELS), "-o", str(tmp_path / "out") + "/",
                         "--json", str(js), "-q"], capsys)
    assert code == 0, err
    r = json.loads(js.read_text())
    assert r["encoder"] == "test-multilingual" and r["language"]["route"] == "de"


@pytest.mark.parametrize("argv, match", [
    (["--preset", "turbo"], "unknown preset 'turbo'"),
    (["--preset", "fast", "--encoder", "test-keywords"], "--preset/--language choose the text encoder"),
    (["--language", "not a code"], "--language must be a language code"),
])
def test_cli_preset_errors_are_one_line(marker: MarkerDetector, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        argv: list[str], match: str) -> None:
    code, _, err = _run(["eval", str(_gold(tmp_path / "en.csv", False)), *argv], capsys)
    assert code == 2 and match in err and "Traceback" not in err


def test_service_routes_requests(marker: MarkerDetector, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from transzero.serve import ServeSettings, create_app

    settings = ServeSettings(store=tmp_path / "store", cache_dir=tmp_path / "cache", preset="fast")
    with TestClient(create_app(settings)) as c:
        body = {"labels": list(TOPIC_LABELS), "items": ["der " + t for t in TOPIC_TEXTS.values()]}
        r = c.post("/v1/classify", json=body)
        assert r.status_code == 200, r.text
        assert (r.json()["encoder"], r.json()["preset"], r.json()["language"]) == ("test-multilingual", "fast", "de")
        r = c.post("/v1/classify", json={**body, "items": list(TOPIC_TEXTS.values()), "preset": "accurate"})
        assert (r.json()["encoder"], r.json()["preset"], r.json()["language"]) == ("test-keywords", "accurate", "en")
        r = c.post("/v1/classify", json={**body, "language": "en"})
        assert r.json()["encoder"] == "test-keywords" and r.json()["language"] == "en"
        r = c.post("/v1/classify", json={**body, "preset": "fast", "encoder": "test-keywords"})
        assert r.status_code == 400 and "`preset`/`language` choose the text encoder" in r.text
        r = c.post("/v1/classify", json={**body, "preset": "turbo"})
        assert r.status_code == 422


@pytest.mark.slow
def test_real_detector_reads_the_languages_it_routes() -> None:
    det = FastTextLanguageDetector()
    found = det.detect(["The central bank raised interest rates again.", "Der Zug nach Berlin hatte heute Verspätung.",
                        "Le gouvernement a présenté son budget ce matin.", "这家酒店的服务很好，房间也很干净。", "  "])
    assert [lang for lang, _ in found] == ["en", "de", "fr", "zh", "und"]
    assert all(score > 0.5 for _, score in found[:4])
    r = detect_language(["Der Zug nach Berlin hatte heute Verspätung."] * 3, detector=det)
    assert isinstance(r, LanguageReport) and r.route == "de" and r.detector == "fasttext-lid176"
