"""Built-in prompt template sets for text classes. ``{}`` is replaced by the class name."""

from __future__ import annotations

from .errors import LabelError

TEMPLATE_SETS: dict[str, list[str]] = {
    # the class name alone
    "name": ["{}"],
    # generic: works for topics, intents and sentiments alike
    "default": [
        "{}",
        "This text is about {}.",
        "This is an example of {}.",
        "A message about {}.",
    ],
    "topic": [
        "{}",
        "This article is about {}.",
        "A news story about {}.",
        "The topic of this text is {}.",
        "{} news.",
    ],
    "sentiment": [
        "{}",
        "This review is {}.",
        "The sentiment of this text is {}.",
        "A {} opinion.",
        "It was {}.",
    ],
    # images: a compact subset of CLIP's ImageNet prompts (the full 80: concepts.imagenet_templates())
    "photo": [
        "a photo of a {}.",
        "a blurry photo of a {}.",
        "a low resolution photo of a {}.",
        "a close-up photo of a {}.",
        "a photo of the large {}.",
        "a photo of the small {}.",
        "a bright photo of a {}.",
        "a cropped photo of a {}.",
    ],
    "intent": [
        "{}",
        "The customer is asking about {}.",
        "A question about {}.",
        "I need help with {}.",
    ],
}


# the default for text: every text set above joined (15 prompts). Chosen on dev data across task kinds
# (SST-2 dev, a Banking77 train sample, BBC News, WordNet lexicographer classes): +5.3 / -0.3 / +6.8 / +4.7
# accuracy points over the name alone with MiniLM, within 1.8 points of the best set on each (lexnames: intent 62.1)
# (docs/benchmarks.md, "Names only").
TEMPLATE_SETS["ensemble"] = list(dict.fromkeys(
    TEMPLATE_SETS["name"] + TEMPLATE_SETS["default"] + TEMPLATE_SETS["topic"] + TEMPLATE_SETS["sentiment"]
    + TEMPLATE_SETS["intent"]))

#: the set used when no templates are given: ``ensemble`` for text encoders; image encoders with a
#: text tower (CLIP-like) get ``photo`` instead (:meth:`transzero.LabelSpace.for_modality`)
DEFAULT_TEMPLATES = "ensemble"
DEFAULT_TEMPLATES_BY_MODALITY = {"text": "ensemble", "image": "photo", "audio": "name"}


def resolve_templates(templates: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """A template set name, or a list of templates, checked to contain ``{}`` exactly once."""
    if templates is None:
        return list(TEMPLATE_SETS[DEFAULT_TEMPLATES])
    if isinstance(templates, str):
        if templates in TEMPLATE_SETS:
            return list(TEMPLATE_SETS[templates])
        if "{}" not in templates:
            raise LabelError(
                f"unknown template set {templates!r}; use one of {', '.join(TEMPLATE_SETS)} or a template with '{{}}'"
            )
        templates = [templates]
    out = list(templates)
    for t in out:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise LabelError(f"template {t!r} must contain '{{}}' exactly once (where the class name goes)")
    return out
