"""The distributed engine: a batch job's encoding as one Ray Data pipeline (``--engine ray``).

read (:class:`ShardSource`: the input streamed shard by shard, finished shards skipped) → ``map_batches`` with an
actor pool (:class:`EncodeActor`: the encoder loaded once per actor, single-threaded by default) → the driver, which
receives the vectors in input order, scores, decides and writes the shards exactly as the local engine does. The
output and the manifest are the same, so a job can resume on either engine. Killed actors are restarted and their
batches retried (Ray Data's defaults for actor pools: ``max_restarts=-1``, ``max_task_retries=-1``).

Without ``--ray-address`` a local Ray instance starts, bound to loopback; with one, the job joins that cluster
(every node must see the input path and have transzero installed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data.text import ItemTable
from ..encoded import Encoded
from ..errors import InputError
from ..pipeline.report import Reporter, Timings
from ..threads import limit_encoder_threads, limit_process_threads

__all__ = ["EncodeActor", "RayEngine", "ShardSource"]


def _datasource_base() -> type:
    from ray.data import Datasource

    return Datasource


class ShardSource(_datasource_base()):  # type: ignore[misc]
    """The input as Ray Data blocks: one pyarrow table (``shard``, ``pos``, ``item``) per pending shard, read by
    transzero's own streaming reader so the rows are exactly the local engine's."""

    def __init__(self, path: str, shard_size: int, text_column: str, audio_column: str | None,
                 skip: frozenset[int]) -> None:
        self.path, self.shard_size = path, shard_size
        self.text_column, self.audio_column = text_column, audio_column
        self.skip = skip

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[Any]:
        from ray.data import ReadTask
        from ray.data.block import BlockMetadata

        args = (self.path, self.shard_size, self.text_column, self.audio_column, self.skip)

        def read() -> Iterator[Any]:
            return _read_blocks(*args)

        return [ReadTask(read, BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=(self.path,)))]


def _read_blocks(path: str, shard_size: int, text_column: str, audio_column: str | None,
                 skip: frozenset[int]) -> Iterator[Any]:
    import pyarrow as pa

    from ..data.stream import iter_shards

    for i, table in enumerate(iter_shards(path, shard_size, text_column=text_column, audio_column=audio_column)):
        good = table.good
        if i in skip or not good:
            continue
        yield pa.table({"shard": pa.array([i] * len(good), pa.int64()), "pos": pa.array(good, pa.int64()),
                        "item": pa.array([table.texts[j] for j in good], pa.string())})


class EncodeActor:
    """Holds one encoder (loaded once) and encodes batches; bad items come back with their error.

    With ``classifier`` (a saved classifier's files, for methods that read raw clips such as the speech methods) it
    holds that classifier instead and returns each item's logits, and transcripts when the method transcribes.
    """

    def __init__(self, encoder: str, kwargs: dict[str, Any] | None, fingerprint: str, cache_dir: str | None,
                 cache: bool, batch_size: int | None, threads: int | None,
                 classifier: dict[str, bytes] | None = None) -> None:
        self.clf: Any = None
        if classifier is not None:
            self._load_classifier(classifier, fingerprint, threads)
            return
        limit_process_threads(threads)
        from ..encoders.registry import create_encoder
        from ..pipeline.stages import CachedEncoder
        from ..store import EmbeddingCache

        enc = create_encoder(encoder, **kwargs)
        limit_encoder_threads(enc, threads)
        if enc.fingerprint != fingerprint:
            raise InputError(f"encoder {encoder} on this Ray worker has fingerprint {enc.fingerprint}, the driver's "
                             f"{fingerprint}; install the same transzero and models on every node")
        self.source = CachedEncoder(enc, EmbeddingCache(cache_dir) if cache else None, batch_size)
        self.dim = enc.dim

    def _load_classifier(self, files: dict[str, bytes], fingerprint: str, threads: int | None) -> None:
        import tempfile
        from pathlib import Path

        from ..classifier import ZeroShotClassifier

        limit_process_threads(threads)
        with tempfile.TemporaryDirectory(prefix="transzero-ray-") as tmp:
            folder = Path(tmp) / "classifier"
            folder.mkdir()
            for name, data in files.items():
                (folder / Path(name).name).write_bytes(data)
            self.clf = ZeroShotClassifier.load(folder)  # the same untrusted-folder checks as any saved classifier
        if self.clf.encoder_.fingerprint != fingerprint:
            raise InputError(f"encoder {self.clf.encoder_.name} on this Ray worker has fingerprint "
                             f"{self.clf.encoder_.fingerprint}, the driver's {fingerprint}; install the same transzero "
                             "and models on every node")

    def _score(self, items: list[str]) -> tuple[np.ndarray, dict[int, str], list[str]]:
        clips, errors = self.clf.encode_report(items)
        K = len(self.clf.classes_)
        out = np.full((len(items), K), np.nan, dtype=np.float32)
        good = [i for i in range(len(items)) if i not in errors]
        texts = [""] * len(items)
        if good:
            out[good] = self.clf.head_.score(clips[good]).logits
            if self.clf.method_tags.transcribes:
                for i, t in zip(good, self.clf.method_.transcribe(list(clips[good]))):
                    texts[i] = t
        return out, errors, texts

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        items = [str(x) for x in batch["item"]]
        if self.clf is not None:
            Z, errs, texts = self._score(items)
            return {"shard": batch["shard"], "pos": batch["pos"], "vec": Z,
                    "error": np.asarray([errs.get(i, "") for i in range(len(items))], dtype=object),
                    "transcript": np.asarray(texts, dtype=object)}
        X, errors = self.source.encode_report(items)
        return {"shard": batch["shard"], "pos": batch["pos"], "vec": np.asarray(X, dtype=np.float32),
                "error": np.asarray([errors.get(i, "") for i in range(len(items))], dtype=object)}


#: rows an actor encodes per call (at least)
ACTOR_ROWS = 1024


def _bound_actor(config: dict[str, Any]) -> type:
    """:class:`EncodeActor` with its settings bound into the class, so a restarted actor never depends on
    constructor arguments held in the object store (ray-project/ray#53727)."""

    class BoundEncodeActor(EncodeActor):
        def __init__(self) -> None:
            super().__init__(**config)

    return BoundEncodeActor


class RayEngine:
    """Encode a batch job's shards on Ray Data actors; the driver writes them (see the module docstring)."""

    name = "ray"

    def __init__(self, source_config: dict[str, Any], *, address: str | None = None, workers: int | None = None,
                 cache_dir: Any = None, cache: bool = True, batch_size: int | None = None, threads: int | None = 1,
                 timings: Timings | None = None, reporter: Reporter | None = None) -> None:
        import ray

        if "encoder" not in source_config:
            raise InputError("--engine ray needs an encoder or a classifier to run on its workers")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # Ray's C++ core logs a restart caveat for every actor pool (ray-project/ray#53727) that our actors avoid
        # (their settings are bound into the class); failures still surface as Python exceptions
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        self._owns = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False,
                                  "configure_logging": True}
            if address:
                ray.init(address=address, **kw)
            else:
                from .local_ray import init_local_ray

                init_local_ray(num_cpus=max(int(workers or os.cpu_count() or 1), 1), **kw)
            self._owns = True
        self.ray = ray
        self.workers = int(workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        self.source = source_config
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.cache = cache
        self.batch_size = batch_size
        self.threads = threads
        self.timings = timings if timings is not None else Timings()
        self.reporter = reporter if reporter is not None else Reporter()

    def stream(self, tables: Iterator[ItemTable], skip: set[int], *, path: str, shard_size: int, text_column: str,
               audio_column: str | None) -> Iterator[tuple[int, ItemTable, Encoded | None]]:
        """Every shard with its encoding (None for the shards in ``skip``), in input order."""
        from ray.data import ActorPoolStrategy, DataContext

        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # ("progress bars disabled": ours)
        # the reader takes no CPU slot: with one per actor, a reader waiting for a free CPU would stall the pipeline
        ds = self.ray.data.read_datasource(ShardSource(path, shard_size, text_column, audio_column, frozenset(skip)),
                                           num_cpus=0)
        config = {"encoder": self.source["encoder"], "kwargs": self.source.get("kwargs", {}),
                  "fingerprint": self.source["fingerprint"], "cache_dir": self.cache_dir, "cache": self.cache,
                  "batch_size": self.batch_size, "threads": self.threads,
                  "classifier": self.source.get("classifier")}
        scored = "classifier" in self.source
        cols = ("shard", "pos", "vec", "error") + (("transcript",) if scored else ())
        # rows per actor call: enough for the encoder to sort them by length (little padding), as the local engine
        # does over a whole shard
        rows = int(min(shard_size, max(ACTOR_ROWS, 8 * (self.batch_size or 64))))
        # (Ray Data restarts killed actors and retries their batches: max_restarts=-1, max_task_retries=-1 are its
        # defaults for actor pools)
        ds = ds.map_batches(_bound_actor(config), batch_size=rows, compute=ActorPoolStrategy(size=self.workers),
                            num_cpus=1)
        batches = iter(ds.iter_batches(batch_size=None, batch_format="numpy"))
        pending: list[dict[str, np.ndarray]] = []
        for i, table in enumerate(tables):
            if i in skip:
                yield i, table, None
                continue
            need = len(table.good)
            got = sum(int((b["shard"] == i).sum()) for b in pending)
            with self.reporter.progress(f"encode shard {i} (ray, {self.workers} workers)", need) as advance, \
                    self.timings.stage("encode"):
                if advance and got:
                    advance(got)
                while got < need:
                    try:
                        b = next(batches)
                    except StopIteration:
                        break
                    pending.append(b)
                    mine = int((b["shard"] == i).sum())
                    got += mine
                    if advance:
                        advance(mine)
            rows = {k: np.concatenate([b[k] for b in pending]) for k in cols}
            take = rows["shard"] == i
            if int(take.sum()) != need:
                raise InputError(f"shard {i}: the Ray pipeline returned {int(take.sum())} rows for {need} items; "
                                 "rerun the job (finished shards are kept)")
            pending = [{k: v[~take] for k, v in rows.items()}] if (~take).any() else []
            order = np.argsort(rows["pos"][take], kind="stable")
            pos = rows["pos"][take][order]
            vec = rows["vec"][take][order]
            err = rows["error"][take][order]
            ok = np.asarray([not e for e in err])
            enc = Encoded.from_report(vec, {j: str(e) for j, e in enumerate(err) if e}, [int(p) for p in pos])
            if scored:  # the workers ran the classifier: these are its logits (and what it heard)
                enc.logits = enc.X
                enc.transcripts = [str(t) for t in rows["transcript"][take][order][ok]]
            yield i, table, enc

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()
