"""A local Ray instance on loopback, for jobs and servers that start their own (no ``--ray-address``).

Ray makes a node reachable from other machines by default: it advertises the machine's routable address and its
processes listen there. A local instance has no other nodes, so :func:`init_local_ray` keeps it on 127.0.0.1:
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's switch for single-node machines) makes Ray's own processes, which
inherit it, advertise and listen on loopback, and this process, which read the variable when it imported Ray, is
told the same.
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["LOOPBACK_ENV", "init_local_ray"]

#: Ray's environment switch for single-node instances
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def init_local_ray(num_cpus: int | None = None, **kwargs: Any) -> None:
    """``ray.init`` of a new local instance bound to loopback (quiet: no dashboard, no usage stats, errors only
    in this console); ``kwargs`` go to ``ray.init``."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ[LOOPBACK_ENV] = "0"
    import ray

    try:  # (the constant Ray computed from the variable when it was imported; read again on every lookup)
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    except (ImportError, AttributeError):  # pragma: no cover - another Ray layout: children still get the variable
        pass
    kw: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
    kw.update(kwargs)
    ray.init(address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1", **kw)
