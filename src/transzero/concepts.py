"""Concept vocabularies of pretrained classifiers (the "concept heads" of image encoders).

``imagenet_concepts()`` gives the 1,000 ImageNet-1k classes in output order, each with
its WordNet 3.0 noun id and synonyms (the list ships in ``resources/imagenet_synsets.txt``,
from the ILSVRC localization mapping file).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Concept", "imagenet_concepts"]


@dataclass(frozen=True)
class Concept:
    """One output of a classifier head."""

    index: int
    wnid: str | None
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The first (most common) synonym."""
        return self.names[0]


@lru_cache(maxsize=1)
def imagenet_concepts() -> tuple[Concept, ...]:
    """The 1,000 ImageNet-1k classes; item i is output i of an ImageNet-1k classifier."""
    text = resources.files("transzero.resources").joinpath("imagenet_synsets.txt").read_text(encoding="utf-8")
    out = []
    for i, line in enumerate(line for line in text.splitlines() if line.strip()):
        wnid, _, rest = line.strip().partition(" ")
        names = tuple(n.strip() for n in rest.lstrip(" :").split(",") if n.strip())
        out.append(Concept(i, wnid, names))
    if len(out) != 1000:  # pragma: no cover - packaging error
        raise RuntimeError(f"imagenet_synsets.txt has {len(out)} classes, expected 1000")
    return tuple(out)
