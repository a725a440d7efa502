from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.io import savemat

from transzero.data.xlsa17 import (
    load_xlsa17,
    looks_like_xlsa17,
    read_att_splits,
    read_res101,
)
from transzero.errors import InputError

XLSA17 = Path("/work/shared/data/xlsa17")
REAL_FILES = [
    "original_Hanzy1996_CE-GZSL/AWA1/att_splits.mat",
    "original_Hanzy1996_CE-GZSL/AWA2/att_splits.mat",
    "original_Hanzy1996_CE-GZSL/SUN/att_splits.mat",
    "original_Hanzy1996_CE-GZSL/FLO/att_splits.mat",
    "original_Hanzy1996_CE-GZSL/CUB/sent_splits.mat",
    "resaved_cetinsamet_ALE/APY/att_splits.mat",
    "resaved_cetinsamet_ALE/AWA1/att_splits.mat",
    "resaved_cetinsamet_ALE/AWA2/att_splits.mat",
    "resaved_cetinsamet_ALE/CUB/att_splits.mat",
    "resaved_cetinsamet_ALE/SUN/att_splits.mat",
]
# (classes, attribute dims, has train_loc/val_loc) of each real file.
REAL_SHAPES = {
    "original_Hanzy1996_CE-GZSL/AWA1/att_splits.mat": (50, 85, True),
    "original_Hanzy1996_CE-GZSL/AWA2/att_splits.mat": (50, 85, True),
    "original_Hanzy1996_CE-GZSL/SUN/att_splits.mat": (717, 102, True),
    "original_Hanzy1996_CE-GZSL/FLO/att_splits.mat": (102, 1024, True),
    "original_Hanzy1996_CE-GZSL/CUB/sent_splits.mat": (200, 1024, True),
    "resaved_cetinsamet_ALE/APY/att_splits.mat": (32, 64, False),
    "resaved_cetinsamet_ALE/AWA1/att_splits.mat": (50, 85, True),
    "resaved_cetinsamet_ALE/AWA2/att_splits.mat": (50, 85, False),
    "resaved_cetinsamet_ALE/CUB/att_splits.mat": (200, 312, False),
    "resaved_cetinsamet_ALE/SUN/att_splits.mat": (717, 102, False),
}


def _real(rel: str) -> Path:
    p = XLSA17 / rel
    if not p.is_file():
        pytest.skip(f"real xlsa17 file {p} not available (only on the dev machine, not in a fresh clone)")
    return p


# --------------------------------------------------------------------------- tiny generated datasets

NAMES = ["antelope", " grizzly+bear ", "killer+whale", "beaver", "dalmatian"]  # 3 seen, 2 unseen
A, D = 4, 6


def _cell(strings: list[str]) -> np.ndarray:
    """A MATLAB (n, 1) cell of strings, as xlsa17 stores them (1-element arrays)."""
    out = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        out[i, 0] = np.array([s])
    return out


def _loc(idx0: list[int] | np.ndarray) -> np.ndarray:
    """0-based indices -> the (n, 1) uint16 1-based column xlsa17 stores."""
    return (np.asarray(idx0, dtype=np.int64) + 1).astype(np.uint16).reshape(-1, 1)


