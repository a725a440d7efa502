"""Thread limits for processes that share a machine's cores (Ray Data actors, Ray Serve replicas).

Each such process gets a CPU share; its encoders' libraries would otherwise start one thread per core of the
machine, and several processes would oversubscribe it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["limit_encoder_threads", "limit_process_threads"]


def limit_process_threads(threads: int | None) -> None:
    """Let libraries of this process use ``threads`` threads (None or 0: leave them be): ``OMP_NUM_THREADS`` for
    the ones loaded from now on (torch reads it on import), and torch's pool if torch is loaded already."""
    if not threads:
        return
    os.environ["OMP_NUM_THREADS"] = str(int(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def limit_encoder_threads(encoder: Any, threads: int | None) -> None:
    """Give ``encoder`` ``threads`` threads when it has a ``num_threads`` left at None (every core): onnxruntime
    sessions ignore ``OMP_NUM_THREADS``, so the encoder passes it on itself."""
    if threads and getattr(encoder, "num_threads", 0) is None:
        encoder.num_threads = int(threads)
