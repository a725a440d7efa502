"""Batch jobs at any size: ``classify`` and ``embed`` into a folder of shards that resumes.

The input is read as a stream of shards (:func:`transzero.data.stream.iter_shards`); each shard is encoded by an
*engine* - this process (:class:`LocalEngine`), or Ray Data actors across a cluster
(:class:`transzero.engines.ray.RayEngine`; engines register by name in :mod:`.engine`, so this module imports
none) - then scored, decided and written by the same stages as every other job, so both engines give the same
output and share one manifest: a job started on one resumes on the other.

Transduction needs every item: with ``--transductive`` the job first encodes all shards (vectors of the whole
input in memory: N x D float32, e.g. 1.5 GB for a million 384-d vectors), adapts on the k-NN graph (an HNSW
index above ~50k items), then writes the shards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..data.text import ItemTable
from ..errors import InputError, JobInterrupted
from .engine import Engine, create_engine, register_engine
from .jobs import Job, JobResult, item_column, routing_metrics
from .report import JobProgress, Reporter, Timings
from .spec import JobSpec
from .stages import (
    CachedEncoder,
    ClassifyPipeline,
    Encoded,
    EncodeStage,
    FitStage,
    Predictions,
    VectorSource,
    WriteStage,
    build_label_space,
    check_adapt_supported,
    make_encoder,
)

__all__ = ["EmbedJob", "Engine", "LocalEngine", "ShardedClassifyJob", "make_engine"]

DEFAULT_SHARD_SIZE = 10_000


class LocalEngine:
    """This process: the job's :class:`EncodeStage` with its cache and progress lines."""

    name = "local"

    def __init__(self, source: VectorSource, timings: Timings, reporter: Reporter) -> None:
        self.source = source
        self.stage = EncodeStage(timings, reporter)
        self.reporter = reporter

    def stream(self, tables: Iterator[ItemTable], skip: set[int], **_: Any) -> Iterator[tuple[int, ItemTable, Encoded | None]]:
        """Every shard with its encoding (None for the shards in ``skip``), in input order."""
        for i, table in enumerate(tables):
            if i not in skip and isinstance(self.reporter, JobProgress):
                self.reporter.start_shard(i)
            yield i, table, None if i in skip else self.stage.run(self.source, table)

    def close(self) -> None:
        pass


def _local_engine(spec: JobSpec, source: VectorSource, source_config: dict[str, Any], timings: Timings,
                  reporter: Reporter) -> Engine:
    return LocalEngine(source, timings, reporter)


register_engine("local", _local_engine)


def make_engine(spec: JobSpec, source: VectorSource, source_config: dict[str, Any], timings: Timings,
                reporter: Reporter) -> Engine:
    """The engine a spec asks for (``--engine local|ray``; engines register in :mod:`.engine`)."""
    return create_engine(spec, source, source_config, timings, reporter)


