"""Prometheus metrics of the service (``GET /metrics``): requests, latencies, batch sizes, queue depth.

They are one process's numbers. Under ``--engine ray`` each replica keeps its own, ``/metrics`` answers with the
numbers of the replica that served the scrape (``transzero_replica_info{replica=...}`` and the
``X-Transzero-Replica`` header name it), and the deployment-wide view is Ray Serve's own metrics (``ray_serve_*``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ITEMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Metrics:
    """One registry per app (so several apps in one process - tests - keep their own numbers)."""

    def __init__(self, replica: str | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        if replica is not None:  # (several replicas serve one deployment: each scrape is one replica's numbers)
            Gauge("transzero_replica_info", "the replica whose numbers these are", ["replica"],
                  registry=r).labels(replica).set(1)
        self.requests = Counter("transzero_requests", "HTTP requests by route and status", ["route", "method", "status"],
                                registry=r)
        self.latency = Histogram("transzero_request_seconds", "HTTP request latency", ["route"], buckets=_LATENCY,
                                 registry=r)
        self.batch_items = Histogram("transzero_batch_items", "items per encoder call (micro-batches)", ["encoder"],
                                     buckets=_ITEMS, registry=r)
        self.batch_seconds = Histogram("transzero_batch_seconds", "seconds per encoder call", ["encoder"],
                                       buckets=_LATENCY, registry=r)
        self.queue_depth = Gauge("transzero_queue_depth", "requests waiting for their encoder", ["encoder"], registry=r)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def batch(self, encoder: str, n_items: int, seconds: float) -> None:
        self.batch_items.labels(encoder).observe(n_items)
        self.batch_seconds.labels(encoder).observe(seconds)

    def queue(self, encoder: str, depth: int) -> None:
        self.queue_depth.labels(encoder).set(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
