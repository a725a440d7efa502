"""Concept vocabularies of pretrained classifiers (the "concept heads" of image encoders).

``imagenet_concepts()`` gives the 1,000 ImageNet-1k classes in output order, each with
its WordNet 3.0 noun id and synonyms (``resources/imagenet_synsets.txt``, from the ILSVRC
localization mapping file) and CLIP's curated display name (``resources/imagenet_clip_names.txt``,
MIT, see ``NOTICE-CLIP.txt``). ``imagenet_templates()`` gives CLIP's 80 ImageNet prompts.
Data only (the encoders read it): the label space of a concept set is :func:`transzero.labels.concept_label_space`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Concept", "imagenet_concepts", "imagenet_templates"]


@dataclass(frozen=True)
class Concept:
    """One output of a classifier head."""

    index: int
    wnid: str | None
    names: tuple[str, ...]
    #: a short, unambiguous display name (CLIP's curated ImageNet names), when known
    clean_name: str | None = None

    @property
    def name(self) -> str:
        """The first (most common) synonym."""
        return self.names[0]


@lru_cache(maxsize=1)
def imagenet_concepts() -> tuple[Concept, ...]:
    """The 1,000 ImageNet-1k classes; item i is output i of an ImageNet-1k classifier."""
    res = resources.files("transzero.resources")
    text = res.joinpath("imagenet_synsets.txt").read_text(encoding="utf-8")
    clean = [n.strip() for n in res.joinpath("imagenet_clip_names.txt").read_text(encoding="utf-8").splitlines() if n.strip()]
    out = []
    for i, line in enumerate(line for line in text.splitlines() if line.strip()):
        wnid, _, rest = line.strip().partition(" ")
        names = tuple(n.strip() for n in rest.lstrip(" :").split(",") if n.strip())
        out.append(Concept(i, wnid, names, clean[i] if i < len(clean) else None))
    if len(out) != 1000:  # pragma: no cover - packaging error
        raise RuntimeError(f"imagenet_synsets.txt has {len(out)} classes, expected 1000")
    return tuple(out)


@lru_cache(maxsize=1)
def imagenet_templates() -> tuple[str, ...]:
    """CLIP's 80 prompt templates for ImageNet ("a bad photo of a {}.", ...)."""
    text = resources.files("transzero.resources").joinpath("imagenet_templates_clip.txt").read_text(encoding="utf-8")
    return tuple(t for t in text.splitlines() if t.strip())
