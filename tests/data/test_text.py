from __future__ import annotations

import json
from pathlib import Path

import pytest

from transzero.data import read_text_table
from transzero.errors import InputError


def test_txt_one_item_per_line_reports_blank_lines(tmp_path: Path) -> None:
    p = tmp_path / "items.txt"
    p.write_text("first item\n   \nthird item\n\n")
    t = read_text_table(p)
    assert t.texts == ["first item", None, "third item"]
    assert t.rows == [1, 2, 3]
    assert t.errors == {1: "text is empty or whitespace only; fill it in or delete the row"}
    assert t.error_lines() == [f"{p}: row 2: text is empty or whitespace only; fill it in or delete the row"]


def test_csv_with_labels_and_bad_rows(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text('text,label\n"a, quoted",x\n,y\nhello,\nfine,z\n')
    t = read_text_table(p, label_column="label")
    assert t.texts == ["a, quoted", None, None, "fine"]
    assert t.labels == ["x", "y", None, "z"]
    assert "empty" in t.errors[1] and "gold label" in t.errors[2]
    assert t.good == [0, 3]


def test_tsv_and_custom_column(tmp_path: Path) -> None:
    p = tmp_path / "d.tsv"
    p.write_text("id\tbody\n1\thello there\n")
    t = read_text_table(p, text_column="body")
    assert t.texts == ["hello there"] and t.records[0]["id"] == "1"


def test_jsonl_bad_lines_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    lines = [json.dumps({"text": "ok", "label": "a"}), "{broken", json.dumps([1, 2]), json.dumps({"text": 5, "label": "b"}),
             "", json.dumps({"text": {"x": 1}, "label": "a"})]
    p.write_text("\n".join(lines) + "\n")
    t = read_text_table(p, label_column="label")
    assert t.texts == ["ok", None, None, "5", None]
    assert t.rows == [1, 2, 3, 4, 6]
    assert "invalid JSON" in t.errors[1] and "JSON object" in t.errors[2] and "not text" in t.errors[4]


def test_non_utf8_bytes_mark_only_that_row(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(b"text\ngood row\nbad \xff row\nanother good\n")
    t = read_text_table(p)
    assert t.texts[0] == "good row" and t.texts[2] == "another good"
    assert t.errors[1].startswith("byte 0xff at character 5 is not valid UTF-8")


@pytest.mark.parametrize(
    "name, content, kwargs, match",
    [
        ("e.csv", b"", {}, "is empty"),
        ("e.txt", b"  \n\n", {}, "is empty"),
        ("h.csv", b"text,label\n", {}, "header but no rows"),
        ("c.csv", b"body,label\nx,y\n", {}, r"no column 'text' \(columns: body, label\); pass --text-column"),
        ("c.csv", b"text\nx\n", {"label_column": "label"}, "pass --label-column"),
        ("c.jsonl", b'{"body": "x"}\n', {}, "no key 'text'"),
        ("c.xlsx", b"x", {}, "unsupported file type .xlsx"),
        ("c.txt", b"x\n", {"label_column": "label"}, "has no 'label' column"),
    ],
)
def test_structural_errors(tmp_path: Path, name: str, content: bytes, kwargs: dict, match: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=match) as exc:
        read_text_table(p, **kwargs)
    assert "\n" not in str(exc.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_text_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_text_table(tmp_path)


def test_bom_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(b"\xef\xbb\xbftext\nhi\n")
    assert read_text_table(p).texts == ["hi"]
