"""Micro-batching: concurrent requests for one encoder are encoded together.

Like infinity-emb's batch handler: requests put their items on an asyncio queue and await a future;
one worker per encoder takes what is queued - up to ``max_batch`` items, waiting at most ``max_wait_ms``
for more after the first - encodes it in one call on its own thread (through the embedding cache), and
resolves each request with its slice. Under load the queue fills while a batch runs, so the next batch
is full and the service keeps the offline batch rate. A long list of one request (a big label set) goes
through :meth:`MicroBatcher.encode_chunked`, a batch at a time, so it shares the encoder with other requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..encoded import EncodeTiming, Encoded
from ..encoders.base import Encoder
from ..store import EmbeddingCache, encode_items

__all__ = ["MicroBatcher"]


@dataclass
class _Job:
    items: list[Any]
    future: asyncio.Future[Encoded]
    t0: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Encode concurrent requests for ``encoder`` together.

    Parameters
    ----------
    encoder : Encoder
    cache : EmbeddingCache, optional
    max_batch : int
        Items per encoder call at most (a single larger request is encoded whole).
    max_wait_ms : float
        How long the first request of a batch waits for company, under load (when the last batch held several
        requests); a lone request waits at most 2 ms, so it is not slowed by a server that is idle.
    on_batch : callable, optional
        ``on_batch(n_items, seconds)`` after every batch (metrics).
    on_queue : callable, optional
        ``on_queue(depth)`` whenever the number of waiting requests changes (metrics).
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache | None = None, *, max_batch: int = 128,
                 max_wait_ms: float = 50.0, batch_size: int | None = None,
                 on_batch: Callable[[int, float], None] | None = None,
                 on_queue: Callable[[int], None] | None = None) -> None:
        self.encoder = encoder
        self.cache = cache
        self.max_batch = max(1, int(max_batch))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.on_queue = on_queue
        # one thread per encoder: the model runs one batch at a time, and the cache's SQLite connection stays in it
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"encode-{encoder.name}")
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._last_requests = 1  # requests in the last batch: more than one means load, worth waiting for

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` on the encoder's thread (label embedding, clips for speech recognisers): one model never
        loads or runs in two threads at once."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def encode(self, items: list[Any]) -> Encoded:
        """The vectors of ``items`` (bad ones reported, not raised; positions are indices into ``items``), encoded
        with whatever else is queued; ``timing`` says how long it queued and how long the encoder ran."""
        loop = asyncio.get_running_loop()
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run())
        job = _Job(list(items), loop.create_future())
        await self._queue.put(job)
        self._depth()
        return await job.future

    async def encode_chunked(self, items: list[Any], chunk: int | None = None) -> Encoded:
        """Like :meth:`encode`, for a long list (a label set's prompts): queued ``chunk`` items at a time (default
        ``max_batch``), the next only once the last is done, so other requests' items join the batches in between
        instead of waiting for the whole list. Seconds are summed; ``batch_items`` is the largest batch."""
        size = self.max_batch if chunk is None else max(1, int(chunk))
        starts = range(0, len(items), size)
        parts = [await self.encode(items[i:i + size]) for i in starts]
        return Encoded.concat(parts, list(starts), dim=self.encoder.dim)

    def _depth(self) -> None:
        if self.on_queue is not None and self._queue is not None:
            self.on_queue(self._queue.qsize())

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            batch, n = [first], len(first.items)
            wait = self.max_wait if self._last_requests > 1 or not self._queue.empty() else min(self.max_wait, 0.002)
            deadline = loop.time() + wait
            while n < self.max_batch:
                if self._queue.empty():
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), timeout)
                    except asyncio.TimeoutError:
                        break
                else:
                    job = self._queue.get_nowait()
                batch.append(job)
                n += len(job.items)
            self._depth()
            self._last_requests = len(batch)
            items = [it for job in batch for it in job.items]
            t0 = time.perf_counter()
            try:
                X, errors = await loop.run_in_executor(self._executor, self._encode, items)
            except Exception as exc:  # a failure of the encoder itself: every waiting request gets it
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            seconds = time.perf_counter() - t0
            if self.on_batch is not None:
                self.on_batch(len(items), seconds)
            start = 0
            for job in batch:
                end = start + len(job.items)
                errs = {i - start: m for i, m in errors.items() if start <= i < end}
                if not job.future.done():
                    job.future.set_result(Encoded.from_report(X[start:end], errs, timing=EncodeTiming(
                        t0 - job.t0, seconds, len(items))))
                start = end

    def _encode(self, items: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        return encode_items(self.encoder, self.cache, items, batch_size=self.batch_size)

    def close(self) -> None:
        """Stop the worker and the encoder thread."""
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
