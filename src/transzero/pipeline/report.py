"""How a job tells the world what it is doing: progress, bad items, warnings, stage timings.

The pipeline never prints. It calls a :class:`Reporter`; the CLI's reporter writes lines on
stderr, the service's collects them for the response, the default one is silent.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO


__all__ = ["CollectingReporter", "JobProgress", "LineProgress", "ProgressFn", "Reporter", "TIMING_KEYS", "Timings", "format_progress"]

#: ``advance(n)``: n more items are done
ProgressFn = Callable[[int], None]

#: the stages every job reports in ``timings`` (seconds), in order
TIMING_KEYS = ("read", "load", "encode", "fit", "score", "adapt", "total")


class Timings:
    """Seconds spent per stage; model loading is split out of the stage it happened in.

    Encoders load their weights lazily, on the first encode; ``stage(name)`` moves the weight
    loading that happened inside it (:func:`~transzero.encoders.base.loading_seconds`) from
    ``name`` to ``load``, so ``encode`` means encoding and ``load`` means loading.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {k: 0.0 for k in TIMING_KEYS if k != "total"}
        self._t0 = time.perf_counter()

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to stage ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a block as stage ``name`` (less the weight loading during it, which counts as ``load``)."""
        from ..encoders.base import loading_seconds  # here, not at import: the CLI's start-up stays numpy-free

        before = loading_seconds()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            loaded = 0.0 if name == "load" else min(loading_seconds() - before, dt)
            self.add("load", loaded)
            self.add(name, dt - loaded)

    def as_dict(self) -> dict[str, float]:
        """``{read, load, encode, fit, score, adapt, ..., total}`` rounded to milliseconds."""
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        out["total"] = round(time.perf_counter() - self._t0, 3)
        return out


def format_progress(what: str, done: int, total: int, elapsed: float, unit: str = "items", final: bool = False) -> str:
    """``"encode 1200/3000 items, 240/s, ETA 8s"`` (totals as plain integers)."""
    line = f"{what} {done}/{total} {unit}"
    if done and elapsed > 0:
        rate = done / elapsed
        line += f", {rate:.0f}/s" if rate >= 10 else f", {rate:.1f}/s"
        if final:
            line += f", done in {elapsed:.1f}s"
        elif total > done:
            line += f", ETA {(total - done) / rate:.0f}s"
    elif final:
        line += f", done in {elapsed:.1f}s"
    return line


class LineProgress:
    """Progress as plain lines (logs, CI, notebooks): one at the start, at least every ``interval`` seconds, one at the end.

    A background thread writes the periodic lines, so a line comes even while one long batch runs.
    """

    def __init__(self, what: str, total: int, stream: TextIO | None = None, *, unit: str = "items",
                 interval: float = 2.0) -> None:
        self.what, self.total, self.unit = what, int(total), unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval = float(interval)
        self.done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def _write(self, final: bool = False) -> None:
        with self._lock:
            elapsed = time.perf_counter() - self._t0
            self.stream.write(format_progress(self.what, self.done, self.total, elapsed, self.unit, final) + "\n")
            self.stream.flush()
            self._last = time.perf_counter()

    def _tick(self) -> None:
        step = min(0.25, self.interval / 8)
        from ..encoders.model_cache import building_now

        while not self._stop.wait(step):
            if building_now():  # a model is being built once: it says so in one line; no "0/50 items" meanwhile
                self._last = time.perf_counter()
            elif time.perf_counter() - self._last >= self.interval - step:
                self._write()

    def start(self) -> LineProgress:
        """Write the first line and start the periodic ones."""
        self._write()
        self._thread = threading.Thread(target=self._tick, name="transzero-progress", daemon=True)
        self._thread.start()
        return self

    def advance(self, n: int) -> None:
        """``n`` more items are done."""
        self.done += int(n)

    __call__ = advance

    def relabel(self, what: str) -> None:
        """Name what is being counted from the next line on (``classify shard 3/8``)."""
        with self._lock:
            self.what = what

    def close(self) -> None:
        """Stop the periodic lines and write the last one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._write(final=True)


class Reporter:
    """Receives what a job reports. This base class stays silent; front ends override what they show.

    Methods
    -------
    progress(what, total)
        A context manager yielding ``advance(n)``; ``what`` names the stage (``"encode"``).
    bad_items(lines)
        One line per bad row, ``"<source>: row <row>: <why>"``.
    warning(message), note(message), info(message)
        One line each.
    """

    @contextmanager
    def progress(self, what: str, total: int, unit: str = "items") -> Iterator[ProgressFn | None]:
        yield None

    def bad_items(self, lines: list[str]) -> None:
        """Bad rows found (the job goes on without them)."""

    def warning(self, message: str) -> None:
        """Something went wrong that did not stop the job."""

    def note(self, message: str) -> None:
        """Something the user should know (a fallback, something ignored)."""

    def info(self, message: str) -> None:
        """What the job is doing (what it will encode, a learning-curve row as it is measured)."""


class JobProgress(Reporter):
    """What the shards of a batch job report through: one progress line for the whole job
    (``classify shard 3/8 2400/7600 rows``), not one per shard; everything else goes to ``inner``.

    Use :meth:`running` around the job; :meth:`start_shard` names the shard being encoded, :meth:`skip` counts
    the rows of a reused shard. Without a known total (an input too large to count cheaply) each shard gets its
    own progress line, named by its number.
    """

    def __init__(self, inner: Reporter, what: str, total_rows: int | None, n_shards: int | None) -> None:
        self.inner = inner
        self.what = what
        self.total = total_rows
        self.n_shards = n_shards
        self.shard = 0
        self._advance: Any = None

    @contextmanager
    def running(self) -> Iterator[JobProgress]:
        if not self.total:
            yield self
            return
        with self.inner.progress(self._label(), self.total, unit="rows") as advance:
            self._advance = advance
            try:
                yield self
            finally:
                self._advance = None

    def _label(self) -> str:
        of = f"/{self.n_shards}" if self.n_shards else ""
        return f"{self.what} shard {self.shard + 1}{of}"

    def start_shard(self, index: int) -> None:
        self.shard = index
        relabel = getattr(self._advance, "relabel", None)
        if relabel is not None:
            relabel(self._label())

    def skip(self, n_rows: int) -> None:
        if self._advance is not None:
            self._advance(int(n_rows))

    @contextmanager
    def progress(self, what: str, total: int, unit: str = "items") -> Iterator[ProgressFn | None]:
        if self._advance is not None:
            yield self._advance
            return
        with self.inner.progress(f"{what} ({self._label()})", total, unit) as advance:
            yield advance

    def bad_items(self, lines: list[str]) -> None:
        self.inner.bad_items(lines)

    def warning(self, message: str) -> None:
        self.inner.warning(message)

    def note(self, message: str) -> None:
        self.inner.note(message)

    def info(self, message: str) -> None:
        self.inner.info(message)


class CollectingReporter(Reporter):
    """Keeps everything reported (for services and tests)."""

    def __init__(self) -> None:
        self.bad: list[str] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.infos: list[str] = []

    def info(self, message: str) -> None:
        self.infos.append(message)

    def bad_items(self, lines: list[str]) -> None:
        self.bad.extend(lines)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)
