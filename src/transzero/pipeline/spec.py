"""The job spec: one object describing a job - its inputs, classes, model, adaptations, decisions, outputs.

Front ends (the CLI, the service, the distributed engine) build a :class:`JobSpec` and hand it to
:func:`transzero.pipeline.run_job`; nothing else about the job lives in the front end. Specs are
frozen dataclasses of plain values, so they print, compare and serialise (:meth:`JobSpec.to_dict`). Each checks
its own values when it is made (``__post_init__``: one-line errors naming the flag), once, for every front end.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AdaptSpec", "CacheSpec", "DecideSpec", "EngineSpec", "FewShotSpec", "GZSLSpec", "InputSpec", "JOB_KINDS", "JobSpec", "LabelsSpec",
    "ModelSpec", "MultiModalSpec", "OutputSpec", "RESUME_ROLES", "SpecOption", "declared_options", "option",
    "resume_identity", "with_options",
]

#: what a job does: classify items; evaluate against gold labels; a few-shot learning curve; generalized
#: zero-shot evaluation; several tasks on one encoder; records with several fields
JOB_KINDS = ("classify", "eval", "curve", "gzsl", "multitask", "multimodal", "embed")

#: what a spec field does to a job's output, for resuming a shard folder (:func:`resume_identity`): ``compare``
#: (the default: a new option is compared unless declared otherwise), ``ignore`` (never changes an output: where a
#: summary goes, the cache, the engine), ``resolved`` (compared through what it resolves to: the label space, the
#: encoder's fingerprint, the method's parameters, the input's content, the effective format and shard size)
RESUME_ROLES = ("compare", "ignore", "resolved")


def _role(role: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    """A dataclass field with its :data:`RESUME_ROLES` role."""
    if default is not dataclasses.MISSING:
        kw["default"] = default
    return field(metadata={"resume": role}, **kw)


@dataclass(frozen=True)
class SpecOption:
    """A spec field's command-line option: its flag, help and the commands that offer it."""

    flag: str
    help: str
    commands: tuple[str, ...] = ("classify",)


def option(default: Any, flag: str, help: str, *, commands: tuple[str, ...] = ("classify",),
           resume: str = "compare") -> Any:
    """A spec field that *is* an option: declaring it here registers its flag with every command in ``commands``
    (the CLI adds ``flag`` with ``help`` and puts the value into the spec: :func:`declared_options`,
    :func:`with_options`). Its checks go in the section's ``__post_init__``; ``resume``: its :data:`RESUME_ROLES`
    role. What it does is read from the spec by the one stage that needs it."""
    return field(default=default, metadata={"resume": resume, "option": SpecOption(flag, help, tuple(commands))})


@dataclass(frozen=True)
class InputSpec:
    """Where items come from and which fields hold what.

    Attributes
    ----------
    path : Path
        A text table, an image or audio folder, a list of paths, a manifest.
    text_column : str
        CSV/TSV column or JSONL key of the text.
    label_column : str, optional
        Column of gold labels (evaluation, support sets, calibration examples).
    audio_column, image_column : str, optional
        Columns of audio / image file paths (manifests, multimodal records).
    """

    path: Path = _role("resolved")
    text_column: str = "text"
    label_column: str | None = None
    audio_column: str | None = None
    image_column: str | None = None

    def with_labels(self, label_column: str | None) -> InputSpec:
        """The same input read with (or without) a gold-label column."""
        return dataclasses.replace(self, label_column=label_column)


@dataclass(frozen=True)
class LabelsSpec:
    """The classes: names, or a labels file, plus prompt templates. Neither: the data's gold labels."""

    names: tuple[str, ...] | None = _role("resolved", None)
    file: Path | None = _role("resolved", None)
    templates: tuple[str, ...] | None = _role("resolved", None)


