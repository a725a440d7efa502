"""The xlsa17 zero-shot benchmark format (Xian et al., "Zero-Shot Learning - the Good, the Bad and the Ugly").

A dataset folder (``AWA2/``, ``CUB/``, ``SUN/``, ...) holds two MATLAB files:

* ``att_splits.mat`` (CUB also ships ``sent_splits.mat``): ``att`` (A, K) class
  embeddings, one L2-normalised column per class; ``original_att`` (A, K);
  ``allclasses_names`` (K, 1) cell of names; ``trainval_loc``, ``test_seen_loc``,
  ``test_unseen_loc`` and optionally ``train_loc``, ``val_loc``: **1-based** indices
  into the image list of ``res101.mat``;
* ``res101.mat``: ``features`` (2048, N) ResNet-101 features, ``labels`` (N, 1)
  **1-based** class indices into ``allclasses_names``, ``image_files`` (N, 1) cell.

The readers here turn both into 0-based, row-major numpy arrays (classes and images
along the first axis) and refuse inconsistent files with one-line
:class:`~transzero.errors.InputError` messages naming the file, the field and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "LOC_KEYS",
    "AttSplits",
    "Res101",
    "Xlsa17Dataset",
    "load_xlsa17",
    "looks_like_xlsa17",
    "read_att_splits",
    "read_res101",
]

#: Split keys, in file order; the first three are required.
LOC_KEYS: tuple[str, ...] = ("trainval", "test_seen", "test_unseen", "train", "val")
_REQUIRED_LOCS: tuple[str, ...] = ("trainval", "test_seen", "test_unseen")
#: Splits files looked for, in order, when a folder is given.
_SPLITS_FILES: tuple[str, ...] = ("att_splits.mat", "sent_splits.mat")
_RES101 = "res101.mat"


# --------------------------------------------------------------------------- helpers


def _loadmat(path: Path) -> dict[str, Any]:
    """``scipy.io.loadmat`` with user-facing errors for missing and unreadable files."""
    from scipy.io import loadmat

    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path")
    try:
        return loadmat(str(path))
    except NotImplementedError as e:  # scipy: "Please use HDF reader for matlab v7.3 files"
        raise InputError(
            f"{path}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; resave it in MATLAB with save(..., '-v7')"
        ) from e
    except Exception as e:  # any parse failure means a bad input file
        why = " ".join(str(e).split())
        raise InputError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__}: {why}); re-download it") from e


def _field(mat: dict[str, Any], key: str, path: Path, fix: str) -> np.ndarray:
    if key not in mat:
        fields = ", ".join(sorted(k for k in mat if not k.startswith("__"))) or "none"
        raise InputError(f"{path}: {path.name} has no field '{key}' (fields: {fields}); {fix}")
    return np.asarray(mat[key])


def _cell_str(cell: Any) -> str:
    """One entry of a MATLAB cell of strings (a 1-element array, maybe empty or nested) -> str."""
    if isinstance(cell, (str, bytes)):
        s = cell.decode("utf-8", "replace") if isinstance(cell, bytes) else cell
        return s.strip()
    arr = np.asarray(cell)
    if arr.dtype == object:
        return "".join(_cell_str(x) for x in arr.ravel())
    return "".join(str(x) for x in arr.ravel()).strip()


def _cell_strings(arr: np.ndarray) -> list[str]:
    return [_cell_str(x) for x in np.asarray(arr, dtype=object).ravel()]


def _one_based(arr: np.ndarray, field: str, path: Path, *, upper: int | None, what: str) -> np.ndarray:
    """A (n, 1) MATLAB index array (uint16 / double / ...) -> 0-based int64 (n,).

    ``upper`` is the largest valid 1-based value (None: unknown yet); ``what`` names
    what the indices point into, for the messages.
    """
    a = np.asarray(arr)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise InputError(f"{path}: field '{field}' is not numeric (dtype {a.dtype}); it must list 1-based {what}")
    a = a.ravel()
    if np.issubdtype(a.dtype, np.floating) and (not np.all(np.isfinite(a)) or np.any(a != np.round(a))):
        raise InputError(f"{path}: field '{field}' holds non-integer values; it must list 1-based {what}")
    a = a.astype(np.int64)
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise InputError(f"{path}: field '{field}' holds a negative index ({lo}); it must list 1-based {what}")
        if lo == 0:
            raise InputError(
                f"{path}: field '{field}' contains 0, so it looks 0-based; xlsa17 indices are 1-based (MATLAB), "
                f"add 1 before saving"
            )
        if upper is not None and hi > upper:
            raise InputError(
                f"{path}: field '{field}' has index {hi} but there are only {upper} {what}; "
                f"out of range - check that the files belong to the same dataset"
            )
    return a - 1


def _ensure_loc_range(locs: dict[str, np.ndarray], n_images: int, path: Path, res_path: Path) -> None:
    for key, idx in locs.items():
        if idx.size and int(idx.max()) >= n_images:
            raise InputError(
                f"{path}: field '{key}_loc' has index {int(idx.max()) + 1} but {res_path.name} has only "
                f"{n_images} images; out of range - check that both files belong to the same dataset"
            )


# --------------------------------------------------------------------------- att_splits


@dataclass
class AttSplits:
    """The content of an ``att_splits.mat`` / ``sent_splits.mat`` file.

    Attributes
    ----------
    class_names : list of str
        The K class names of ``allclasses_names``, stripped (e.g. ``'grizzly+bear'``,
        ``'001.Black_footed_Albatross'``). Files without that field (FLO) get the lines of
        an ``allclasses.txt`` beside the file, else ``'class_001'``, ... (see ``names_generated``).
    attributes : numpy.ndarray
        (K, A) float64 class embeddings: ``att`` transposed, one row per class.
    original_attributes : numpy.ndarray or None
        (K, A) ``original_att`` transposed (un-normalised, e.g. 0-100), when present.
    locs : dict of str to numpy.ndarray
        0-based int64 image indices into ``res101.mat`` per split, keys among
        ``'trainval'``, ``'test_seen'``, ``'test_unseen'``, ``'train'``, ``'val'``.
    path : pathlib.Path
        The file read.
    names_generated : bool
        True when the file had no ``allclasses_names`` and no ``allclasses.txt`` was
        found, so ``class_names`` are placeholders that carry no meaning.
    """

    class_names: list[str]
    attributes: np.ndarray
    original_attributes: np.ndarray | None
    locs: dict[str, np.ndarray]
    path: Path
    names_generated: bool = False

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.class_names)


def _class_names(mat: dict[str, Any], path: Path, n_classes: int) -> tuple[list[str], bool]:
    if "allclasses_names" in mat:
        names = _cell_strings(mat["allclasses_names"])
        if len(names) != n_classes:
            raise InputError(
                f"{path}: att has {n_classes} columns but allclasses_names lists {len(names)} classes; "
                f"att must have one column per class"
            )
        source = "allclasses_names"
    else:
        txt = path.parent / "allclasses.txt"
        lines = [ln.strip() for ln in txt.read_text(encoding="utf-8").splitlines() if ln.strip()] if txt.is_file() else []
        if not lines:
            return [f"class_{i + 1:03d}" for i in range(n_classes)], True
        if len(lines) != n_classes:
            raise InputError(
                f"{txt}: lists {len(lines)} classes but att in {path.name} has {n_classes} columns; "
                f"it must name the classes in att's column order"
            )
        names, source = lines, txt.name
    for i, n in enumerate(names):
        if not n:
            raise InputError(f"{path}: {source} entry {i + 1} is empty; every class needs a name")
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(
                f"{path}: {source} lists class '{n}' twice (entries {seen[n] + 1} and {i + 1}); class names must be unique"
            )
        seen[n] = i
    return names, False


def read_att_splits(path: str | os.PathLike[str]) -> AttSplits:
    """Read an xlsa17 ``att_splits.mat`` (or ``sent_splits.mat``) file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.mat`` file.

    Returns
    -------
    AttSplits
        Class names, (K, A) class embeddings and 0-based split indices.

    Raises
    ------
    InputError
        The file is missing or unreadable, lacks ``att`` or a required ``*_loc`` field,
        ``att`` is not 2-D, has non-finite values or a column count other than the number of
        class names, or an index field is 0-based / not integer.
    """
    p = Path(path).expanduser()
    mat = _loadmat(p)
    att = _field(mat, "att", p, "it must hold the (attributes x classes) matrix of an xlsa17 splits file")
    if att.ndim != 2 or att.dtype == object or not np.issubdtype(att.dtype, np.number):
        raise InputError(f"{p}: field 'att' must be a numeric (attributes x classes) matrix, got shape {att.shape} dtype {att.dtype}")
    attributes = np.ascontiguousarray(att.T, dtype=np.float64)
    names, generated = _class_names(mat, p, attributes.shape[0])
    bad = ~np.all(np.isfinite(attributes), axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{p}: att has NaN/inf values in the column of class '{names[k]}' (column {k + 1})"
            f"{f' and {int(bad.sum()) - 1} more' if bad.sum() > 1 else ''}; fix or re-download the file"
        )
    original = None
    if "original_att" in mat:
        o = np.asarray(mat["original_att"])
        if o.shape != att.shape:
            raise InputError(f"{p}: field 'original_att' has shape {o.shape} but 'att' has {att.shape}; they must match")
        original = np.ascontiguousarray(o.T, dtype=np.float64)
    locs: dict[str, np.ndarray] = {}
    for key in LOC_KEYS:
        field = f"{key}_loc"
        if key in _REQUIRED_LOCS:
            arr = _field(mat, field, p, "xlsa17 splits files list trainval_loc, test_seen_loc and test_unseen_loc")
        elif field in mat:
            arr = np.asarray(mat[field])
        else:
            continue
        idx = _one_based(arr, field, p, upper=None, what="image indices into res101.mat")
        if key in _REQUIRED_LOCS and idx.size == 0:
            raise InputError(f"{p}: field '{field}' is empty; every xlsa17 split lists at least one image")
        locs[key] = idx
    return AttSplits(names, attributes, original, locs, p, names_generated=generated)


# --------------------------------------------------------------------------- res101


@dataclass
class Res101:
    """The content of an xlsa17 ``res101.mat`` file.

    Attributes
    ----------
    features : numpy.ndarray
        (N, D) float32 image features (``features`` is stored (D, N); it is transposed).
    labels : numpy.ndarray
        (N,) int64 0-based class index of each image (into ``allclasses_names``).
    image_files : list of str or None
        The N image paths of ``image_files``, when present.
    path : pathlib.Path
        The file read.
    """

    features: np.ndarray
    labels: np.ndarray
    image_files: list[str] | None
    path: Path


def read_res101(path: str | os.PathLike[str], n_classes: int | None = None) -> Res101:
    """Read an xlsa17 ``res101.mat`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.mat`` file.
    n_classes : int, optional
        The number of classes K (from the splits file); labels above it are refused.

    Returns
    -------
    Res101
        (N, D) float32 features, 0-based labels and the image paths.

    Notes
    -----
    ``features`` is normally stored (D, N); a file resaved as (N, D) is accepted too,
    the orientation being the one whose image axis matches ``labels``.

    Raises
    ------
    InputError
        The file is missing or unreadable, lacks ``features`` / ``labels``, the number of
        images in ``features``, ``labels`` and ``image_files`` differ, or the labels are
        0-based or exceed ``n_classes``.
    """
    p = Path(path).expanduser()
    mat = _loadmat(p)
    fix = "res101.mat must hold 'features' (2048 x N) and 'labels' (N x 1)"
    feats = _field(mat, "features", p, fix)
    labels_raw = _field(mat, "labels", p, fix)
    labels = _one_based(labels_raw, "labels", p, upper=n_classes, what="classes in allclasses_names")
    n = labels.size
    if feats.ndim != 2 or feats.dtype == object or not np.issubdtype(feats.dtype, np.number):
        raise InputError(f"{p}: field 'features' must be a numeric (dimensions x images) matrix, got shape {feats.shape}")
    if feats.shape[1] == n:
        features = np.ascontiguousarray(feats.T, dtype=np.float32)
    elif feats.shape[0] == n:
        features = np.ascontiguousarray(feats, dtype=np.float32)
    else:
        raise InputError(
            f"{p}: field 'features' has shape {feats.shape} but 'labels' lists {n} images; "
            f"features must be (dimensions x images) with one column per label"
        )
    image_files = None
    if "image_files" in mat:
        image_files = _cell_strings(mat["image_files"])
        if len(image_files) != n:
            raise InputError(f"{p}: field 'image_files' lists {len(image_files)} files but 'labels' lists {n} images; they must match")
    return Res101(features, labels, image_files, p)


# --------------------------------------------------------------------------- dataset


@dataclass
class Xlsa17Dataset:
    """One xlsa17 dataset: features and labels of every image, class embeddings, splits.

    Attributes
    ----------
    name : str
        The folder name, e.g. ``'AWA2'``.
    class_names : list of str
        The K class names.
    attributes : numpy.ndarray
        (K, A) float64 class embeddings (attributes, or sentence embeddings).
    features : numpy.ndarray
        (N, D) float32 image features.
    labels : numpy.ndarray
        (N,) int64 0-based class index of each image.
    splits : dict of str to numpy.ndarray
        0-based image indices per split (keys of :data:`LOC_KEYS` present in the file).
    seen_classes : list of str
        Classes of the ``trainval`` images, in class-index order.
    unseen_classes : list of str
        Classes of the ``test_unseen`` images, in class-index order.
    train_classes : list of str or None
        Classes of the ``train`` images, when the file has ``train_loc``.
    val_classes : list of str or None
        Classes of the ``val`` images (the validation classes, disjoint from
        ``train_classes`` in the proposed split), when the file has ``val_loc``.
    """

    name: str
    class_names: list[str]
    attributes: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    splits: dict[str, np.ndarray]
    seen_classes: list[str]
    unseen_classes: list[str]
    train_classes: list[str] | None
    val_classes: list[str] | None

    def split_classes(self, split: str) -> list[str]:
        """Names of the classes that have images in ``split``, in class-index order."""
        idx = self._split(split)
        return [self.class_names[k] for k in np.unique(self.labels[idx])]

    def items(self, split: str) -> tuple[np.ndarray, list[str]]:
        """Features and class names of the images of one split.

        Parameters
        ----------
        split : str
            One of the keys of :attr:`splits` (``'trainval'``, ``'test_seen'``,
            ``'test_unseen'``, and ``'train'`` / ``'val'`` when present).

        Returns
        -------
        features : numpy.ndarray
            (n, D) float32 features of the split's images.
        names : list of str
            The class name of each of those images.
        """
        idx = self._split(split)
        return self.features[idx], [self.class_names[k] for k in self.labels[idx]]

    def _split(self, split: str) -> np.ndarray:
        if split not in self.splits:
            raise InputError(f"{self.name}: no split '{split}'; choose one of {', '.join(self.splits)}")
        return self.splits[split]


def _find_files(path: Path, att_file: str | None) -> tuple[Path, Path]:
    """(splits file, res101.mat) for a folder, a splits file, or a res101.mat file."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give an xlsa17 dataset folder (with res101.mat and att_splits.mat)")
    if path.is_dir():
        folder = path
        att_path = None
    elif path.name == _RES101:
        folder, att_path = path.parent, None
    else:
        folder, att_path = path.parent, path
        if att_file is not None and Path(att_file).name != path.name:
            raise InputError(f"{path}: att_file={att_file!r} given with a splits file; give the dataset folder instead")
    if att_path is None:
        if att_file is not None:
            att_path = Path(att_file).expanduser()
            if not att_path.is_absolute():
                att_path = folder / att_path
            if not att_path.is_file():
                raise InputError(f"{att_path}: no such file; att_file names a splits file in {folder}")
        else:
            found = [folder / f for f in _SPLITS_FILES if (folder / f).is_file()]
            if not found:
                raise InputError(
                    f"{folder}: no att_splits.mat or sent_splits.mat; an xlsa17 dataset folder holds the class "
                    f"attributes and splits in att_splits.mat next to res101.mat"
                )
            att_path = found[0]
    res_path = folder / _RES101
    if not res_path.is_file():
        raise InputError(
            f"{res_path}: not found; res101.mat holds the ResNet-101 image features and labels and is distributed "
            f"with xlsa17 - put it in {folder} next to {att_path.name}"
        )
    return att_path, res_path


def looks_like_xlsa17(path: str | os.PathLike[str]) -> bool:
    """True for an xlsa17 dataset folder or file.

    That is a folder holding ``att_splits.mat`` or ``sent_splits.mat`` (``res101.mat`` is
    not required here, so that :func:`load_xlsa17` can explain it is missing), or a file
    named ``*_splits.mat`` or ``res101.mat``.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return any((p / f).is_file() for f in _SPLITS_FILES)
    if p.is_file():
        return p.name == _RES101 or p.name.lower().endswith("_splits.mat")
    return False


def _names_of(class_names: list[str], labels: np.ndarray) -> list[str]:
    return [class_names[k] for k in np.unique(labels)]


def load_xlsa17(path: str | os.PathLike[str], *, att_file: str | None = None) -> Xlsa17Dataset:
    """Load an xlsa17 dataset.

    Parameters
    ----------
    path : str or os.PathLike
        The dataset folder (holding ``res101.mat`` and ``att_splits.mat`` or
        ``sent_splits.mat``), or the splits file (or ``res101.mat``) inside it.
    att_file : str, optional
        The splits file to use inside the folder (e.g. ``'sent_splits.mat'``,
        ``'binaryAtt_splits.mat'``); default ``att_splits.mat``, else ``sent_splits.mat``.

    Returns
    -------
    Xlsa17Dataset
        Features, 0-based labels and splits, class embeddings, seen/unseen classes.

    Raises
    ------
    InputError
        A file is missing, or the files are inconsistent: an index out of range, a class
        with images both in ``trainval_loc`` and ``test_unseen_loc``, or a ``test_seen``
        class without ``trainval`` images (see also :func:`read_att_splits`,
        :func:`read_res101`).
    """
    p = Path(path).expanduser()
    att_path, res_path = _find_files(p, att_file)
    splits = read_att_splits(att_path)
    res = read_res101(res_path, n_classes=splits.n_classes)
    n = res.features.shape[0]
    if n != len(res.labels):
        raise InputError(f"{res_path}: 'features' has {n} images but 'labels' has {len(res.labels)}; they must match")
    _ensure_loc_range(splits.locs, n, att_path, res_path)
    names = splits.class_names
    lab = {key: res.labels[idx] for key, idx in splits.locs.items()}
    trainval_set = set(lab["trainval"].tolist())
    both = sorted(trainval_set & set(lab["test_unseen"].tolist()))
    if both:
        listed = ", ".join(f"'{names[k]}'" for k in both[:3]) + (f" and {len(both) - 3} more" if len(both) > 3 else "")
        raise InputError(
            f"{att_path}: class {listed} has images in both trainval_loc and test_unseen_loc; "
            f"seen and unseen classes must be disjoint - check that {res_path.name} and {att_path.name} match"
        )
    missing = sorted(set(lab["test_seen"].tolist()) - trainval_set)
    if missing:
        listed = ", ".join(f"'{names[k]}'" for k in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(
            f"{att_path}: test_seen_loc has images of class {listed}, which has none in trainval_loc; "
            f"test_seen classes must be seen (trainval) classes - check that {res_path.name} and {att_path.name} match"
        )
    folder = att_path.parent
    return Xlsa17Dataset(
        name=folder.resolve().name,
        class_names=list(names),
        attributes=splits.attributes,
        features=res.features,
        labels=res.labels,
        splits=dict(splits.locs),
        seen_classes=_names_of(names, lab["trainval"]),
        unseen_classes=_names_of(names, lab["test_unseen"]),
        train_classes=_names_of(names, lab["train"]) if "train" in lab else None,
        val_classes=_names_of(names, lab["val"]) if "val" in lab else None,
    )
