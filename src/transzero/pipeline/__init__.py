"""One job pipeline behind every front end: read -> encode (cached) -> fit / score -> adapt -> decide -> write.

Front ends build a :class:`JobSpec` and call :func:`run_job`; they hold no classification logic::

    from transzero.pipeline import InputSpec, JobSpec, LabelsSpec, run_job

    result = run_job(JobSpec("eval", InputSpec(Path("news.csv"), label_column="label"),
                             labels=LabelsSpec(names=("World", "Sports", "Business", "Sci/Tech"))))
    result.metrics["accuracy"], result.metrics["timings"]

To predict items already in memory (a service), use a fitted classifier with :class:`ClassifyPipeline`
over :meth:`ItemTable.from_items <transzero.data.ItemTable.from_items>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .jobs import JOBS, Job, JobResult, eval_kind
    from .run import job_class, run_job
    from .report import CollectingReporter, LineProgress, Reporter, Timings, format_progress
    from .spec import (
        JOB_KINDS,
        AdaptSpec,
        CacheSpec,
        DecideSpec,
        EngineSpec,
        FewShotSpec,
        GZSLSpec,
        InputSpec,
        JobSpec,
        LabelsSpec,
        ModelSpec,
        MultiModalSpec,
        OutputSpec,
    )
    from .stages import (
        AdaptStage,
        CachedEncoder,
        ClassifyPipeline,
        DecideStage,
        EncodeStage,
        Encoded,
        FitStage,
        Predictions,
        ReadStage,
        ScoreStage,
        WriteStage,
    )

# names -> submodule, imported on first use (PEP 562): `transzero --help` must not load the jobs
_LAZY: dict[str, str] = {
    "AdaptSpec": "spec",
    "AdaptStage": "stages",
    "CacheSpec": "spec",
    "CachedEncoder": "stages",
    "ClassifyPipeline": "stages",
    "CollectingReporter": "report",
    "DecideSpec": "spec",
    "DecideStage": "stages",
    "EncodeStage": "stages",
    "Encoded": "stages",
    "EngineSpec": "spec",
    "FewShotSpec": "spec",
    "FitStage": "stages",
    "GZSLSpec": "spec",
    "InputSpec": "spec",
    "JOBS": "jobs",
    "JOB_KINDS": "spec",
    "Job": "jobs",
    "JobResult": "jobs",
    "JobSpec": "spec",
    "LabelsSpec": "spec",
    "LineProgress": "report",
    "ModelSpec": "spec",
    "MultiModalSpec": "spec",
    "OutputSpec": "spec",
    "Predictions": "stages",
    "ReadStage": "stages",
    "Reporter": "report",
    "ScoreStage": "stages",
    "Timings": "report",
    "WriteStage": "stages",
    "eval_kind": "jobs",
    "format_progress": "report",
    "job_class": "run",
    "run_job": "run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "JOBS", "JOB_KINDS", "AdaptSpec", "AdaptStage", "CacheSpec", "CachedEncoder", "ClassifyPipeline", "CollectingReporter",
    "DecideSpec", "DecideStage", "EncodeStage", "Encoded", "EngineSpec", "job_class", "FewShotSpec", "FitStage", "GZSLSpec", "InputSpec", "Job",
    "JobResult", "JobSpec", "LabelsSpec", "LineProgress", "ModelSpec", "MultiModalSpec", "OutputSpec", "Predictions",
    "ReadStage", "Reporter", "ScoreStage", "Timings", "WriteStage", "eval_kind", "format_progress", "run_job",
]
