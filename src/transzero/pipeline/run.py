"""``run_job(spec)``: the one way every front end runs a job."""

from __future__ import annotations

from ..errors import InputError
from .batch import EmbedJob, ShardedClassifyJob
from .jobs import JOBS, Job, JobResult
from .report import Reporter
from .spec import JobSpec

__all__ = ["job_class", "run_job"]


def job_class(spec: JobSpec) -> type[Job]:
    """The job class of ``spec``: its ``kind``, and for ``classify`` whether the output is a shard folder."""
    if spec.kind == "embed":
        return EmbedJob
    if spec.kind == "classify" and spec.output.shards:
        return ShardedClassifyJob
    if spec.engine.name != "local":
        raise InputError(f"--engine {spec.engine.name} runs sharded classify and embed jobs; give -o OUT_DIR/")
    try:
        return JOBS[spec.kind]
    except KeyError:
        raise InputError(f"unknown job kind {spec.kind!r}; one of {', '.join([*JOBS, 'embed'])}") from None


def run_job(spec: JobSpec, reporter: Reporter | None = None) -> JobResult:
    """Run the job ``spec`` describes; see :class:`~transzero.pipeline.jobs.JobResult`."""
    return job_class(spec)(spec, reporter).run()
