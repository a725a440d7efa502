"""Job kinds: what ``classify`` and every mode of ``eval`` do, as stages over a :class:`JobSpec`, a module each.

:func:`~transzero.pipeline.run.run_job` picks the job class of ``spec.kind`` and runs it. A job returns a
:class:`JobResult` whose ``metrics`` are exactly what ``--json`` writes; it never prints (its :class:`Reporter`
does). :func:`eval_kind` tells which kind an ``eval`` request is. A new kind is one module here plus one entry in
:data:`JOBS` (the sharded ``classify`` and ``embed`` live in :mod:`transzero.pipeline.batch`).
"""

from __future__ import annotations

from .base import Job, JobResult, eval_kind, item_column, routing_metrics
from .classify import ClassifyJob
from .curve import CurveJob
from .evaluate import EvalJob
from .gzsl import GZSLJob
from .multimodal import MultiModalJob
from .multitask import MultiTaskJob

__all__ = ["JOBS", "ClassifyJob", "CurveJob", "EvalJob", "GZSLJob", "Job", "JobResult", "MultiModalJob", "MultiTaskJob",
           "eval_kind", "item_column", "routing_metrics"]

#: job kind -> job class (the sharded ``classify`` and ``embed`` live in :mod:`.batch`; :func:`.run.run_job` picks)
JOBS: dict[str, type[Job]] = {
    "classify": ClassifyJob, "eval": EvalJob, "curve": CurveJob, "gzsl": GZSLJob, "multitask": MultiTaskJob,
    "multimodal": MultiModalJob,
}
