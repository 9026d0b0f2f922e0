"""MEASURE on a Dask cluster: one task per initiative, results in input order.

A worker lost while it measured (killed, out of memory, its machine gone) is the
scheduler's to handle: it runs the worker's tasks again elsewhere, up to
``distributed.scheduler.allowed-failures`` times (3 by default). A task that has
killed that many workers becomes the ``lost(error)`` result of its own item only.
Anything else the cluster does wrong (scheduler unreachable or gone, no worker
for :data:`NO_WORKERS_TIMEOUT_SECONDS`, a task the workers cannot even load)
raises :class:`~impact_assets.loop.measure_pool.MeasurePoolError`: the step fails
with that message instead of waiting forever.

Workers need only this project installed (``work`` and the items are pickled by
reference). ``distributed`` is imported when a step uses this pool, never before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from impact_assets.loop.measure_pool import MeasurePoolError, this_worker

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_SECONDS = 15
NO_WORKERS_TIMEOUT_SECONDS = 60
POLL_SECONDS = 1.0
INSTALL_HINT = "pip install 'impact-engine-orchestrator[distributed]'"


def _run_on_worker(work: Callable[[T], R], item: T) -> tuple[R, str]:
    return work(item), this_worker()


def dask_fan_out(
    work: Callable[[T], R],
    items: Sequence[T],
    address: str,
    lost: Callable[[BaseException], R],
    names: Sequence[str] | None = None,
) -> list[tuple[R, str | None]]:
    """``[(work(item), worker) for item in items]``, one Dask task per item, in input order.

    ``worker`` is the ``host/pid`` of the worker process that computed the item
    (None for a ``lost`` item). ``names`` label the tasks on the dashboard.
    """
    items = list(items)
    if not items:
        return []
    try:
        from distributed import Client, KilledWorker
    except ImportError:
        raise MeasurePoolError(
            f"measure.pool dask needs the `distributed` package: {INSTALL_HINT}"
        ) from None
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, asyncio.TimeoutError) as error:
        raise MeasurePoolError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    batch = uuid.uuid4().hex[:8]
    labels = names or [str(index) for index in range(len(items))]
    keys = [f"measure-{label}-{batch}" for label in labels]
    with client:
        futures = client.map(partial(_run_on_worker, work), items, key=keys, pure=False)
        _wait_while_workers_exist(client, futures, address)
        results: list[Any] = [None] * len(items)
        finished = [i for i, future in enumerate(futures) if future.status == "finished"]
        values = client.gather([futures[i] for i in finished])
        for index, value in zip(finished, values, strict=True):
            results[index] = value
        for index, future in enumerate(futures):
            if future.status == "finished":
                continue
            if future.status != "error":  # cancelled: the scheduler dropped it
                raise MeasurePoolError(
                    f"the Dask scheduler at {address} dropped the measurement of "
                    f"{labels[index]} ({future.status})"
                )
            error = future.exception()
            if isinstance(error, KilledWorker):
                results[index] = (lost(error), None)
                continue
            raise MeasurePoolError(
                f"the Dask cluster at {address} could not measure {labels[index]}: "
                f"{type(error).__name__}: {error}"
            )
    return results


def _wait_while_workers_exist(client: Any, futures: list[Any], address: str) -> None:
    """Wait for every future; fail when the cluster has had no worker for too long."""
    from distributed import wait

    without_workers_since: float | None = None
    pending = list(futures)
    while True:
        # a future's state is kept up to date by the client's own thread: no round trip
        pending = [future for future in pending if not future.done()]
        if not pending:
            return
        # returns as soon as the last one is done, else after POLL_SECONDS to check workers
        with client.as_current(), contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            wait(pending, timeout=POLL_SECONDS)
        try:
            workers = len(client.nthreads())
        except Exception as error:  # the scheduler is gone or unreachable
            raise MeasurePoolError(
                f"lost the Dask scheduler at {address}: {type(error).__name__}: {error}"
            ) from None
        if workers:
            without_workers_since = None
            continue
        now = time.monotonic()
        without_workers_since = without_workers_since or now
        if now - without_workers_since > NO_WORKERS_TIMEOUT_SECONDS:
            raise MeasurePoolError(
                f"the Dask cluster at {address} has had no worker for "
                f"{NO_WORKERS_TIMEOUT_SECONDS} s; start workers (`dask worker {address}`)"
            )
