from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transzero.data.image_folder import looks_like_images, read_image_table
from transzero.errors import InputError


def _img(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p)
    return p


def test_class_folders_give_labels_and_report_non_images(tmp_path: Path) -> None:
    _img(tmp_path / "cat" / "a.jpg")
    _img(tmp_path / "cat" / "b.png")
    _img(tmp_path / "dog" / "c.jpg")
    (tmp_path / "dog" / "notes.md").write_text("x")
    t = read_image_table(tmp_path, with_labels=True)
    assert t.labels == ["cat", "cat", "dog", "dog"]
    assert t.texts[3] is None and "not an image file" in t.errors[3]
    assert t.rows == [1, 2, 3, 4]
    assert looks_like_images(tmp_path)


def test_flat_folder_and_list_file(tmp_path: Path) -> None:
    a, b = _img(tmp_path / "imgs" / "a.jpg"), _img(tmp_path / "imgs" / "b.jpg")
    assert read_image_table(tmp_path / "imgs").texts == [str(a), str(b)]
    with pytest.raises(InputError, match="not in class folders"):
        read_image_table(tmp_path / "imgs", with_labels=True)
    lst = tmp_path / "list.txt"
    lst.write_text("imgs/a.jpg\n\nimgs/missing.jpg\n")
    assert looks_like_images(lst)
    t = read_image_table(lst)
    assert t.texts[0] == str(tmp_path / "imgs" / "a.jpg") and "no such file" in t.errors[1]
    (tmp_path / "texts.txt").write_text("just a sentence\n")
    assert not looks_like_images(tmp_path / "texts.txt")


def test_tiny_imagenet_annotations(tmp_path: Path) -> None:
    _img(tmp_path / "images" / "val_0.JPEG")
    _img(tmp_path / "images" / "val_1.JPEG")
    (tmp_path / "val_annotations.txt").write_text("val_0.JPEG\tn01443537\t0\t0\t8\t8\nval_1.JPEG\tn01629819\t0\t0\t8\t8\n")
    t = read_image_table(tmp_path, with_labels=True)
    assert t.labels == ["n01443537", "n01629819"] and not t.errors


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images found"):
        read_image_table(tmp_path / "empty")
    with pytest.raises(InputError, match="no such file or folder"):
        read_image_table(tmp_path / "nope")
