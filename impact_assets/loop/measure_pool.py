"""Where a MEASURE step runs its measurements, and which worker processes ran them.

The config's ``measure.pool`` chooses when it names one; otherwise the profile does
(the ``measure_pool`` resource: threads on ``local``, dask on ``distributed``), so
the same config runs on both. The pool a step used and the distinct worker
processes that measured (``host/pid``) are recorded on the :class:`MeasurePool`
the step was given: the assets report them as ``measure_workers``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

POOLS = ("threads", "processes", "dask")
DEFAULT_POOL = "threads"
# Dask's own variable for the scheduler a client connects to (``distributed.Client()``).
SCHEDULER_ENV_VAR = "DASK_SCHEDULER_ADDRESS"


class MeasurePoolError(RuntimeError):
    """The pool cannot run the measurements (no scheduler address, cluster unreachable)."""


def this_worker() -> str:
    """This process, as a measuring worker: ``host/pid``."""
    return f"{socket.gethostname()}/{os.getpid()}"


@dataclass
class MeasurePool:
    """The profile's pool for the steps that do not choose one, and what a step used.

    ``name`` and ``scheduler_address`` are the defaults; after a step, ``used`` is
    the pool it ran on and ``workers`` the distinct processes that measured.
    """

    name: str = DEFAULT_POOL
    scheduler_address: str | None = None
    used: str | None = None
    workers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.name not in POOLS:
            raise ValueError(f"{self.name!r} is not a measure pool; choose one of {POOLS}")

    def choose(self, configured: str | None) -> str:
        """The pool a step runs on: the config's choice, else this profile's."""
        return configured or self.name

    def address(self, configured: str | None) -> str:
        """The Dask scheduler: the config's, the profile's, or ``$DASK_SCHEDULER_ADDRESS``."""
        address = configured or self.scheduler_address or os.environ.get(SCHEDULER_ENV_VAR)
        if not address:
            raise MeasurePoolError(
                "measure.pool is dask but no scheduler address is known: set "
                f"measure.scheduler_address in the config or ${SCHEDULER_ENV_VAR} "
                "(`python scripts/cluster.py up` writes it to .cluster/env)"
            )
        return address

    def record(self, used: str, workers: set[str]) -> None:
        self.used = used
        self.workers |= workers

    @property
    def worker_count(self) -> int:
        """Distinct worker processes that measured (1 on threads)."""
        return len(self.workers)