def _tiny(
    folder: Path,
    *,
    att_edit: Callable[[dict[str, Any]], None] | None = None,
    res_edit: Callable[[dict[str, Any]], None] | None = None,
    att_name: str = "att_splits.mat",
) -> dict[str, Any]:
    """Write a 5-class, 20-image xlsa17 folder; return the arrays written.

    Images 0-11 are of seen classes 0-2 (4 each); images 12-19 of unseen classes 3-4.
    trainval = the first 3 images of each seen class, test_seen = the 4th;
    train = classes 0-1 of trainval, val = class 2 of trainval (a proposed-split style
    class split).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    labels0 = np.array([0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4)
    trainval = [i for i in range(12) if i % 4 != 3]
    test_seen = [i for i in range(12) if i % 4 == 3]
    test_unseen = list(range(12, 20))
    att = rng.random((A, len(NAMES)))
    att /= np.linalg.norm(att, axis=0, keepdims=True)
    a = {
        "att": att,
        "original_att": att * 100,
        "allclasses_names": _cell(NAMES),
        "trainval_loc": _loc(trainval),
        "test_seen_loc": _loc(test_seen),
        "test_unseen_loc": _loc(test_unseen),
        "train_loc": _loc([i for i in trainval if labels0[i] < 2]),
        "val_loc": _loc([i for i in trainval if labels0[i] == 2]).astype(np.float64),  # double, like some resaves
    }
    r = {
        "features": rng.random((D, len(labels0))),
        "labels": (labels0 + 1).astype(np.float64).reshape(-1, 1),
        "image_files": _cell([f"/x/JPEGImages/img_{i:02d}.jpg" for i in range(len(labels0))]),
    }
    if att_edit:
        att_edit(a)
    if res_edit:
        res_edit(r)
    savemat(folder / att_name, a)
    savemat(folder / "res101.mat", r)
    return {"att": a, "res": r, "labels0": labels0}


def test_tiny_dataset_round_trip(tmp_path: Path) -> None:
    w = _tiny(tmp_path / "AWA2")
    ds = load_xlsa17(tmp_path / "AWA2")
    assert ds.name == "AWA2"
    assert ds.class_names == ["antelope", "grizzly+bear", "killer+whale", "beaver", "dalmatian"]
    np.testing.assert_allclose(ds.attributes, w["att"]["att"].T)
    assert ds.attributes.shape == (5, A) and ds.attributes.dtype == np.float64
    assert ds.features.shape == (20, D) and ds.features.dtype == np.float32
    np.testing.assert_allclose(ds.features, w["res"]["features"].T.astype(np.float32))
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == w["labels0"].tolist()
    assert set(ds.splits) == {"trainval", "test_seen", "test_unseen", "train", "val"}
    assert all(v.dtype == np.int64 and v.ndim == 1 for v in ds.splits.values())
    assert ds.splits["test_seen"].tolist() == [3, 7, 11]
    assert ds.splits["val"].tolist() == [8, 9, 10]
    assert ds.seen_classes == ["antelope", "grizzly+bear", "killer+whale"]
    assert ds.unseen_classes == ["beaver", "dalmatian"]
    assert ds.train_classes == ["antelope", "grizzly+bear"] and ds.val_classes == ["killer+whale"]
    x, names = ds.items("test_unseen")
    assert x.shape == (8, D) and names == ["beaver"] * 4 + ["dalmatian"] * 4
    np.testing.assert_array_equal(x, ds.features[12:20])
    with pytest.raises(InputError, match="no split 'bogus'"):
        ds.items("bogus")
    # the splits file itself (its folder holds res101.mat) gives the same dataset
    ds2 = load_xlsa17(tmp_path / "AWA2" / "att_splits.mat")
    assert ds2.class_names == ds.class_names and ds2.splits["trainval"].tolist() == ds.splits["trainval"].tolist()


def test_read_res101_alone(tmp_path: Path) -> None:
    w = _tiny(tmp_path / "d")
    res = read_res101(tmp_path / "d" / "res101.mat", n_classes=5)
    assert res.features.shape == (20, D) and res.labels.tolist() == w["labels0"].tolist()
    assert res.image_files is not None and res.image_files[3] == "/x/JPEGImages/img_03.jpg"
    assert res.path == tmp_path / "d" / "res101.mat"


def test_sent_splits_without_original_att_and_locs_without_train_val(tmp_path: Path) -> None:
    def edit(a: dict[str, Any]) -> None:
        for k in ("original_att", "train_loc", "val_loc"):
            del a[k]

    _tiny(tmp_path / "CUB", att_edit=edit, att_name="sent_splits.mat")
    sp = read_att_splits(tmp_path / "CUB" / "sent_splits.mat")
    assert sp.original_attributes is None and set(sp.locs) == {"trainval", "test_seen", "test_unseen"}
    ds = load_xlsa17(tmp_path / "CUB")  # falls back to sent_splits.mat
    assert ds.train_classes is None and ds.val_classes is None
    assert ds.unseen_classes == ["beaver", "dalmatian"]


def test_att_file_chooses_the_splits_file(tmp_path: Path) -> None:
    w = _tiny(tmp_path / "CUB")
    sent = dict(w["att"], att=np.eye(5).repeat(2, axis=0))  # (10, 5) "sentence" embeddings
    del sent["original_att"]
    savemat(tmp_path / "CUB" / "sent_splits.mat", sent)
    assert load_xlsa17(tmp_path / "CUB").attributes.shape == (5, A)  # att_splits.mat first
    ds = load_xlsa17(tmp_path / "CUB", att_file="sent_splits.mat")
    assert ds.attributes.shape == (5, 10)
    with pytest.raises(InputError, match="no such file"):
        load_xlsa17(tmp_path / "CUB", att_file="nope_splits.mat")


def test_index_conversion_is_robust(tmp_path: Path) -> None:
    def edit(a: dict[str, Any]) -> None:
        a["trainval_loc"] = a["trainval_loc"].astype(np.float64).reshape(1, -1)  # row vector of doubles
        a["test_seen_loc"] = a["test_seen_loc"].astype(np.int32)

    _tiny(tmp_path / "d", att_edit=edit)
    sp = read_att_splits(tmp_path / "d" / "att_splits.mat")
    assert sp.locs["trainval"].dtype == np.int64 and sp.locs["trainval"].tolist() == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert sp.locs["test_seen"].dtype == np.int64 and sp.locs["test_seen"].tolist() == [3, 7, 11]
    assert sp.original_attributes is not None and sp.original_attributes.shape == (5, A)
    assert sp.path == tmp_path / "d" / "att_splits.mat" and not sp.names_generated


def test_missing_class_names_fall_back(tmp_path: Path) -> None:
    _tiny(tmp_path / "FLO", att_edit=lambda a: a.pop("allclasses_names"))
    sp = read_att_splits(tmp_path / "FLO" / "att_splits.mat")
    assert sp.names_generated and sp.class_names[:2] == ["class_001", "class_002"]
    (tmp_path / "FLO" / "allclasses.txt").write_text("a\nb\nc\nd\ne\n")
    sp = read_att_splits(tmp_path / "FLO" / "att_splits.mat")
    assert not sp.names_generated and sp.class_names == ["a", "b", "c", "d", "e"]
    (tmp_path / "FLO" / "allclasses.txt").write_text("a\nb\n")
    with pytest.raises(InputError, match="lists 2 classes but att"):
        read_att_splits(tmp_path / "FLO" / "att_splits.mat")


def _put(key: str, value: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        d[key] = value(d[key]) if key in d else value(None)

    return edit


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(key)


def _nan_in_dalmatian(att: np.ndarray) -> np.ndarray:
    att = att.copy()
    att[1, 4] = np.nan
    return att


def _move_image_to_unseen(a: dict[str, Any]) -> None:
    # image 0 (antelope, a trainval image) also listed as test_unseen -> antelope on both sides
    a["test_unseen_loc"] = np.vstack([a["test_unseen_loc"], _loc([1])])


def _label_test_seen_as_unseen(r: dict[str, Any]) -> None:
    r["labels"] = r["labels"].copy()
    r["labels"][3, 0] = 5  # image 3 (test_seen) now 'dalmatian', which has no trainval images


@pytest.mark.parametrize(
    ("att_edit", "res_edit", "match"),
    [
        (_drop("trainval_loc"), None, r"att_splits\.mat has no field 'trainval_loc'"),
        (_drop("att"), None, r"att_splits\.mat has no field 'att'"),
        (_put("att", lambda x: x[:, :4]), None, "att has 4 columns but allclasses_names lists 5 classes"),
        (_put("att", _nan_in_dalmatian), None, r"NaN/inf .* class 'dalmatian'"),
        (_put("test_seen_loc", lambda x: np.array([[0], [4], [8]])), None, r"'test_seen_loc' contains 0, so it looks 0-based; xlsa17 indices are 1-based"),
        (_put("val_loc", lambda x: x * 10), None, r"'val_loc' has index 110 but res101\.mat has only 20 images; out of range"),
        (_put("test_unseen_loc", lambda x: x + 0.5), None, r"'test_unseen_loc' holds non-integer values"),
        (None, _put("labels", lambda x: x - 1), r"'labels' contains 0, so it looks 0-based"),
        (None, _put("labels", lambda x: x + 1), r"'labels' has index 6 but there are only 5 classes .*out of range"),
        (None, _drop("labels"), r"res101\.mat has no field 'labels'"),
        (None, _put("features", lambda x: x[:, :19]), r"'features' has shape \(6, 19\) but 'labels' lists 20 images"),
        (None, _put("image_files", lambda x: x[:3]), r"'image_files' lists 3 files but 'labels' lists 20"),
        (_move_image_to_unseen, None, r"class 'antelope' has images in both trainval_loc and test_unseen_loc"),
        (None, _label_test_seen_as_unseen, r"test_seen_loc has images of class 'dalmatian', which has none in trainval_loc"),
        (_put("allclasses_names", lambda x: _cell(["a", "b", "a", "c", "d"])), None, "lists class 'a' twice"),
    ],
)
def test_inconsistent_files_are_refused_with_one_line(
    tmp_path: Path, att_edit: Any, res_edit: Any, match: str
) -> None:
    _tiny(tmp_path / "d", att_edit=att_edit, res_edit=res_edit)
    with pytest.raises(InputError, match=match) as e:
        load_xlsa17(tmp_path / "d")
    assert "\n" not in str(e.value)


def test_missing_files(tmp_path: Path) -> None:
    _tiny(tmp_path / "d")
    (tmp_path / "d" / "res101.mat").unlink()
    with pytest.raises(InputError, match=r"res101\.mat: not found; res101\.mat holds the ResNet-101 image features"):
        load_xlsa17(tmp_path / "d")
    (tmp_path / "e").mkdir()
    with pytest.raises(InputError, match="no att_splits.mat or sent_splits.mat"):
        load_xlsa17(tmp_path / "e")
    with pytest.raises(InputError, match="no such file or folder"):
        load_xlsa17(tmp_path / "nope")
    (tmp_path / "e" / "att_splits.mat").write_text("not a mat file")
    with pytest.raises(InputError, match="not a readable MATLAB .mat file"):
        read_att_splits(tmp_path / "e" / "att_splits.mat")


def test_looks_like_xlsa17(tmp_path: Path) -> None:
    _tiny(tmp_path / "d")
    assert looks_like_xlsa17(tmp_path / "d")
    assert looks_like_xlsa17(tmp_path / "d" / "att_splits.mat")
    assert looks_like_xlsa17(tmp_path / "d" / "res101.mat")
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    assert not looks_like_xlsa17(tmp_path / "imgs")
    (tmp_path / "t.txt").write_text("x\n")
    assert not looks_like_xlsa17(tmp_path / "t.txt")
    assert not looks_like_xlsa17(tmp_path / "nope")


# --------------------------------------------------------------------------- real xlsa17 files


@pytest.mark.parametrize("rel", REAL_FILES)
def test_real_att_splits(rel: str) -> None:
    p = _real(rel)
    sp = read_att_splits(p)
    k, a, has_train_val = REAL_SHAPES[rel]
    assert len(sp.class_names) == k and sp.attributes.shape == (k, a)
    assert all(isinstance(n, str) and n == n.strip() and n for n in sp.class_names)
    assert len(set(sp.class_names)) == k
    expected = {"trainval", "test_seen", "test_unseen"} | ({"train", "val"} if has_train_val else set())
    assert set(sp.locs) == expected
    for idx in sp.locs.values():
        assert idx.dtype == np.int64 and idx.ndim == 1 and idx.min() >= 0
    tv, ts, tu = (set(sp.locs[s].tolist()) for s in ("trainval", "test_seen", "test_unseen"))
    assert not (tv & tu) and not (ts & tu) and not (tv & ts)
    if "FLO" in rel:
        assert sp.names_generated  # FLO's file has no allclasses_names
    else:
        assert not sp.names_generated
    if "sent_splits" in rel or "FLO" in rel:
        assert sp.original_attributes is None
    else:
        assert sp.original_attributes is not None and sp.original_attributes.shape == (k, a)
    if "/AWA" in rel:
        assert sp.class_names[:2] == ["antelope", "grizzly+bear"]
        np.testing.assert_allclose(np.linalg.norm(sp.attributes, axis=1), 1.0, atol=1e-6)
    if "/CUB" in rel:
        assert sp.class_names[0] == "002.Laysan_Albatross"


def test_real_awa2_splits_with_a_generated_res101(tmp_path: Path) -> None:
    """The real AWA2 locs against a res101.mat of the right layout (the true labels are unknown:
    test_unseen images get 10 'unseen' classes, all others the 40 remaining ones)."""
    src = _real("original_Hanzy1996_CE-GZSL/AWA2/att_splits.mat")
    folder = tmp_path / "AWA2"
    folder.mkdir()
    shutil.copy(src, folder / "att_splits.mat")
    sp = read_att_splits(folder / "att_splits.mat")
    n = max(int(v.max()) for v in sp.locs.values()) + 1  # 37322
    unseen = np.arange(40, 50)
    labels0 = np.arange(n) % 40
    tu = sp.locs["test_unseen"]
    labels0[tu] = unseen[np.arange(tu.size) % 10]
    savemat(folder / "res101.mat", {
        "features": np.zeros((3, n), dtype=np.float32),
        "labels": (labels0 + 1).reshape(-1, 1).astype(np.float64),
    })
    ds = load_xlsa17(folder)
    assert ds.name == "AWA2" and ds.features.shape == (n, 3)
    assert len(ds.seen_classes) == 40 and len(ds.unseen_classes) == 10
    assert ds.unseen_classes == [sp.class_names[k] for k in unseen]
    x, names = ds.items("test_unseen")
    assert x.shape == (7913, 3) and set(names) == set(ds.unseen_classes)
    # the same res101 with one image too few: the largest loc is now out of range
    savemat(folder / "res101.mat", {"features": np.zeros((3, n - 1)), "labels": (labels0[:-1] + 1).reshape(-1, 1)})
    with pytest.raises(InputError, match=r"index 37322 but res101\.mat has only 37321 images"):
        load_xlsa17(folder)
