"""The HTTP API's request and response bodies (pydantic; they are the OpenAPI schema at ``/docs``).

These names and keys are a public contract used by scripts: extend them, never rename them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ClassifierInfo", "ClassifierPut", "ClassifyRequest", "ClassifyResponse", "EmbedRequest", "EmbedResponse",
    "ErrorBody", "ExamplesRequest", "Example", "NextResponse", "PoolRequest", "Prediction",
]

#: class names, or name -> description or list of descriptions
Labels = list[str] | dict[str, str | list[str] | None]


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: Any) -> str | None:
    """Where ``value`` (parsed JSON) holds a string that is not valid Unicode (a lone surrogate, which JSON's
    ``\\ud800`` escapes can make): ``"items[1]: character 5 ..."``; None when every string is valid."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        v, where = stack.pop()
        if isinstance(v, str):
            bad = _SURROGATE.search(v)
            if bad:
                return (f"{where or 'body'}: character {bad.start() + 1} ({bad.group()!r}) is a lone surrogate, not "
                        "valid Unicode; send UTF-8 text")
        elif isinstance(v, dict):
            for k in v:
                if isinstance(k, str) and _SURROGATE.search(k):
                    return f"{where or 'body'}: a key holds a lone surrogate, not valid Unicode; send UTF-8 text"
            stack.extend((x, f"{where}.{str(k)[:40]}" if where else str(k)[:40]) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((x, f"{where}[{i}]") for i, x in reversed(list(enumerate(v))))
    return None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        """Every string of a request is valid Unicode (so it can be stored, encoded and answered)."""
        problem = lone_surrogate(data)
        if problem:
            raise ValueError(problem)
        return data


class ItemsMixin(_Body):
    items: list[str] | None = Field(default=None, description="Texts.")
    images: list[str] | None = Field(default=None, description="Images as base64 strings (data: URLs too).")
    audio: list[str] | None = Field(default=None, description="Audio clips (WAV, FLAC, OGG) as base64 strings.")


class ClassifyRequest(ItemsMixin):
    labels: Labels | None = Field(default=None, description="Required unless `classifier` names a saved classifier.")
    encoder: str | None = Field(default=None, description="A registered encoder name (GET /v1/models).")
    preset: Literal["fast", "accurate"] | None = Field(
        default=None, description="Texts without `encoder`: fast or accurate (default: the server's --preset).")
    language: str | None = Field(default=None, max_length=12, description="Texts without `encoder`: their language "
                                 "(en, de, zh, ...; mul for a mix); default: detected from the items.")
    method: str | None = None
    classifier: str | None = Field(default=None, description="A saved classifier (GET /v1/classifiers).")
    top_k: int | None = Field(default=None, ge=1, description="Only the k most probable classes in `scores`.")
    explain: bool | int = Field(default=False, description="Add each prediction's sources (true = 5, or a number).")
    reject: float | None = Field(default=None, ge=0, le=1, description="'None of these' below this probability.")
    multi_label: float | None = Field(default=None, ge=0, le=1, description="Per-label threshold: adds `labels`.")


class Prediction(BaseModel):
    label: str | None
    scores: dict[str, float] | None
    error: str | None = None
    explanation: list[dict[str, Any]] | None = None
    labels: list[str] | None = None
    transcript: str | None = Field(default=None, description="What a transcribing speech method heard (audio).")


class ClassifyResponse(BaseModel):
    predictions: list[Prediction]
    encoder: str
    method: str
    preset: str | None = Field(default=None, description="Texts routed by preset: which one.")
    language: str | None = Field(default=None, description="Texts routed by language: the language routed on.")
    timings: dict[str, float]


class EmbedRequest(ItemsMixin):
    encoder: str | None = None


class EmbedResponse(BaseModel):
    vectors: list[list[float] | None]
    errors: dict[str, str] = Field(default_factory=dict, description="Position (as text) -> why that item failed.")
    encoder: str
    dim: int


class Example(_Body):
    item: str = Field(description="A text, or an image/clip as base64 for image/audio classifiers.")
    label: str
    time: str | None = Field(default=None, max_length=64,
                             description="When it was labelled (ISO 8601); default: now. Kept by imports.")
    predicted: str | None = Field(default=None, description="The classifier's guess when it was labelled; default: "
                                                            "the current classifier's, computed on arrival.")
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class ClassifierPut(_Body):
    labels: Labels
    encoder: str | None = None
    method: str | None = Field(default=None, description="Default: zero-shot for the modality; with examples, "
                                                         "`prototype` (a frozen few-shot method: refits in milliseconds).")
    modality: str = Field(default="text", pattern="^(text|image|audio)$")
    examples: list[Example] = Field(default_factory=list)


class ExamplesRequest(_Body):
    examples: list[Example]


class PolicyRequest(_Body):
    policy: str = Field(pattern="^(margin|entropy|diverse)$", description="How the next item to label is chosen: "
                        "margin (least confident), entropy, or diverse (uncertain and unlike what is labelled).")


class PoolRequest(ItemsMixin):
    pass


class ClassifierInfo(BaseModel):
    name: str
    classes: list[str]
    encoder: str
    method: str
    modality: str
    n_examples: int
    n_pool: int
    cv_accuracy: float | None = None
    zero_shot_accuracy: float | None = None
    history: list[list[float]] = Field(default_factory=list)
    read_only: bool = False
    policy: str | None = None
    n_session: int = 0
    version: int | None = Field(default=None, description="The stored classifier's version: one more after every "
                                                          "write (null for --model classifiers).")
    path: str | None = Field(default=None, description="Where it is stored: STORE/NAME, inside the server's --store "
                                                       "folder (`transzero classify FILE --model STORE/NAME`); the "
                                                       "server's own paths are never sent.")


class UndoResponse(ClassifierInfo):
    undone: Example = Field(description="The label taken back (its item is back in the pool).")


class NextItem(BaseModel):
    index: int
    item: str
    label: str
    confidence: float
    scores: dict[str, float]


class NextResponse(BaseModel):
    items: list[NextItem]


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