@dataclass(frozen=True)
class ModelSpec:
    """Encoder and method, or a saved classifier folder (``saved``), which fixes both."""

    encoder: str | None = _role("resolved", None)
    backend: str | None = _role("resolved", None)
    method: str | None = _role("resolved", None)
    method_params: tuple[tuple[str, Any], ...] = _role("resolved", ())
    saved: Path | None = _role("resolved", None)
    batch_size: int | None = _role("ignore", None)
    #: a saved classifier may name a ``hub:`` encoder: download it (never by default)
    allow_download: bool = _role("ignore", False)
    #: nearest-neighbour search of methods that have one (knn, tip-adapter): exact, ann or auto
    index: str = "auto"
    #: without ``encoder``: the speed/accuracy preset (:mod:`transzero.presets`; None: the default)
    preset: str | None = _role("resolved", None)
    #: without ``encoder``: the items' language (None: detected from the items)
    language: str | None = _role("resolved", None)

    def __post_init__(self) -> None:
        from ..errors import InputError

        _check_index(self.index)
        if self.preset is not None:
            from ..presets import check_preset

            check_preset(self.preset)
        if (self.preset is not None or self.language is not None) and (self.encoder is not None or self.saved is not None):
            raise InputError("--preset/--language choose the text encoder; drop them, or --encoder/--model")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")

    @property
    def methods(self) -> list[str]:
        """``method`` as a list (a comma list names several, for curves and GZSL)."""
        return [m.strip() for m in (self.method or "").split(",") if m.strip()]


@dataclass(frozen=True)
class CacheSpec:
    """The embedding cache: on by default, in ``folder`` (default ``$TRANSZERO_CACHE_DIR``)."""

    enabled: bool = _role("ignore", True)
    folder: Path | None = _role("ignore", None)


@dataclass(frozen=True)
class AdaptSpec:
    """Adaptations: transduction over the items (+ ``unlabeled``), calibration on labelled examples."""

    transductive: bool = False
    unlabeled: InputSpec | None = None
    #: transductive steps; empty: the modality's recipe (:func:`transzero.transductive.default_transduction`)
    steps: tuple[str, ...] = ()
    calibration: InputSpec | None = None
    calibration_shots: int | None = None
    #: nearest-neighbour search of the transductive graph: exact, ann (an HNSW index) or auto (ann above ~50k items)
    index: str = "auto"

    def __post_init__(self) -> None:
        from ..errors import InputError

        _check_index(self.index)
        if self.calibration_shots is not None and self.calibration_shots < 1:
            raise InputError(f"--calibration-shots must be at least 1, got {self.calibration_shots}")

    @property
    def transduce(self) -> bool:
        """True when transduction runs (``--transductive``, or extra unlabelled items)."""
        return self.transductive or self.unlabeled is not None


@dataclass(frozen=True)
class DecideSpec:
    """Decisions: "none of these" (``reject``: a threshold or ``"auto"``), multi-label, explanations."""

    reject: str | None = option(None, "--reject", '"None of these": a probability threshold in [0, 1], or auto (from '
                                "--target-frr on the --calibration examples, else on the items' own scores).",
                                commands=("classify", "eval"))
    target_frr: float = option(0.05, "--target-frr", "With --reject auto: fraction of in-scope items that may be "
                               "rejected.", commands=("classify", "eval"))
    none_label: str = option("none", "--none-label", "Label given to rejected items.", commands=("classify", "eval"))
    multi_label: float | None = None
    explain: int = option(0, "--explain", "Explain each prediction: the decided class's top N sources (nearest "
                          "prompts, concepts, attributes or spoken forms) with its score, then the runner-up class's.")


@dataclass(frozen=True)
class OutputSpec:
    """Where results go. ``predictions`` None: classify writes JSONL on stdout, eval writes none.

    ``shards``: ``predictions`` is a folder of ``part-NNNNN.<format>`` files of ``shard_size`` items each plus
    ``_manifest.json`` (resumable); otherwise one file.
    """

    predictions: Path | None = _role("ignore", None)
    json: Path | None = _role("ignore", None)
    plot: Path | None = _role("ignore", None)
    reliability: Path | None = _role("ignore", None)
    overwrite: bool = _role("ignore", False)
    shards: bool = _role("ignore", False)
    format: str | None = _role("resolved", None)
    shard_size: int | None = _role("resolved", None)
    report: Path | None = option(None, "--report", "Also write a self-contained HTML report (confusion matrix, per-class "
                                 "table, most confident errors, reliability, curves, timings) to this file.",
                                 commands=("eval",), resume="ignore")

    def __post_init__(self) -> None:
        from ..errors import InputError

        if self.shard_size is not None and self.shard_size < 1:
            raise InputError(f"--shard-size must be at least 1, got {self.shard_size}")