class _ShardedJob(Job):
    """The shard loop shared by ``classify`` and ``embed``."""

    kind = "sharded"

    def shards(self) -> Iterator[ItemTable]:
        from ..data.stream import iter_shards

        s = self.spec
        size = s.output.shard_size or DEFAULT_SHARD_SIZE
        t0 = time.perf_counter()
        for table in iter_shards(s.input.path, size, text_column=s.input.text_column, audio_column=s.input.audio_column):
            self.timings.add("read", time.perf_counter() - t0)
            yield table
            t0 = time.perf_counter()

    def job_progress(self) -> JobProgress:
        """The job-wide progress (rows of the whole input, shard i/N) the shards report through."""
        from ..data.stream import count_rows

        s = self.spec
        total = count_rows(s.input.path, text_column=s.input.text_column, audio_column=s.input.audio_column)
        size = s.output.shard_size or DEFAULT_SHARD_SIZE
        return JobProgress(self.reporter, self.kind, total, -(-total // size) if total else None)

    def resume(self, manifest: Any, progress: JobProgress) -> set[int]:
        """The finished shards to reuse, said at the start (``resuming: 2 of 8 shards reused``)."""
        done = manifest.verified()
        if done:
            of = f" of {progress.n_shards}" if progress.n_shards else ""
            self.reporter.info(f"resuming: {len(done)}{of} shards reused")
        return done

    def reused(self, manifest: Any, i: int, table: ItemTable, progress: JobProgress) -> dict[str, Any] | None:
        """The manifest entry of shard ``i`` when it is finished and still covers ``table``'s rows (its rows then
        count as done); None when it must be computed."""
        done = manifest.reusable(i, table.rows[0], table.rows[-1])
        if done is not None:
            progress.skip(len(table))
        return done

    def interrupted(self, manifest: Any, progress: JobProgress) -> JobInterrupted:
        """Ctrl-C: what is kept, and how to resume."""
        of = f"/{progress.n_shards}" if progress.n_shards else ""
        return JobInterrupted(f"interrupted: {len(manifest.data['shards'])}{of} shards done; rerun the same command "
                              "to resume")

    def encoded(self, engine: Engine, skip: set[int]) -> Iterator[tuple[int, ItemTable, Encoded | None]]:
        """The input's shards with their encodings from ``engine`` (None for the shards in ``skip``)."""
        s = self.spec
        return engine.stream(self.shards(), skip, path=str(s.input.path),
                             shard_size=s.output.shard_size or DEFAULT_SHARD_SIZE, text_column=s.input.text_column,
                             audio_column=s.input.audio_column)

    def identity(self, extra: dict[str, Any]) -> dict[str, Any]:
        """What the manifest compares on resume: every spec field declared to change the output
        (:func:`~transzero.pipeline.spec.resume_identity`: decisions, adaptations, columns, ...), plus what the
        ``resolved`` ones resolve to - the input's path and content hash, the effective format and shard size, and
        ``extra`` (the label space, the encoder's fingerprint, the method and its parameters). Not the JSON summary,
        quiet, cache flags, engine or workers (declared ``ignore``)."""
        from ..data.stream import input_fingerprint
        from .spec import resume_identity

        s = self.spec
        ident = resume_identity(s)
        ident["input"].update(path=str(Path(s.input.path).resolve()),
                              fingerprint=input_fingerprint(s.input.path, audio_column=s.input.audio_column))
        return {**ident, "format": self.fmt, "shard_size": s.output.shard_size or DEFAULT_SHARD_SIZE, **extra}

    @property
    def fmt(self) -> str:
        from ..shards import FORMATS

        fmt = (self.spec.output.format or "parquet").lower()
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt

    def summary(self, n_items: int, n_bad: int, n_shards: int, reused: int, engine: str,
                extra: dict[str, Any]) -> dict[str, Any]:
        return {"kind": self.kind, "n_items": n_items, "n_bad": n_bad, "n_shards": n_shards,
                "n_shards_reused": reused, "engine": engine, "output": str(self.spec.output.predictions), **extra}


class ShardedClassifyJob(_ShardedJob):
    """``transzero classify INPUT -o OUT_DIR/``: predictions shard by shard, resumable."""

    kind = "classify"

    def run(self) -> JobResult:
        from ..data.readers import detect_modality
        from ..shards import ShardManifest

        s = self.spec
        if s.adapt.calibration is not None or s.adapt.unlabeled is not None:
            raise InputError("sharded output takes --transductive, but not --calibration or --unlabeled (yet); "
                             "write a single output file for those")
        fmt = self.fmt
        modality = detect_modality(s.input.path, audio_column=s.input.audio_column)
        clf = self.stage(FitStage).build(s.model, build_label_space(s.labels), self.cache(), modality,
                                         items=self._language_sample(modality))
        check_adapt_supported(clf, s.adapt, sharded=True)
        self.stage(WriteStage).check(type(s.output)(json=s.output.json), [s.input.path])
        ident = self.identity({
            "labels": clf.label_space_.to_dict(), "encoder": {"name": clf.encoder_.name, "backend": clf.encoder_.backend,
                                                              "fingerprint": clf.encoder_.fingerprint},
            "method": {"name": clf.method_name, "params": clf.method_.get_params()},
            # (no steps named: the modality's recipe, whatever this version's is)
            "recipe": f"default:{modality}" if s.adapt.transductive and not s.adapt.steps else None})
        out = Path(s.output.predictions or "")
        manifest = ShardManifest.open(out, kind=self.kind, job=ident, fmt=fmt,
                                      shard_size=s.output.shard_size or DEFAULT_SHARD_SIZE,
                                      overwrite=s.output.overwrite, warn=self.reporter.warning)
        try:
            return self._run_locked(clf, manifest, fmt, modality)
        finally:
            manifest.close()

    def _run_locked(self, clf: Any, manifest: Any, fmt: str, modality: str) -> JobResult:
        from ..shards import write_shard

        s = self.spec
        manifest.data["classes"] = [str(c) for c in clf.classes_]
        if s.engine.name == "ray" and clf.method_tags.raw_items and s.decide.explain:
            raise InputError(f"--explain with method {clf.method_name!r} needs the clips on this machine; run it with "
                             "--engine local")
        source_config = _classifier_source(clf)
        progress = self.job_progress()
        engine = make_engine(s, clf, source_config, self.timings, progress)
        pipe = ClassifyPipeline(clf, s.adapt, s.decide, self.timings, self.reporter)
        col = item_column(s.input, ItemTable(str(s.input.path), [], [], modality=modality))
        n_items = n_bad = reused = n_shards = 0
        try:
            skip = self.resume(manifest, progress)
            with progress.running():
                if s.adapt.transductive:
                    n_items, n_bad, reused, n_shards = self._transductive(clf, engine, pipe, manifest, fmt, col)
                else:
                    for i, table, enc in self.encoded(engine, skip):
                        n_shards += 1
                        n_items += len(table)
                        if enc is None:
                            done = self.reused(manifest, i, table, progress)
                            if done is not None:
                                reused += 1
                                n_bad += int(done["n_bad"])
                                continue
                            enc = EncodeStage(self.timings, progress).run(clf, table)  # (the rows moved: here)
                        preds = pipe.run_encoded(table, enc)
                        n_bad += self._write(manifest, i, preds, fmt, col, engine.name, write_shard)
        except KeyboardInterrupt:
            raise self.interrupted(manifest, progress) from None
        finally:
            engine.close()
        metrics = self.summary(n_items, n_bad, n_shards, reused, engine.name,
                               {"encoder": clf.encoder_.name, "method": clf.method_name,
                                "classes": [str(c) for c in clf.classes_], "format": fmt, **routing_metrics(clf)})
        self.finish(metrics)
        manifest.finish(n_shards, {k: metrics[k] for k in ("n_items", "n_bad", "n_shards", "n_shards_reused")})
        return JobResult(self.kind, metrics, n_items, n_bad, int(s.strict and n_bad > 0))

    def _language_sample(self, modality: str) -> list[Any] | None:
        """The first items of a text input (a stream: the input is not read whole), for choosing the encoder by
        their language; None when the encoder is already fixed."""
        from ..data.stream import iter_shards
        from ..language import SAMPLE

        s = self.spec
        if modality != "text" or s.model.encoder or s.model.saved or s.model.language:
            return None
        first = next(iter_shards(s.input.path, SAMPLE, text_column=s.input.text_column), None)
        return [t for t in first.texts if t is not None] if first is not None else []

    def _write(self, manifest: Any, i: int, preds: Predictions, fmt: str, col: str, engine: str, write: Any) -> int:
        t = preds.table
        if preds.errors:
            self.reporter.bad_items(preds.bad_lines())
        with self.timings.stage("write"):
            name, sha, size = write(manifest.folder, i, fmt, preds.records(col), preds.classes)
        manifest.record(i, {"index": i, "file": name, "rows": [t.rows[0], t.rows[-1]], "n_items": len(t),
                            "n_bad": len(preds.errors), "sha256": sha, "bytes": size, "engine": engine})
        return len(preds.errors)

    def _transductive(self, clf: Any, engine: Engine, pipe: ClassifyPipeline, manifest: Any, fmt: str,
                      col: str) -> tuple[int, int, int, int]:
        """Every shard encoded first (vectors of the whole input in memory), then the pipeline's pooled step
        (one adaptation over all of them), then the shards written (those already written are kept)."""
        from ..shards import write_shard

        parts = list((table, enc) for _, table, enc in self.encoded(engine, set()))  # all encoded: cache hits on resume
        reusable = {i: manifest.reusable(i, t.rows[0], t.rows[-1]) for i, (t, _) in enumerate(parts)}
        done = {i for i, d in reusable.items() if d is not None}
        n_bad = sum(int(reusable[i]["n_bad"]) for i in done)
        for i, preds in pipe.run_pooled(parts, skip=done):
            if preds is not None:
                n_bad += self._write(manifest, i, preds, fmt, col, engine.name, write_shard)
        return sum(len(t) for t, _ in parts), n_bad, len(done), len(parts)


class EmbedJob(_ShardedJob):
    """``transzero embed INPUT -o OUT``: the vectors of every item, in shards (resumable) or one file."""

    kind = "embed"

    def run(self) -> JobResult:
        from ..data.readers import detect_modality
        from ..formats import get_format
        from ..shards import FORMATS, ShardManifest

        s = self.spec
        fmt = self.fmt
        single = not s.output.shards
        # the output rules of every job, before any encoding: not the input, not an existing file without
        # --overwrite, a folder that exists, a vector format
        self.stage(WriteStage).check(s.output if single else type(s.output)(json=s.output.json), [s.input.path],
                                     flag="-o", suffixes=tuple(x for f in FORMATS for x in get_format(f).suffixes))
        modality = detect_modality(s.input.path, audio_column=s.input.audio_column)
        with self.timings.stage("load"):
            enc = make_encoder(modality, s.model.encoder, s.model.backend)
        source = CachedEncoder(enc, self.cache(), s.model.batch_size)
        out = Path(s.output.predictions or "")
        ident = self.identity({"encoder": {"name": enc.name, "backend": enc.backend, "fingerprint": enc.fingerprint}})
        manifest = None if single else ShardManifest.open(
            out, kind=self.kind, job=ident, fmt=fmt, shard_size=s.output.shard_size or DEFAULT_SHARD_SIZE,
            overwrite=s.output.overwrite, warn=self.reporter.warning)
        try:
            return self._run_locked(enc, source, manifest, fmt, out)
        finally:
            if manifest is not None:
                manifest.close()

    def _run_locked(self, enc: Any, source: Any, manifest: Any, fmt: str, out: Path) -> JobResult:
        from ..shards import write_shard

        s = self.spec
        progress = self.job_progress()
        engine = make_engine(s, source, _encoder_source(enc), self.timings, progress)
        n_items = n_bad = reused = n_shards = 0
        parts: list[tuple[list[dict[str, Any]], np.ndarray]] = []
        try:
            skip = self.resume(manifest, progress) if manifest is not None else set()
            with progress.running():
                for i, table, e in self.encoded(engine, skip):
                    n_shards += 1
                    n_items += len(table)
                    if e is None and manifest is not None:
                        done = self.reused(manifest, i, table, progress)
                        if done is not None:
                            reused += 1
                            n_bad += int(done["n_bad"])
                            continue
                    if e is None:
                        e = EncodeStage(self.timings, progress).run(source, table)
                    records, V = _vector_records(table, e, enc.dim, item_column(s.input, table))
                    bad = sum(1 for r in records if r["error"])
                    n_bad += bad
                    if bad:
                        self.reporter.bad_items(table.bad_lines(e.errors))
                    if manifest is None:
                        parts.append((records, V))
                        continue
                    with self.timings.stage("write"):
                        name, sha, size = write_shard(manifest.folder, i, fmt, records, [], vectors=V)
                    manifest.record(i, {"index": i, "file": name, "rows": [table.rows[0], table.rows[-1]],
                                        "n_items": len(table), "n_bad": bad, "sha256": sha, "bytes": size,
                                        "engine": engine.name})
        except KeyboardInterrupt:
            if manifest is None:
                raise  # (one output file: EncodeStage said what the embedding cache kept)
            raise self.interrupted(manifest, progress) from None
        finally:
            engine.close()
        if manifest is None:
            from ..shards import write_table

            records = [r for p in parts for r in p[0]]
            V = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, enc.dim), np.float32)
            with self.timings.stage("write"):
                write_table(out, fmt, records, [], vectors=V)
        metrics = self.summary(n_items, n_bad, n_shards, reused, engine.name,
                               {"encoder": enc.name, "dim": enc.dim, "format": fmt})
        self.finish(metrics)
        if manifest is not None:
            manifest.finish(n_shards, {k: metrics[k] for k in ("n_items", "n_bad", "n_shards", "n_shards_reused")})
        return JobResult(self.kind, metrics, n_items, n_bad, int(s.strict and n_bad > 0))


