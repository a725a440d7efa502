"""LabelSpace: the classes and how each is described, turned into class vectors.

A class is described by its name (filled into prompt templates) and, optionally, by
free-text descriptions or example prompts. Every description of a class is embedded and
the normalised embeddings are averaged (a prompt ensemble, as in CLIP), giving one unit
vector per class. The per-prompt vectors are kept too, for nearest-neighbour methods.

Classes can also carry *semantics* that live in their own space (classical zero-shot
learning): an attribute matrix (K x A, e.g. AWA2's 85 attributes), WordNet glosses
(embedded by a text encoder), or concatenations such as ``"attributes+text"``. Each
block is L2-normalised per class and the blocks are joined so that every class vector
has unit norm.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import l2_normalize
from .errors import LabelError, SavedModelError
from .names import readable_names
from .templates import resolve_templates

if TYPE_CHECKING:
    from .concepts import Concept
    from .encoders.base import Encoder
    from .store import EmbeddingCache
    from .persistence import ModelFolder

__all__ = [
    "SEMANTIC_BLOCKS", "ClassEmbeddings", "LabelSpace", "concept_label_space", "humanize", "parse_label_list",
    "read_attributes",
]

#: blocks a ``semantics=`` setting may join with "+"
SEMANTIC_BLOCKS = ("text", "attributes", "gloss")


def humanize(name: str) -> str:
    """Text used for a class name in prompts: ``card_arrival`` -> ``card arrival``."""
    return " ".join(name.replace("_", " ").split())


def parse_label_list(text: str) -> list[str]:
    """Split ``"a,b,c"`` into names (whitespace around commas ignored)."""
    return [p.strip() for p in text.split(",")]


def label_key(name: str) -> str:
    """What makes two labels the same class: case, spacing and punctuation ignored (``"Sci/Tech"`` ~ ``"sci tech"``)."""
    key = re.sub(r"[\W_]+", "", name.casefold())
    return key or name


def _check_names(names: Sequence[Any], source: str) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise LabelError(f"{source}: label {i + 1} is {type(n).__name__} {n!r}, not text; quote it")
        n = n.strip()
        if not n:
            raise LabelError(f"{source}: label {i + 1} is empty; remove the stray comma or name the class")
        key = label_key(n)
        if key in seen:
            first = out[seen[key]]
            if first == n:
                raise LabelError(f"{source}: label {n!r} appears twice (positions {seen[key] + 1} and {i + 1}); keep one")
            raise LabelError(
                f"{source}: labels {first!r} (position {seen[key] + 1}) and {n!r} (position {i + 1}) differ only in "
                "case, spacing or punctuation, so they would split one class's probability; keep one"
            )
        seen[key] = i
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
    kind : str
        What the vectors are: ``"text"`` (prompt embeddings in the label encoder's space) or
        a semantics setting such as ``"attributes"`` / ``"text+gloss"``.
    feature_names : list of str, optional
        Name of every vector dimension when they mean something (attribute names).
    """

    classes: list[str]
    vectors: np.ndarray
    prompt_vectors: np.ndarray
    prompt_labels: np.ndarray
    prompts: list[str] = field(default_factory=list)
    kind: str = "text"
    feature_names: list[str] | None = None

    def save_config(self, folder: ModelFolder, prefix: str = "") -> dict[str, Any]:
        """Write the vectors into a saved-model folder; the config entry that names them."""
        return {"kind": self.kind, "feature_names": self.feature_names, "prompts": list(self.prompts),
                "vectors": folder.save_array(f"{prefix}class_vectors", self.vectors),
                "prompt_vectors": folder.save_array(f"{prefix}prompt_vectors", self.prompt_vectors),
                "prompt_labels": folder.save_array(f"{prefix}prompt_labels", self.prompt_labels)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], folder: ModelFolder, classes: Sequence[str]) -> ClassEmbeddings:
        """Read what :meth:`save_config` wrote (shapes checked against the classes)."""
        vectors = folder.load_array(cfg["vectors"])
        prompt_vectors = folder.load_array(cfg["prompt_vectors"])
        prompt_labels = folder.load_array(cfg["prompt_labels"])
        K = len(classes)
        if vectors.ndim != 2 or len(vectors) != K:
            raise SavedModelError(f"{folder.root}: {cfg['vectors']} has shape {vectors.shape}, expected ({K}, dim)")
        if prompt_vectors.ndim != 2 or prompt_vectors.shape[1] != vectors.shape[1] or len(prompt_labels) != len(prompt_vectors):
            raise SavedModelError(f"{folder.root}: prompt vectors {prompt_vectors.shape} and labels {prompt_labels.shape} "
                                  "do not match the class vectors; save the classifier again")
        return cls(list(classes), vectors, prompt_vectors, prompt_labels.astype(np.int64), list(cfg.get("prompts") or []),
                   cfg.get("kind", "text"), cfg.get("feature_names"))

    def subset(self, names: Sequence[str]) -> ClassEmbeddings:
        """The same vectors for some classes only, in the order given."""
        index = {c: i for i, c in enumerate(self.classes)}
        missing = [n for n in names if n not in index]
        if missing:
            raise LabelError(f"class {missing[0]!r} is not in the label space; add it (with its semantics)")
        rows = np.asarray([index[n] for n in names], dtype=np.int64)
        keep = np.isin(self.prompt_labels, rows)
        remap = {int(r): j for j, r in enumerate(rows)}
        labels = np.asarray([remap[int(k)] for k in self.prompt_labels[keep]], dtype=np.int64)
        prompts = [p for p, k in zip(self.prompts, keep) if k] if self.prompts else []
        return ClassEmbeddings(list(names), self.vectors[rows], self.prompt_vectors[keep], labels, prompts,
                               self.kind, self.feature_names)


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
        Default: the ``ensemble`` set (15 prompts chosen on dev data); image encoders with a
        text tower get the ``photo`` set instead (:meth:`for_modality`).
    use_names : bool
        Embed the templated names; set False to rely on descriptions only (then every
        class needs a description).
    attributes : array-like (K, A), optional
        Class-attribute matrix, one row per class in ``names`` order (binary or continuous),
        for classical zero-shot methods (``dap``, ``eszsl``, ``sae``, ``devise``, ``ale``, ``sje``).
    attribute_names : sequence of str, optional
        Name of each attribute column (used to explain predictions).
    wnids : mapping or sequence, optional
        WordNet id (``n02084071``) or synset name (``dog.n.01``) per class, for ``gloss``
        semantics; by default the class name itself is looked up (its most frequent noun sense).
    semantics : str
        What :meth:`embed` returns: ``"text"`` (templated names and descriptions in the
        encoder's space), ``"attributes"``, ``"gloss"`` (WordNet glosses embedded by the
        encoder) or a ``"+"``-joined combination, e.g. ``"text+gloss"``. ``"auto"``:
        attributes when given, else text.

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
        attributes: Any = None,
        attribute_names: Sequence[str] | None = None,
        wnids: Mapping[str, str] | Sequence[str | None] | None = None,
        semantics: str = "auto",
    ) -> None:
        if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            raise LabelError(f"labels must be a list of names, got {type(names).__name__}")
        self.names = _check_names(list(names), "labels")
        if not (templates is None or isinstance(templates, str) or (
                isinstance(templates, Iterable) and all(isinstance(t, str) for t in templates))):
            raise LabelError(f"templates must be a set name, a template with {{}} or a list of them, got {templates!r}")
        self.templates = resolve_templates(templates if templates is None or isinstance(templates, str) else list(templates))
        #: True when no templates were given (the modality's default set applies)
        self.default_templates = templates is None
        if not isinstance(use_names, (bool, np.bool_)):
            raise LabelError(f"use_names must be true or false, got {use_names!r}")
        self.use_names = bool(use_names)
        self.descriptions = self._normalise_descriptions(descriptions)
        for n in self.names:
            if not self.prompts_for(n):
                raise LabelError(f"label {n!r} has no description and use_names=False; describe it or enable names")
        self.attributes = self._check_attributes(attributes)
        self.attribute_names = self._check_attribute_names(attribute_names)
        self.wnids = self._normalise_wnids(wnids)
        self.semantics = self._check_semantics(semantics)
        self._memo: dict[str, ClassEmbeddings] = {}

    @classmethod
    def from_attributes(
        cls, names: Sequence[str], attributes: Any, attribute_names: Sequence[str] | None = None, **kwargs: Any
    ) -> LabelSpace:
        """A label space described by a class-attribute matrix ``(K, A)`` (``semantics="attributes"``)."""
        kwargs.setdefault("semantics", "attributes")
        return cls(names, attributes=attributes, attribute_names=attribute_names, **kwargs)

    def _check_attributes(self, attributes: Any) -> np.ndarray | None:
        if attributes is None:
            return None
        try:
            A = np.asarray(attributes, dtype=np.float64)
        except (TypeError, ValueError):
            raise LabelError("attributes must be a numeric matrix (classes x attributes)") from None
        if A.ndim != 2:
            raise LabelError(f"attributes must be a matrix (classes x attributes), got shape {A.shape}")
        if A.shape[0] != len(self.names):
            hint = "; it looks transposed (attributes x classes): pass its .T" if A.shape[1] == len(self.names) else ""
            raise LabelError(f"attribute matrix has {A.shape[0]} rows but there are {len(self.names)} classes; "
                             f"give one row per class{hint}")
        bad = ~np.all(np.isfinite(A), axis=1)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise LabelError(f"class {self.names[k]!r} has NaN or infinite attributes ({int(bad.sum())} class(es) do); "
                             "fill them in")
        return A

    def _check_attribute_names(self, attribute_names: Sequence[str] | None) -> list[str] | None:
        if attribute_names is None:
            return None
        out = [str(a) for a in attribute_names]
        if self.attributes is None:
            raise LabelError("attribute_names given without attributes; pass the attribute matrix too")
        if len(out) != self.attributes.shape[1]:
            raise LabelError(f"{len(out)} attribute names for {self.attributes.shape[1]} attribute columns; give one per column")
        return out

    def _normalise_wnids(self, wnids: Any) -> dict[str, str]:
        if wnids is None:
            return {}
        if isinstance(wnids, Mapping):
            unknown = [k for k in wnids if k not in self.names]
            if unknown:
                raise LabelError(f"wnids given for unknown label(s) {unknown[:5]}; add them to the names")
            return {str(k): str(v) for k, v in wnids.items() if v}
        wnids = list(wnids)
        if len(wnids) != len(self.names):
            raise LabelError(f"{len(wnids)} wnids for {len(self.names)} labels; give one per label or a mapping")
        return {n: str(w) for n, w in zip(self.names, wnids) if w}

    def _check_semantics(self, semantics: str) -> str:
        kind = str(semantics).strip().lower()
        if kind == "auto":
            return kind
        blocks = [b.strip() for b in kind.split("+")]
        for b in blocks:
            if b not in SEMANTIC_BLOCKS:
                raise LabelError(f"unknown semantics {b!r}; choose from {', '.join(SEMANTIC_BLOCKS)} (joined with '+') or auto")
        if len(set(blocks)) != len(blocks):
            raise LabelError(f"semantics {semantics!r} repeats a block; name each once")
        if "attributes" in blocks and self.attributes is None:
            raise LabelError(f"semantics {semantics!r} needs an attribute matrix; pass attributes= (classes x attributes)")
        return "+".join(blocks)

    @property
    def semantic_kind(self) -> str:
        """The resolved ``semantics`` setting (``"auto"`` becomes attributes or text)."""
        if self.semantics == "auto":
            return "attributes" if self.attributes is not None else "text"
        return self.semantics

    def for_modality(self, modality: str) -> LabelSpace:
        """This label space, or a copy with the default templates of ``modality`` when none were chosen."""
        from .templates import DEFAULT_TEMPLATES_BY_MODALITY, TEMPLATE_SETS

        return self._with_default_templates(TEMPLATE_SETS[DEFAULT_TEMPLATES_BY_MODALITY.get(modality, "ensemble")])

    def _with_default_templates(self, want: list[str] | None) -> LabelSpace:
        """A copy using ``want`` as its default templates; this space itself when templates were chosen (or None)."""
        if want is None or not self.default_templates or self.templates == want:
            return self
        d = self.to_dict()
        d["templates"] = list(want)
        out = LabelSpace.from_dict(d)
        out.default_templates = True
        return out

    def for_language(self, language: str | None) -> LabelSpace:
        """This label space, or a copy with the default text templates translated into ``language``
        (:data:`transzero.templates.TRANSLATED_TEMPLATES`) when none were chosen and a translation exists."""
        from .templates import TRANSLATED_TEMPLATES

        return self._with_default_templates(TRANSLATED_TEMPLATES.get(str(language or "").lower()))

    def with_semantics(self, semantics: str) -> LabelSpace:
        """A copy of this label space whose :meth:`embed` returns other semantics."""
        d = self.to_dict()
        d["semantics"] = semantics
        return LabelSpace.from_dict(d)

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
            desc = {str(k): v for k, v in data.items() if not _is_null(v)}
            for k, v in desc.items():
                if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                    raise LabelError(
                        f"labels file {p.name}: label {k!r} must map to a description string or a list of strings"
                    )
        else:
            raise LabelError(f"labels file {p.name}: expected a list of labels or a mapping label -> description")
        tmpl = templates if templates is not None else options.get("templates")
        try:
            un = use_names if use_names is not None else _parse_bool(options.get("use_names", True), "use_names")
            return cls(names, descriptions=desc, templates=tmpl, use_names=un)
        except LabelError as exc:
            raise LabelError(f"labels file {p.name}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (what :meth:`from_dict` reads)."""
        return {
            "names": list(self.names),
            "descriptions": {k: list(v) for k, v in self.descriptions.items()},
            "templates": list(self.templates),
            "use_names": self.use_names,
            "attributes": self.attributes.tolist() if self.attributes is not None else None,
            "attribute_names": list(self.attribute_names) if self.attribute_names is not None else None,
            "wnids": dict(self.wnids),
            "semantics": self.semantics,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LabelSpace:
        """Inverse of :meth:`to_dict`."""
        return cls(d["names"], descriptions=d.get("descriptions") or None, templates=d.get("templates"),
                   use_names=d.get("use_names", True), attributes=d.get("attributes"),
                   attribute_names=d.get("attribute_names"), wnids=d.get("wnids") or None,
                   semantics=d.get("semantics", "auto"))

    # ------------------------------------------------------------------ prompts
    def prompts_for(self, name: str) -> list[str]:
        """Every text embedded for class ``name`` (templated name, then descriptions)."""
        out = [t.format(self.readable_names()[name]) for t in self.templates] if self.use_names else []
        out += self.descriptions.get(name, [])
        return list(dict.fromkeys(out))

    def readable_names(self) -> dict[str, str]:
        """Each class name as the prompts read it (:func:`transzero.names.readable_names`)."""
        key = tuple(self.names)
        memo = self.__dict__.get("_readable")
        if memo is None or memo[0] != key:
            memo = self.__dict__["_readable"] = (key, dict(zip(key, readable_names(list(key)))))
        return memo[1]

    def all_prompts(self) -> tuple[list[str], np.ndarray]:
        """All prompts and the class index of each."""
        prompts: list[str] = []
        labels: list[int] = []
        for k, n in enumerate(self.names):
            p = self.prompts_for(n)
            prompts += p
            labels += [k] * len(p)
        return prompts, np.asarray(labels, dtype=np.int64)

    def n_prompts(self) -> int:
        """How many texts embedding the classes encodes (templated names and descriptions)."""
        return len(self.all_prompts()[0])

    def is_embedded(self, encoder: Encoder | None) -> bool:
        """True when the text class vectors for ``encoder`` are already computed (memoised)."""
        return encoder is not None and encoder.fingerprint in self._memo

    def embed(self, encoder: Encoder | None, cache: EmbeddingCache | None = None, *,
              progress: Any = None) -> ClassEmbeddings:
        """Class vectors; computed once per encoder and label space.

        With text semantics (the default without attributes): the prompt-ensemble vectors in
        ``encoder``'s space. Otherwise the :attr:`semantics` blocks, each L2-normalised per
        class, joined and scaled to unit norm (attributes alone need no encoder).
        """
        kind = self.semantic_kind
        if kind == "text":
            if encoder is None:
                raise LabelError("text semantics need an encoder to embed the class names; pass one")
            return self._embed_text(encoder, cache, progress)
        blocks = kind.split("+")
        if encoder is None and blocks != ["attributes"]:
            raise LabelError(f"semantics {kind!r} need a text encoder to embed names/glosses; pass one")
        key = kind + ("" if encoder is None or blocks == ["attributes"] else "@" + encoder.fingerprint)
        if key not in self._memo:
            parts: list[np.ndarray] = []
            for b in blocks:
                if b == "attributes":
                    assert self.attributes is not None
                    zero = ~np.any(self.attributes != 0, axis=1)
                    if zero.any():
                        raise LabelError(f"class {self.names[int(np.flatnonzero(zero)[0])]!r} has all-zero attributes; "
                                         "describe it (a zero row cannot be normalised)")
                    parts.append(l2_normalize(self.attributes.astype(np.float32)))
                elif b == "text":
                    assert encoder is not None
                    parts.append(self._embed_text(encoder, cache).vectors)
                else:
                    assert encoder is not None
                    texts = self.glosses()
                    vecs = cache.encode(encoder, texts) if cache is not None else encoder.encode(texts)
                    parts.append(l2_normalize(vecs))
            vectors = np.concatenate(parts, axis=1).astype(np.float32) / np.float32(np.sqrt(len(parts)))
            names = list(self.attribute_names) if blocks == ["attributes"] and self.attribute_names else None
            self._memo[key] = ClassEmbeddings(list(self.names), vectors, vectors, np.arange(len(self.names)),
                                              list(self.names), kind, names)
        return self._memo[key]

    def _embed_text(self, encoder: Encoder, cache: EmbeddingCache | None, progress: Any = None) -> ClassEmbeddings:
        fp = encoder.fingerprint
        if fp not in self._memo:
            prompts, labels = self.all_prompts()
            vecs = cache.encode(encoder, prompts, progress=progress) if cache is not None \
                else encoder.encode(prompts, progress=progress)
            vecs = l2_normalize(vecs)
            centroids = np.stack([vecs[labels == k].mean(axis=0) for k in range(len(self.names))])
            self._memo[fp] = ClassEmbeddings(list(self.names), encoder.normalize_vectors(centroids), vecs, labels,
                                             prompts)
        return self._memo[fp]

    def set_embedding(self, fingerprint: str, embeddings: ClassEmbeddings) -> None:
        """Use ``embeddings`` as this label space's class vectors for the encoder with ``fingerprint``
        (a loaded classifier reuses its saved vectors instead of re-embedding)."""
        self._memo[fingerprint] = embeddings

    def glosses(self) -> list[str]:
        """Per class, ``"<lemmas>: <WordNet definition>"`` of its synset (from :attr:`wnids` or the name)."""
        from .wordnet import load_wordnet, synset_for

        wn = load_wordnet()
        out = []
        for n in self.names:
            key = self.wnids.get(n, n)
            syn = synset_for(wn, key)
            if syn is None:
                raise LabelError(f"class {n!r}: no WordNet noun found for {key!r}; give its WordNet id in wnids= "
                                 "or use other semantics")
            lemmas = ", ".join(dict.fromkeys(humanize(lem.name()) for lem in syn.lemmas()))
            out.append(f"{lemmas}: {syn.definition()}")
        return out

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:5]) + (", ..." if len(self.names) > 5 else "")
        extra = f", attributes={self.attributes.shape[1]}" if self.attributes is not None else ""
        return (f"LabelSpace([{shown}], n={len(self.names)}, templates={len(self.templates)}, "
                f"described={len(self.descriptions)}{extra}, semantics={self.semantic_kind})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSpace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _is_null(v: Any) -> bool:
    """A description that means "name only": JSON null, or YAML's null / ~ / nothing (read as strings)."""
    return v is None or (isinstance(v, str) and v.strip() in ("", "~", "null", "Null", "NULL"))


def _parse_bool(v: Any, what: str) -> bool:
    """A true/false option (YAML's yes/no/on/off too), refusing anything else instead of guessing."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return v.strip().lower() in ("true", "yes", "on", "1")
    raise LabelError(f"{what} must be true or false, got {v!r}")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise LabelError(f"key {k!r} appears twice; keep one (a later one would silently replace the first)")
        out[k] = v
    return out


def _yaml_loader() -> type:
    """A YAML loader that keeps every scalar a string (``yes``, ``1.0``, ``null`` stay labels) and refuses duplicate keys."""
    import yaml

    class StrictLoader(yaml.BaseLoader):
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k_node, v_node in node.value:
            k = loader.construct_object(k_node, deep=True)
            if not isinstance(k, str):
                raise LabelError(f"line {k_node.start_mark.line + 1}: a key must be a plain label, not a "
                                 f"{type(k).__name__}")
            if k in out:
                raise LabelError(f"line {k_node.start_mark.line + 1}: key {k!r} appears twice; keep one "
                                 "(a later one would silently replace the first)")
            out[k] = loader.construct_object(v_node, deep=True)
        return out

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return StrictLoader


def _parse_structured(text: str, p: Path) -> Any:
    if p.suffix.lower() == ".txt":  # one label per line
        return [line.strip() for line in text.splitlines() if line.strip()]
    if p.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            raise LabelError(f"labels file {p.name} line {exc.lineno}: invalid JSON ({exc.msg}); fix it") from None
        except LabelError as exc:
            raise LabelError(f"labels file {p.name}: {exc}") from None
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a BaseLoader: strings, lists and dicts only
    except LabelError as exc:
        raise LabelError(f"labels file {p.name} {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise LabelError(f"labels file {p.name}{where}: could not parse ({problem}); fix the YAML/JSON") from None


def read_attributes(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """Read a class-attribute table: CSV/TSV with a header, the class name in the first column.

    Returns ``(class names, matrix (K, A), attribute names)``. Every cell after the first
    column must be a number; the error names the row and column that is not.
    """
    import csv

    p = Path(path).expanduser()
    if not p.is_file():
        raise LabelError(f"attributes file {str(p)!r} does not exist; check the path")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LabelError(f"attributes file {p.name} is not UTF-8 text; save it as CSV") from None
    delim = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    rows = [r for r in csv.reader(text.splitlines(), delimiter=delim) if any(c.strip() for c in r)]
    if len(rows) < 3:
        raise LabelError(f"attributes file {p.name}: need a header row and one row per class (at least 2)")
    header = [c.strip() for c in rows[0]]
    if len(header) < 2:
        raise LabelError(f"attributes file {p.name}: the header must name the class column and at least one attribute")
    names: list[str] = []
    values: list[list[float]] = []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise LabelError(f"attributes file {p.name} row {i}: {len(r)} cells but the header has {len(header)}; fix the row")
        names.append(r[0].strip())
        vals = []
        for j, cell in enumerate(r[1:], start=1):
            try:
                v = float(cell)
            except ValueError:
                raise LabelError(f"attributes file {p.name} row {i} ({r[0].strip()!r}), column {header[j]!r}: "
                                 f"{cell!r} is not a number") from None
            if not np.isfinite(v):
                raise LabelError(f"attributes file {p.name} row {i} ({r[0].strip()!r}), column {header[j]!r}: "
                                 "NaN or infinite; fill it in")
            vals.append(v)
        values.append(vals)
    return names, np.asarray(values, dtype=np.float64), header[1:]


def concept_label_space(concepts: tuple[Concept, ...], *, names: str = "clean", templates: Any = None) -> LabelSpace:
    """A LabelSpace with one class per concept (keyed by WordNet id, as names repeat).

    ``names="clean"`` embeds the curated name, ``"synonyms"`` every synonym, ``"both"``
    both; each goes through ``templates`` (default: the name alone). The same arguments
    return the same object, so its embeddings (memoised per encoder) are computed once
    per process, not at every ``fit``.
    """
    key = templates if templates is None or isinstance(templates, str) else tuple(templates)
    return _concept_label_space(tuple(concepts), names, key)


@lru_cache(maxsize=16)
def _concept_label_space(concepts: tuple[Concept, ...], names: str, templates: Any) -> LabelSpace:
    tmpl = resolve_templates(list(templates) if isinstance(templates, tuple) else templates)
    desc: dict[str, list[str]] = {}
    keys = []
    for c in concepts:
        key = c.wnid or f"concept{c.index}"
        texts = {"clean": [c.name], "synonyms": list(c.names), "both": [c.name, *c.names]}[names]
        desc[key] = list(dict.fromkeys(t.format(n) for n in texts for t in tmpl))
        keys.append(key)
    return LabelSpace(keys, descriptions=desc, use_names=False)