@dataclass(frozen=True)
class EngineSpec:
    """Where a batch job runs: ``local`` (this process) or ``ray`` (Ray Data: a local instance, or the cluster at
    ``address``), with ``workers`` encoder actors."""

    name: str = _role("ignore", "local")
    address: str | None = _role("ignore", None)
    workers: int | None = _role("ignore", None)

    def __post_init__(self) -> None:
        from ..errors import InputError
        from .engine import engine_names

        names = ["local", *(n for n in engine_names() if n != "local")]  # (local registers when jobs load)
        if self.name not in names:
            raise InputError(f"--engine must be {' or '.join(names)}, got {self.name!r}")
        if self.workers is not None and self.workers < 1:
            raise InputError(f"--workers must be at least 1, got {self.workers}")


@dataclass(frozen=True)
class FewShotSpec:
    """A learning curve: K examples per class from ``support``, for each K and seed."""

    support: InputSpec
    shots: tuple[int, ...]
    seeds: int = 3


@dataclass(frozen=True)
class GZSLSpec:
    """Generalized zero-shot evaluation: seen/unseen split, class semantics, calibrated stacking."""

    support: InputSpec | None = None
    split: Path | None = None
    seen_classes: Path | None = None
    unseen_classes: Path | None = None
    semantics: str = "auto"
    attributes: Path | None = None
    gamma: str = "auto"


@dataclass(frozen=True)
class MultiModalSpec:
    """Records with several fields: field -> column, the text field's encoder, late-fusion weights."""

    fields: tuple[tuple[str, str], ...]
    text_encoder: str | None = None
    weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """Everything a job needs. ``kind`` is one of :data:`JOB_KINDS`; the kind's own part is set for it."""

    kind: str
    input: InputSpec
    labels: LabelsSpec = field(default_factory=LabelsSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    cache: CacheSpec = _role("ignore", default_factory=CacheSpec)
    adapt: AdaptSpec = field(default_factory=AdaptSpec)
    decide: DecideSpec = field(default_factory=DecideSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    fewshot: FewShotSpec | None = None
    gzsl: GZSLSpec | None = None
    multimodal: MultiModalSpec | None = None
    engine: EngineSpec = _role("ignore", default_factory=EngineSpec)
    #: a bad row makes the job's exit status 1 (the rows are still reported and written)
    strict: bool = _role("ignore", False)
    #: the command line that started the job, when a front end says (recorded in eval results and reports)
    command: str | None = _role("ignore", None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (paths as strings)."""
        return _plain(dataclasses.asdict(self))


def _check_index(index: str) -> None:
    from ..neighbors import INDEXES

    if index not in INDEXES:
        from ..errors import InputError

        raise InputError(f"--index must be one of {', '.join(INDEXES)}, got {index!r}")


def resume_identity(spec: Any) -> dict[str, Any]:
    """The fields of ``spec`` (a spec dataclass, nested ones included) whose role is ``compare``, as plain values:
    what a shard folder's manifest compares on resume besides the ``resolved`` values the job adds. Derived from the
    declarations, so a new option is compared unless it is declared ``ignore`` or ``resolved``."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        role = f.metadata.get("resume", "compare")
        if role not in RESUME_ROLES:
            raise ValueError(f"{type(spec).__name__}.{f.name}: unknown resume role {role!r}")
        if role != "compare":
            continue
        v = getattr(spec, f.name)
        out[f.name] = resume_identity(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else _plain(v)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v


#: the JobSpec sections whose fields may be declared options (:func:`option`)
OPTION_SECTIONS = ("input", "labels", "model", "cache", "adapt", "decide", "output", "engine")


def declared_options(command: str | None = None) -> list[tuple[str, dataclasses.Field[Any], Any, SpecOption]]:
    """Every spec field declared an option of ``command`` (None: of any command): ``(section, field, its type, its
    SpecOption)``, in declaration order. Field names are unique across sections: they name the options."""
    import typing

    hints = typing.get_type_hints(JobSpec)
    out = []
    for section in OPTION_SECTIONS:
        cls = hints[section]
        types = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            opt = f.metadata.get("option")
            if opt is not None and (command is None or command in opt.commands):
                out.append((section, f, types[f.name], opt))
    return out


def with_options(spec: JobSpec, values: dict[str, Any]) -> JobSpec:
    """``spec`` with the declared options' values (field name -> value) set in their sections; each section checks
    them again (``__post_init__``)."""
    sections = {f.name: section for section, f, _, _ in declared_options()}
    changes: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name not in sections:
            raise ValueError(f"no spec option {name!r}")
        changes.setdefault(sections[name], {})[name] = value
    return dataclasses.replace(spec, **{s: dataclasses.replace(getattr(spec, s), **kw) for s, kw in changes.items()})
