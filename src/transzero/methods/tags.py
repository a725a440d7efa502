"""What a method declares about itself (its *tags*) and what its ``fit`` receives (a :class:`FitContext`).

Modelled on scikit-learn's ``__sklearn_tags__``: every method class answers the class method
``__transzero_tags__()`` with one typed :class:`MethodTags` object, built on its parent's
tags, instead of ad-hoc class attributes probed with ``getattr``. The classifier reads the
tags to decide what to hand the method in its :class:`FitContext`.

This module imports nothing heavy, so the registry and the CLI's help text can use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..encoders.base import Encoder
    from ..labels import ClassEmbeddings, LabelSpace
    from .concept_head import ConceptHead

__all__ = ["CONTEXT_FIELDS", "FitContext", "MethodTags", "get_tags"]

#: what a method may ask the classifier for in its fit context (:attr:`MethodTags.context`)
CONTEXT_FIELDS = frozenset({"aligned", "concept_head", "text_encoder", "encoder", "label_space"})


@dataclass(frozen=True)
class MethodTags:
    """Capabilities and needs of a scoring method.

    Attributes
    ----------
    learns_from_labels : bool
        ``fit(X, y)`` uses labelled examples (few-shot, classical ZSL); False: zero-shot only.
    zero_shot_prior : bool
        Keeps a zero-shot method inside as a prior (few-shot methods): it needs to know
        whether items and classes share a space (``FitContext.aligned``) and, for backbones
        without a text side, the encoder's concept head.
    concept_head : bool
        Reads the encoder's concept head (a bridge such as ``conse`` or ``wordnet``).
    raw_items : bool
        Reads the raw items itself (speech recognisers get decoded clips, not vectors).
    trains_encoder : bool
        Trains the encoder (``finetune``): ``fit`` needs the raw support items.
    semantics : bool
        Learns a map between item features and class semantics on seen classes (classical ZSL),
        so items and classes need not share a space.
    seen_classes : bool
        Can be trained on seen classes and evaluated on unseen ones (generalized zero-shot).
    text_encoder : bool
        Embeds text it produces itself (``asr-text`` transcripts) with the label encoder.
    item_modality : str
        With ``raw_items``: what the method reads - ``"audio"`` (decoded 16 kHz clips) or ``"image"`` (the
        items as given: paths, bytes, PIL images).
    transcribes : bool
        Transcribes the items it reads (``transcribe(items) -> list[str]``): outputs gain a ``transcript``.
    reads_labels : bool
        Reads the label space itself (the class names, descriptions and aliases), e.g. to know how each class
        is said.
    explains : bool
        Explains its scores itself: ``explain(X, top, classes=None)`` (concepts, attributes, spoken forms);
        otherwise the classifier explains by the nearest class prompts when items and prompts share a space.
    nn_index : bool
        Searches nearest neighbours with a choice of index (``index="exact"|"ann"|"auto"``, ``--index``).
    context : frozenset of str
        The :class:`FitContext` fields the method reads besides the class embeddings (one of
        :data:`CONTEXT_FIELDS`); the classifier fills exactly these. ``text_encoder`` and ``reads_labels`` add
        ``"text_encoder"`` and ``"label_space"`` themselves.
    one_space : bool
        Compares items with class descriptions in one space, so the item encoder must share the label encoder's
        space (a text encoder, a vision-language model); True for plain similarity and for methods that
        declare nothing.
    """

    learns_from_labels: bool = False
    zero_shot_prior: bool = False
    concept_head: bool = False
    raw_items: bool = False
    trains_encoder: bool = False
    semantics: bool = False
    seen_classes: bool = False
    text_encoder: bool = False
    item_modality: str = "audio"
    transcribes: bool = False
    reads_labels: bool = False
    explains: bool = False
    nn_index: bool = False
    context: frozenset[str] = frozenset()
    one_space: bool = True

    def __post_init__(self) -> None:
        implied = {"text_encoder"} if self.text_encoder else set()
        if self.reads_labels:
            implied.add("label_space")
        fields = frozenset(self.context) | implied
        unknown = sorted(fields - CONTEXT_FIELDS)
        if unknown:
            raise ValueError(f"unknown context field {unknown[0]!r} in method tags; known: {sorted(CONTEXT_FIELDS)}")
        object.__setattr__(self, "context", fields)

    def replace(self, **changes: Any) -> MethodTags:
        """A copy with some tags changed (for subclasses building on their parent's tags)."""
        return dataclasses.replace(self, **changes)


def get_tags(method: Any) -> MethodTags:
    """The :class:`MethodTags` of a method instance or class (defaults for objects that declare none)."""
    cls = method if isinstance(method, type) else type(method)
    fn = getattr(cls, "__transzero_tags__", None)
    return fn() if fn is not None else MethodTags()


@dataclass(frozen=True)
class FitContext:
    """Everything a method's ``fit`` may need besides the labelled examples ``X, y``.

    The classifier builds it from the method's :class:`MethodTags`; a method reads only the
    fields its tags ask for. Calling a method directly, ``class_embeddings=`` alone is enough
    for most (``method.fit(X, y, class_embeddings=ce)`` is shorthand for a context).

    Attributes
    ----------
    class_embeddings : ClassEmbeddings
        The classes, embedded (or their attribute/semantic vectors).
    default_logit_scale : float
        The label encoder's similarity scale (``softmax(s · cos)``).
    aligned : bool, optional
        Items and class descriptions share one space (text encoders, CLIP's towers).
    concept_head : ConceptHead, optional
        The encoder's concept classifier and the concepts' text vectors.
    text_encoder : Encoder, optional
        The label encoder, for methods that embed text they produce (``asr-text``).
    items : sequence, optional
        Raw support items, for methods that train the encoder.
    encoder : Encoder, optional
        The item encoder, for methods that train it.
    reembed : callable, optional
        ``reembed(encoder) -> ClassEmbeddings``: the classes embedded by a new encoder.
    label_space : LabelSpace, optional
        The classes as described (names, descriptions), for methods whose tags say ``reads_labels``.
    """

    class_embeddings: ClassEmbeddings | None = None
    default_logit_scale: float = 20.0
    aligned: bool | None = None
    concept_head: ConceptHead | None = None
    text_encoder: Encoder | None = None
    items: Sequence[Any] | None = None
    encoder: Encoder | None = None
    reembed: Callable[[Encoder], ClassEmbeddings] | None = None
    label_space: LabelSpace | None = None

    @classmethod
    def build(cls, context: FitContext | None = None, **fields: Any) -> FitContext:
        """``context`` with ``fields`` set on top (the keyword shorthand of ``fit``); unknown names are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - names)
        if unknown:
            raise InputError(f"fit() got an unknown context field {unknown[0]!r}; known: {', '.join(sorted(names))}")
        given = {k: v for k, v in fields.items() if v is not None}
        if context is None:
            return cls(**given)
        return dataclasses.replace(context, **given) if given else context
