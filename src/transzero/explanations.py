"""What an explanation holds: its sources sit under one of :data:`SOURCE_KEYS`, the decided class's first, then
the runner-up class's (see :meth:`transzero.ZeroShotClassifier.explain_encoded`)."""

from __future__ import annotations

from typing import Any

__all__ = ["SOURCE_KEYS", "explanation_sources"]

#: the keys an explanation's sources may sit under: bridges' concepts, classical ZSL's attributes, speech
#: methods' spoken forms, and nearest class prompts
SOURCE_KEYS = ("concepts", "attributes", "forms", "prompts")


def explanation_sources(e: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The sources of one explanation: its ``concepts``, ``attributes``, spoken ``forms`` or nearest ``prompts``
    (the decided class's first, then the runner-up's; each tagged with its ``class`` and ``class_score``)."""
    for key in SOURCE_KEYS:
        if key in e:
            return list(e[key])
    return None