def _vector_records(table: ItemTable, e: Encoded, dim: int, col: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One record (``row``, [``id``], ``text``, ``error``) and one vector (zeros for bad rows) per table row."""
    V = np.zeros((len(table), dim), np.float32)
    V[e.positions] = e.X
    errors = {**table.errors, **e.errors}
    ids = [r.get("id") for r in table.records] if any("id" in r for r in table.records) else None
    out = []
    for i in range(len(table)):
        rec: dict[str, Any] = {"row": table.rows[i]}
        if ids is not None:
            rec["id"] = ids[i]
        rec["text"] = table.raw_text(i, col)
        rec["error"] = errors.get(i)
        out.append(rec)
    return out, V


def _encoder_source(enc: Any) -> dict[str, Any]:
    """How a remote worker rebuilds an encoder: its name and options, and the fingerprint it must have."""
    return {"encoder": enc.name, "kwargs": dict(enc.create_kwargs), "fingerprint": enc.fingerprint}


def _classifier_source(clf: Any) -> dict[str, Any]:
    """What remote workers run for a classifier: its encoder; for a method that reads raw items (speech), a copy of
    the fitted classifier (its saved folder as bytes: JSON + arrays, no pickle), whose logits they return."""
    if not clf.method_tags.raw_items:
        return _encoder_source(clf.encoder_)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="transzero-ray-") as tmp:
        folder = Path(tmp) / "classifier"
        clf.save(folder)
        files = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
    return {"classifier": files, "fingerprint": clf.encoder_.fingerprint, "encoder": clf.encoder_.name}
