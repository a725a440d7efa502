"""The format registry (transzero.formats) and the reader registry (transzero.data.registry): Arrow IPC in and out,
and a format registered in a test being usable everywhere without touching another module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

from transzero import io, shards  # noqa: E402
from transzero.data import read_items  # noqa: E402
from transzero.data.stream import count_rows, iter_shards  # noqa: E402
from transzero.formats import Format, format_for_suffix, get_format, register_format, unregister_format  # noqa: E402

from .test_cli import ENC, LABELS, run  # noqa: E402


def _arrow_rows(path: Path) -> list[dict[str, Any]]:
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all().to_pylist()


def _write_arrow_input(path: Path, texts: list[str | None], batch: int = 2, **extra: list[Any]) -> Path:
    table = pa.table({"id": list(range(len(texts))), "text": texts, **extra})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        for b in table.to_batches(max_chunksize=batch):
            w.write_batch(b)
    return path


def test_the_registry_keeps_the_old_names() -> None:
    assert io.OUTPUT_SUFFIXES[:5] == (".csv", ".tsv", ".jsonl", ".ndjson", ".json")
    assert shards.FORMATS[:3] == ("parquet", "csv", "jsonl")
    assert ".arrow" in io.OUTPUT_SUFFIXES and ".feather" in io.OUTPUT_SUFFIXES and "arrow" in shards.FORMATS
    assert format_for_suffix(".FEATHER") is get_format("arrow")
    assert ".parquet" not in io.OUTPUT_SUFFIXES  # (a shard and vector format only, as before)
    with pytest.raises(ValueError, match="already"):
        register_format(Format("csv", (".csv2",), "x:y"))
    with pytest.raises(ValueError, match="already belongs"):
        register_format(Format("mycsv", (".csv",), "x:y"))


@pytest.mark.parametrize("suffix", [".arrow", ".feather"])
def test_predictions_round_trip_through_arrow(tmp_path: Path, suffix: str) -> None:
    recs = [{"row": 1, "id": 7, "text": "a goal", "label": "sports", "confidence": 0.9, "error": None,
             "probabilities": {"sports": 0.9, "politics": 0.1}},
            {"row": 2, "id": None, "text": " ", "label": None, "confidence": None, "error": "empty",
             "probabilities": None}]
    out = tmp_path / f"p{suffix}"
    io.write_predictions(recs, ["sports", "politics"], out)
    rows = _arrow_rows(out)
    assert rows[0] == {"row": 1, "id": "7", "text": "a goal", "label": "sports", "confidence": 0.9, "error": None,
                       "p:sports": 0.9, "p:politics": 0.1}
    assert rows[1]["error"] == "empty" and rows[1]["p:sports"] is None
    # ... and read back as items, through the reader registry
    table = read_items(out)
    assert table.texts[0] == "a goal" and 1 in table.errors and table.records[0]["id"] == "7"


def test_vectors_round_trip_through_arrow(tmp_path: Path) -> None:
    V = np.array([[0.5, -1.25, 3.0], [0, 0, 0], [1e-3, 2, 4]], np.float32)
    recs = [{"row": i + 1, "id": f"x{i}", "text": t, "error": e}
            for i, (t, e) in enumerate([("hello", None), ("", "empty"), ("world", None)])]
    shards.write_table(tmp_path / "v.arrow", "arrow", recs, [], vectors=V)
    with pa.memory_map(str(tmp_path / "v.arrow")) as src:
        t = pa.ipc.open_file(src).read_all()
    assert pa.types.is_fixed_size_list(t.schema.field("vector").type) and t.schema.field("vector").type.list_size == 3
    rows = t.to_pylist()
    np.testing.assert_array_equal(np.array(rows[0]["vector"], np.float32), V[0])
    np.testing.assert_array_equal(np.array(rows[2]["vector"], np.float32), V[2])
    assert rows[1]["vector"] is None and rows[1]["error"] == "empty"
    name, sha, size = shards.write_shard(tmp_path, 4, "arrow", recs, [], vectors=V)
    assert name == "part-00004.arrow" and size == (tmp_path / name).stat().st_size and len(sha) == 64


def test_arrow_input_is_read_whole_and_streamed_by_batch(tmp_path: Path) -> None:
    src = _write_arrow_input(tmp_path / "in.arrow", ["a goal", None, "the vote", "a chip", "new law"],
                             gold=["sports", "sports", "politics", "technology", "politics"])
    t = read_items(src, label_column="gold")
    assert t.texts == ["a goal", None, "the vote", "a chip", "new law"] and 1 in t.errors
    assert t.labels == ["sports", "sports", "politics", "technology", "politics"] and t.rows == [1, 2, 3, 4, 5]
    parts = list(iter_shards(src, 2))
    assert [p.rows for p in parts] == [[1, 2], [3, 4], [5]] and count_rows(src) == 5
    with pytest.raises(Exception, match="no column 'body'"):
        read_items(src, text_column="body")
    bad = tmp_path / "bad.arrow"
    bad.write_bytes(b"not arrow at all")
    with pytest.raises(Exception, match="not a readable Arrow IPC file"):
        read_items(bad)


def test_cli_classify_from_arrow_to_arrow(tmp_path: Path, capsys) -> None:
    src = _write_arrow_input(tmp_path / "in.arrow", ["a goal for the team", "the budget vote", " ", "a new phone chip"])
    out = tmp_path / "preds.arrow"
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(out)], capsys)
    assert code == 0, err
    rows = _arrow_rows(out)
    assert [r["row"] for r in rows] == [1, 2, 3, 4] and [r["id"] for r in rows] == ["0", "1", "2", "3"]
    assert [r["label"] for r in rows] == ["sports", "politics", None, "technology"] and rows[2]["error"]
    assert {f"p:{c}" for c in LABELS.split(",")} <= set(rows[0])
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(out)], capsys)
    assert code == 2 and "already exists" in err  # the same output rules as every format
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "p.xyz")], capsys)
    assert code == 2 and "unsupported type .xyz" in err and ".arrow" in err


def test_sharded_arrow_run_resumes(tmp_path: Path, capsys) -> None:
    texts = [["a goal for the team", "the budget vote", "a new phone chip"][i % 3] + f" {i}" for i in range(25)]
    src = _write_arrow_input(tmp_path / "in.arrow", texts, batch=7)
    out, js = tmp_path / "o", tmp_path / "s.json"
    args = ["classify", str(src), "--labels", LABELS, *ENC, "-o", str(out), "--format", "arrow", "--shard-size", "10",
            "--json", str(js)]
    code, _, err = run(args, capsys)
    assert code == 0, err
    parts = sorted(p.name for p in out.glob("part-*"))
    assert parts == ["part-00000.arrow", "part-00001.arrow", "part-00002.arrow"]
    m = json.loads((out / "_manifest.json").read_text())
    assert m["output_format"] == "arrow" and shards.check_manifest(m) is None
    rows = [r for p in parts for r in _arrow_rows(out / p)]
    assert [r["row"] for r in rows] == list(range(1, 26)) and rows[1]["label"] == "politics"
    (out / "part-00001.arrow").unlink()
    code, _, err = run(args, capsys)
    assert code == 0 and "part-00001.arrow is missing" in err
    assert json.loads(js.read_text())["n_shards_reused"] == 2
    assert [r for p in parts for r in _arrow_rows(out / p)] == rows
    # embed: vectors in arrow shards, and one .arrow file
    code, _, err = run(["embed", str(src), *ENC, "-o", str(tmp_path / "e"), "--format", "arrow"], capsys)
    assert code == 0, err
    assert (tmp_path / "e" / "part-00000.arrow").is_file()
    code, _, err = run(["embed", str(src), *ENC, "-o", str(tmp_path / "v.arrow")], capsys)
    assert code == 0, err
    assert len(_arrow_rows(tmp_path / "v.arrow")) == 25 and len(_arrow_rows(tmp_path / "v.arrow")[0]["vector"]) == 16


def _write_toy(path: Path, records: list[dict[str, Any]], classes: Any, vectors: Any = None) -> None:
    """A toy format: one ``row<TAB>label<TAB>text`` line per record (``vector`` numbers instead of the label)."""
    with path.open("w", encoding="utf-8") as f:
        for i, r in enumerate(records):
            mid = r.get("label") if vectors is None else " ".join(f"{x:g}" for x in vectors[i])
            f.write(f"{r['row']}\t{mid or ''}\t{r.get('text') or ''}\n")


def _read_toy(path: Path, columns: list[str]) -> tuple[list[str], Any]:
    lines = [ln.split("\t") for ln in path.read_text(encoding="utf-8").splitlines()]
    return ["id", "label", "text"], iter([{"id": [x[0] for x in lines], "label": [x[1] for x in lines],
                                           "text": [x[2] for x in lines]}])


@pytest.fixture
def toy_format():
    fmt = register_format(Format("toy", (".toy",), _write_toy, read=_read_toy, label="toy"))
    yield fmt
    unregister_format("toy")


def test_a_registered_format_is_usable_everywhere(tmp_path: Path, capsys, toy_format: Format) -> None:
    assert ".toy" in io.OUTPUT_SUFFIXES and "toy" in shards.FORMATS
    src = tmp_path / "in.toy"
    src.write_text("1\tsports\ta goal for the team\n2\tpolitics\tthe budget vote\n3\ttechnology\ta new phone chip\n")
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "p.toy")], capsys)
    assert code == 0, err
    got = [ln.split("\t") for ln in (tmp_path / "p.toy").read_text().splitlines()]
    assert [g[1] for g in got] == ["sports", "politics", "technology"]
    code, _, err = run(["classify", str(src), "--labels", LABELS, *ENC, "-o", str(tmp_path / "o"), "--format", "toy",
                        "--shard-size", "2"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "o").glob("part-*")) == ["part-00000.toy", "part-00001.toy"]
    code, _, err = run(["eval", str(src), "--labels", LABELS, *ENC, "--label-column", "label"], capsys)
    assert code == 0, err


def test_an_unregistered_format_is_gone(tmp_path: Path, capsys) -> None:
    assert "toy" not in shards.FORMATS and ".toy" not in io.OUTPUT_SUFFIXES
    with pytest.raises(Exception, match="unsupported type .toy"):
        io.check_output(tmp_path / "x.toy")


def test_embed_to_a_feather_file(tmp_path: Path, capsys) -> None:
    """.feather is Arrow IPC (Feather V2): a single vectors file by either suffix."""
    import pyarrow.feather as feather

    src = tmp_path / "in.txt"
    src.write_text("a goal for the team\nthe budget vote\n")
    code, _, err = run(["embed", str(src), *ENC, "-o", str(tmp_path / "v.feather"), "--no-cache"], capsys)
    assert code == 0, err
    t = feather.read_table(tmp_path / "v.feather")
    assert t.num_rows == 2 and t.schema.field("vector").type.list_size == 16
