"""Learning curves: K labelled examples per class, several seeds, every method, one plot.

The support and evaluation items are encoded once; each (method, K, seed) fit then works
on vectors (:meth:`ZeroShotClassifier.fit_encoded`), so a whole curve costs one encoding
pass plus the fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .io import atomic_path

__all__ = ["ShotSample", "learning_curve", "parse_shots", "plot_curve", "sample_shots"]


@dataclass
class ShotSample:
    """Indices of a K-shot sample and the classes that had fewer than K examples."""

    indices: np.ndarray
    short: dict[str, int] = field(default_factory=dict)


def parse_shots(text: str) -> list[int]:
    """``"0,1,2,4"`` -> ``[0, 1, 2, 4]`` (sorted, unique; a clear error for anything else)."""
    try:
        shots = sorted({int(s) for s in str(text).split(",") if s.strip()})
    except ValueError:
        raise InputError(f"--shots must be whole numbers separated by commas, e.g. 0,1,2,4,8,16; got {text!r}") from None
    if not shots or shots[0] < 0:
        raise InputError(f"--shots must be whole numbers >= 0, got {text!r}")
    return shots


def sample_shots(labels: Sequence[str], k: int, seed: int, classes: Sequence[str] | None = None) -> ShotSample:
    """Pick ``k`` examples of every class (without replacement), reproducibly for ``seed``.

    A class with fewer than ``k`` examples contributes all it has (documented fallback);
    it is named in :attr:`ShotSample.short` with its count. Samples for a larger ``k``
    extend those for a smaller one with the same seed (nested curves).
    """
    y = np.asarray([str(v) for v in labels], dtype=object)
    wanted = [str(c) for c in (classes if classes is not None else sorted(set(y)))]
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    short: dict[str, int] = {}
    for c in wanted:
        idx = np.flatnonzero(y == c)
        order = rng.permutation(len(idx))  # a fixed permutation per (seed, class): nested for growing k
        if len(idx) < k:
            short[c] = int(len(idx))
        picked.append(idx[order[: min(k, len(idx))]])
    out = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return ShotSample(np.sort(out.astype(np.int64)), short)


def learning_curve(
    make: Callable[[str], Any],
    methods: Sequence[str],
    X_support: np.ndarray,
    y_support: Sequence[str],
    X_eval: np.ndarray,
    y_eval: Sequence[str],
    shots: Sequence[int],
    seeds: int = 3,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    items_support: Sequence[Any] | None = None,
    items_eval: Sequence[Any] | None = None,
    transduction: Any = None,
) -> list[dict[str, Any]]:
    """Accuracy of every method at every K, mean ± std over ``seeds`` seeds.

    Parameters
    ----------
    make : callable
        ``make(method_name)`` -> an unfitted :class:`~transzero.ZeroShotClassifier`.
    X_support, y_support : support vectors and their labels (the pool K are drawn from). Rows that no
        sample draws may be NaN (jobs encode only the drawn rows); a drawn NaN row is an error.
    X_eval, y_eval : evaluation vectors and gold labels.
    items_support, items_eval : the raw items behind those vectors, for methods that train the
        encoder (``finetune``): they fit on items and re-encode the evaluation items.
    transduction : Transduction, optional
        Adapt every fitted classifier to the evaluation items; rows then also hold
        ``inductive_accuracy_mean`` (the same fits without adaptation).

    Returns
    -------
    list of dict
        One row per (method, K) (zero-shot methods ignore the support: the same number at
        every K): ``method``, ``shots``, ``accuracy_mean``, ``accuracy_std``,
        ``mean_per_class_accuracy_mean``, ``runs`` (per-seed accuracies), ``n_support``
        and ``short_classes`` (classes with fewer than K examples, and their counts); for ``auto``
        also ``chosen`` (the method picked per seed) and ``selection`` (its cross-validation scores).
    """
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1, got {seeds}")
    y_eval_a = np.asarray([str(v) for v in y_eval], dtype=object)
    y_sup = np.asarray([str(v) for v in y_support], dtype=object)
    from .methods import create_method, get_tags

    rows = []
    for name in methods:
        proto = create_method(name)
        tags = get_tags(proto)
        learns = tags.learns_from_labels  # zero-shot methods: a flat line, support unused
        needs_items = tags.trains_encoder or tags.raw_items  # fine-tuning, and methods that read clips themselves
        if needs_items and (items_support is None or items_eval is None):
            raise InputError(f"method {name!r} reads or trains on the raw items, not only vectors; pass the items")
        if tags.raw_items and transduction is not None:
            raise InputError(f"method {name!r} reads raw items: transductive learning curves are not supported with it "
                             "(yet); drop --transductive or use a vector method")
        for k in shots:
            accs, mpcas, n_sup, ind_accs, chosen = [], [], [], [], []
            short: dict[str, int] = {}
            for seed in range(seeds if k > 0 and learns else 1):  # 0 shots: no sampling, one run
                clf = make(name)
                if k == 0 or not learns:
                    clf.fit_encoded()
                else:
                    s = sample_shots(y_sup, k, seed, classes=_classes_of(clf, y_sup))
                    short.update(s.short)
                    n_sup.append(len(s.indices))
                    if needs_items:  # the encoder changes: fit on items, re-encode the evaluation items
                        assert items_support is not None and items_eval is not None
                        clf.fit([items_support[i] for i in s.indices], y_sup[s.indices])
                    else:
                        Xs = X_support[s.indices]
                        if not np.all(np.isfinite(Xs)):
                            raise InputError("a sampled support example has no vector (NaN); encode every sampled row")
                        clf.fit_encoded(Xs, y_sup[s.indices])
                if needs_items and (k > 0 or tags.raw_items):
                    assert items_eval is not None
                    Xe = clf.encode(list(items_eval))
                else:
                    Xe = X_eval
                z = clf.head_.score(Xe).logits
                if getattr(clf, "selection_", None):
                    chosen.append(clf.selection_)
                pred = np.asarray(clf.classes_[np.argmax(z, axis=1)], dtype=object)
                if transduction is not None:
                    ind_accs.append(float((pred == y_eval_a).mean()))
                    pred = np.asarray(clf.classes_[np.argmax(transduction.adapt(Xe, z), axis=1)], dtype=object)
                accs.append(float((pred == y_eval_a).mean()))
                mpcas.append(float(np.mean([(pred[y_eval_a == c] == c).mean() for c in np.unique(y_eval_a)])))
            row = {"method": name, "shots": int(k), "accuracy_mean": float(np.mean(accs)),
                   "accuracy_std": float(np.std(accs)), "mean_per_class_accuracy_mean": float(np.mean(mpcas)),
                   "runs": accs, "n_support": int(np.mean(n_sup)) if n_sup else 0, "short_classes": short}
            if transduction is not None:
                row["inductive_accuracy_mean"] = float(np.mean(ind_accs))
            if chosen:  # ``auto``: what it chose for each seed, and why
                row["chosen"] = [c["chosen"] for c in chosen]
                row["selection"] = chosen
            rows.append(row)
            if on_row:
                on_row(row)
    return rows


def _classes_of(clf: Any, y_sup: np.ndarray) -> list[str]:
    """Classes to sample: the classifier's label space (support labels outside it fail in fit)."""
    space = clf.resolve_labels()
    names = [str(n) for n in space.names]
    extra = sorted(set(y_sup) - set(names))
    if extra:
        raise InputError(
            f"support label {extra[0]!r} is not among the {len(names)} classes; add it to the labels or drop those rows"
        )
    return names


def plot_curve(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Accuracy vs shots, one line per method (mean, with a ±std band), written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name in dict.fromkeys(r["method"] for r in rows):
        rs = sorted((r for r in rows if r["method"] == name), key=lambda r: r["shots"])
        x = np.asarray([r["shots"] for r in rs], dtype=float)
        m = 100 * np.asarray([r["accuracy_mean"] for r in rs])
        sd = 100 * np.asarray([r["accuracy_std"] for r in rs])
        ax.plot(x, m, marker="o", label=name)
        ax.fill_between(x, m - sd, m + sd, alpha=0.15)
    ax.set_xscale("symlog", linthresh=1)
    ticks = sorted({r["shots"] for r in rows})
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlabel("labelled examples per class (K)")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out
