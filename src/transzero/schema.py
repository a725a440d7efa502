"""The schema of a saved classifier's ``config.json`` (pydantic), checked whole before anything is loaded.

A saved folder is untrusted input: every key, type and value range is validated here and the first
problem is reported as one line naming where it is (``tasks.0.method.params.n_neighbors: ...``).
Method parameters are checked against the method's own constructor signature.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from .errors import SavedModelError

__all__ = ["ClassifierConfig", "check_method_params", "validate_config"]

Scalar = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EncoderConfig(_Strict):
    name: str = Field(min_length=1)
    kwargs: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    backend: str | None = None
    fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$")
    modality: Literal["text", "image", "audio"] | None = None
    dim: int | None = Field(default=None, gt=0)
    dir_in_folder: bool = False
    weights_in_folder: bool = False


class LabelsConfig(_Strict):
    names: list[str] = Field(min_length=1)
    descriptions: dict[str, list[str]] = Field(default_factory=dict)
    templates: list[str] = Field(default_factory=list)
    use_names: bool = True
    attributes: list[list[float]] | None = None
    attribute_names: list[str] | None = None
    wnids: dict[str, str] = Field(default_factory=dict)
    semantics: str = "auto"


class ClassEmbeddingsConfig(_Strict):
    kind: str = "text"
    feature_names: list[str] | None = None
    prompts: list[str] = Field(default_factory=list)
    vectors: str
    prompt_vectors: str
    prompt_labels: str


class MethodConfig(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    arrays: dict[str, str] = Field(default_factory=dict)


class CalibrationConfig(_Strict):
    use_bias: bool = True
    bias_l2: float = Field(ge=0, allow_inf_nan=False)
    temperature: float = Field(gt=0, allow_inf_nan=False)
    bias: list[float]
    n_examples: int | None = None

    @field_validator("bias")
    @classmethod
    def _finite(cls, v: list[float]) -> list[float]:
        if not all(x == x and abs(x) != float("inf") for x in v):
            raise ValueError("biases must be finite numbers")
        return v


class TaskConfig(_Strict):
    name: str | None = None
    labels: LabelsConfig
    class_embeddings: ClassEmbeddingsConfig
    method: MethodConfig
    calibration: CalibrationConfig | None = None
    concept_names: Literal["clean", "synonyms", "both"] = "clean"
    concept_templates: str | list[str] | None = None
    batch_size: int | None = Field(default=None, gt=0)


class MultiTaskParams(_Strict):
    lam: float = Field(ge=0, allow_inf_nan=False)
    steps: int = Field(ge=0)
    lr: float = Field(gt=0, allow_inf_nan=False)
    seed: int


class MultiTaskConfig(_Strict):
    params: MultiTaskParams
    n_labelled: dict[str, int] = Field(default_factory=dict)
    B: str
    V: dict[str, str]
    c: dict[str, str]


class ClassifierConfig(_Strict):
    format: Literal["transzero-classifier"]
    format_version: Literal[2]
    kind: Literal["classifier", "multitask"] = "classifier"
    encoder: EncoderConfig
    label_encoder: EncoderConfig
    tasks: list[TaskConfig] = Field(min_length=1)
    multitask: MultiTaskConfig | None = None

    @model_validator(mode="after")
    def _kind(self) -> ClassifierConfig:
        if self.kind == "classifier" and (len(self.tasks) != 1 or self.multitask is not None):
            raise ValueError("a single classifier has exactly one task and no multitask block")
        if self.kind == "multitask":
            names = [t.name for t in self.tasks]
            if self.multitask is None or any(n is None for n in names) or len(set(names)) != len(names):
                raise ValueError("a multitask classifier needs a multitask block and uniquely named tasks")
            for part in ("V", "c"):
                missing = sorted({str(n) for n in names} - set(getattr(self.multitask, part)))
                if missing:
                    raise ValueError(f"multitask.{part} has no entry for task {missing[0]!r}")
        return self


def _first_problem(exc: ValidationError) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
    return f"{loc}: {e['msg']}"


def validate_config(raw: Any, where: str) -> dict[str, Any]:
    """``raw`` checked against :class:`ClassifierConfig`; the first problem is one :class:`SavedModelError` line."""
    if not isinstance(raw, dict):
        raise SavedModelError(f"{where}: config.json holds a {type(raw).__name__}, not an object; save the classifier again")
    try:
        ClassifierConfig.model_validate(raw)
    except ValidationError as exc:
        raise SavedModelError(f"{where}: config.json: {_first_problem(exc)}") from None
    return raw


def check_method_params(cls: type, params: dict[str, Any], where: str) -> dict[str, Any]:
    """Constructor parameters of a method class, checked against its signature's names and type hints."""
    sig = inspect.signature(cls.__init__)
    known = [p for p in sig.parameters if p != "self"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise SavedModelError(f"{where}: unknown parameter {unknown[0]!r} for method {cls.__name__} "
                              f"(it takes {', '.join(known)})")
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve: names are still checked
        hints = {}
    out = {}
    for k, v in params.items():
        hint = hints.get(k)
        if hint is None:
            out[k] = v
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hint)
        except Exception:  # a type pydantic cannot check (os.PathLike...): the value as it is
            out[k] = v
            continue
        try:
            out[k] = adapter.validate_python(v)
        except ValidationError as exc:
            raise SavedModelError(f"{where}: parameter {k!r} of method {cls.__name__}: "
                                  f"{exc.errors()[0]['msg']} (got {v!r})") from None
    return out
