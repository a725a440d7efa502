"""LabelSpace: the classes and how each is described, turned into class vectors.

A class is described by its name (filled into prompt templates) and, optionally, by
free-text descriptions or example prompts. Every description of a class is embedded and
the normalised embeddings are averaged (a prompt ensemble, as in CLIP), giving one unit
vector per class. The per-prompt vectors are kept too, for nearest-neighbour methods.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import l2_normalize
from .errors import LabelError
from .templates import resolve_templates

if TYPE_CHECKING:
    from .encoders.base import Encoder
    from .store import EmbeddingCache

__all__ = ["LabelSpace", "ClassEmbeddings", "parse_label_list", "humanize"]


def humanize(name: str) -> str:
    """Text used for a class name in prompts: ``card_arrival`` -> ``card arrival``."""
    return " ".join(name.replace("_", " ").split())


def parse_label_list(text: str) -> list[str]:
    """Split ``"a,b,c"`` into names (whitespace around commas ignored)."""
    return [p.strip() for p in text.split(",")]


def _check_names(names: Sequence[Any], source: str) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise LabelError(f"{source}: label {i + 1} is {type(n).__name__} {n!r}, not text; quote it")
        n = n.strip()
        if not n:
            raise LabelError(f"{source}: label {i + 1} is empty; remove the stray comma or name the class")
        if n in seen:
            raise LabelError(
                f"{source}: label {n!r} appears twice (positions {seen[n] + 1} and {i + 1}); keep one"
            )
        seen[n] = i
        out.append(n)
    if len(out) < 2:
        raise LabelError(f"{source}: need at least 2 labels to classify, got {len(out)}")
    return out


@dataclass
class ClassEmbeddings:
    """Class vectors in one encoder's space.

    Attributes
    ----------
    classes : list of str
    vectors : ndarray (K, D)
        Unit-norm mean of each class's normalised prompt embeddings.
    prompt_vectors : ndarray (P, D)
        Every prompt's own unit vector.
    prompt_labels : ndarray (P,)
        Class index of each prompt.
    prompts : list of str
    """

    classes: list[str]
    vectors: np.ndarray
    prompt_vectors: np.ndarray
    prompt_labels: np.ndarray
    prompts: list[str] = field(default_factory=list)


class LabelSpace:
    """The classes to predict and how each one is described.

    Parameters
    ----------
    names : sequence of str
        Class names, as they appear in predictions. Must be unique and non-empty.
    descriptions : mapping or sequence, optional
        Per class: a description string or a list of them (example sentences work too).
        A mapping may describe only some classes.
    templates : str or list of str, optional
        Prompt templates with ``{}`` for the class name, or a set name from
        :data:`transzero.templates.TEMPLATE_SETS` (``"default"``, ``"topic"``...).
        Default: the name alone.
    use_names : bool
        Embed the templated names; set False to rely on descriptions only (then every
        class needs a description).

    Examples
    --------
    >>> ls = LabelSpace(["sports", "politics"], templates="topic")
    >>> ls.prompts_for("sports")[:2]
    ['sports', 'This article is about sports.']
    """

    def __init__(
        self,
        names: Sequence[str],
        *,
        descriptions: Mapping[str, str | Sequence[str]] | Sequence[str | Sequence[str] | None] | None = None,
        templates: str | Sequence[str] | None = None,
        use_names: bool = True,
    ) -> None:
        self.names = _check_names(list(names), "labels")
        self.templates = resolve_templates(templates if templates is None or isinstance(templates, str) else list(templates))
        self.use_names = bool(use_names)
        self.descriptions = self._normalise_descriptions(descriptions)
        for n in self.names:
            if not self.prompts_for(n):
                raise LabelError(f"label {n!r} has no description and use_names=False; describe it or enable names")
        self._memo: dict[str, ClassEmbeddings] = {}

    def _normalise_descriptions(self, descriptions: Any) -> dict[str, list[str]]:
        if descriptions is None:
            return {}
        if isinstance(descriptions, Mapping):
            unknown = [k for k in descriptions if k not in self.names]
            if unknown:
                raise LabelError(f"descriptions given for unknown label(s) {unknown}; add them to the names")
            items: Iterable[tuple[str, Any]] = descriptions.items()
        else:
            descriptions = list(descriptions)
            if len(descriptions) != len(self.names):
                raise LabelError(
                    f"{len(descriptions)} descriptions for {len(self.names)} labels; give one per label or a mapping"
                )
            items = zip(self.names, descriptions)
        out: dict[str, list[str]] = {}
        for name, d in items:
            if d is None:
                continue
            texts = [d] if isinstance(d, str) else list(d)
            clean = []
            for j, t in enumerate(texts):
                if not isinstance(t, str) or not t.strip():
                    raise LabelError(f"label {name!r}: description {j + 1} is empty or not text; fill it in or remove it")
                clean.append(t.strip())
            out[name] = clean
        return out

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, templates: str | Sequence[str] | None = None, use_names: bool | None = None
    ) -> LabelSpace:
        """Read a labels file (JSON or YAML).

        Accepted shapes::

            [sports, politics]                    # names only
            {sports: "games and athletes", ...}   # name -> description
            {sports: ["a match", "the team"]}     # name -> list of descriptions / prompts
            {templates: ["{} news"], use_names: true, labels: {...}}   # with options

        ``templates``/``use_names`` passed here override those in the file.
        """
        p = Path(path).expanduser()
        if not p.is_file():
            raise LabelError(f"labels file {str(p)!r} does not exist; check the path")
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LabelError(f"labels file {p.name}: byte {exc.start} is not UTF-8; re-save the file as UTF-8") from None
        if not text.strip():
            raise LabelError(f"labels file {p.name} is empty; list the labels (see `transzero classify --help`)")
        data = _parse_structured(text, p)
        if isinstance(data, str) or data is None:
            raise LabelError(
                f"labels file {p.name}: expected a list of labels or a mapping label -> description, got plain text"
            )
        options: dict[str, Any] = {}
        if isinstance(data, Mapping) and "labels" in data and set(data) <= {"labels", "templates", "use_names"}:
            options = {k: v for k, v in data.items() if k != "labels"}
            data = data["labels"]
        if isinstance(data, list):
            names, desc = data, None
        elif isinstance(data, Mapping):
            names = [str(k) for k in data]
            desc = {str(k): v for k, v in data.items() if v is not None}
            for k, v in desc.items():
                if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                    raise LabelError(
                        f"labels file {p.name}: label {k!r} must map to a description string or a list of strings"
                    )
        else:
            raise LabelError(f"labels file {p.name}: expected a list of labels or a mapping label -> description")
        tmpl = templates if templates is not None else options.get("templates")
        un = use_names if use_names is not None else options.get("use_names", True)
        try:
            return cls(names, descriptions=desc, templates=tmpl, use_names=bool(un))
        except LabelError as exc:
            raise LabelError(f"labels file {p.name}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (what :meth:`from_dict` reads)."""
        return {
            "names": list(self.names),
            "descriptions": {k: list(v) for k, v in self.descriptions.items()},
            "templates": list(self.templates),
            "use_names": self.use_names,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LabelSpace:
        """Inverse of :meth:`to_dict`."""
        return cls(d["names"], descriptions=d.get("descriptions") or None, templates=d.get("templates"), use_names=d.get("use_names", True))

    # ------------------------------------------------------------------ prompts
    def prompts_for(self, name: str) -> list[str]:
        """Every text embedded for class ``name`` (templated name, then descriptions)."""
        out = [t.format(humanize(name)) for t in self.templates] if self.use_names else []
        out += self.descriptions.get(name, [])
        return list(dict.fromkeys(out))

    def all_prompts(self) -> tuple[list[str], np.ndarray]:
        """All prompts and the class index of each."""
        prompts: list[str] = []
        labels: list[int] = []
        for k, n in enumerate(self.names):
            p = self.prompts_for(n)
            prompts += p
            labels += [k] * len(p)
        return prompts, np.asarray(labels, dtype=np.int64)

    def embed(self, encoder: Encoder, cache: EmbeddingCache | None = None) -> ClassEmbeddings:
        """Class vectors in ``encoder``'s space; computed once per encoder and label space."""
        fp = encoder.fingerprint
        if fp not in self._memo:
            prompts, labels = self.all_prompts()
            vecs = cache.encode(encoder, prompts) if cache is not None else encoder.encode(prompts)
            vecs = l2_normalize(vecs)
            centroids = np.stack([vecs[labels == k].mean(axis=0) for k in range(len(self.names))])
            self._memo[fp] = ClassEmbeddings(list(self.names), l2_normalize(centroids), vecs, labels, prompts)
        return self._memo[fp]

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:5]) + (", ..." if len(self.names) > 5 else "")
        return f"LabelSpace([{shown}], n={len(self.names)}, templates={len(self.templates)}, described={len(self.descriptions)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSpace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _parse_structured(text: str, p: Path) -> Any:
    if p.suffix.lower() == ".txt":  # one label per line
        return [line.strip() for line in text.splitlines() if line.strip()]
    if p.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelError(f"labels file {p.name} line {exc.lineno}: invalid JSON ({exc.msg}); fix it") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise LabelError(f"labels file {p.name}{where}: could not parse ({problem}); fix the YAML/JSON") from None
