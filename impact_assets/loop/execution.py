"""Calling a component for many initiatives: isolation, retries and fan-out."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from impact_assets.components.base import TransientComponentError
from impact_assets.loop.worker import exit_with_parent

T = TypeVar("T")
R = TypeVar("R")

# Transient errors are retried around the single component call, never the step.
RETRY_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 0.2
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientComponentError,
    TimeoutError,
    ConnectionError,
)


def call_with_retries(
    function: Callable[[dict[str, Any]], dict[str, Any]],
    event: dict[str, Any],
    attempts: int = RETRY_ATTEMPTS,
    backoff_seconds: float = RETRY_BACKOFF_SECONDS,
) -> dict[str, Any]:
    """Call ``function(event)``, retrying transient errors only; anything else raises at once."""
    for attempt in range(1, attempts + 1):
        try:
            return function(event)
        except TRANSIENT_ERRORS:
            if attempt == attempts:
                raise
            time.sleep(backoff_seconds * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def describe_error(error: BaseException) -> str:
    """A one-line cause for a failed record: the exception's type and message."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def fan_out(work: Callable[[T], R], items: Iterable[T], max_workers: int) -> list[R]:
    """``[work(item) for item in items]`` on up to ``max_workers`` threads, in input order."""
    items = list(items)
    if max_workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(work, items))


# Worker processes fork from one server process that has imported these already (in
# this order: the first limits BLAS threads before numpy loads), so a worker starts in
# milliseconds instead of importing pandas and statsmodels.
PRELOADED_MODULES = (
    "impact_assets.loop.single_thread_blas",
    "impact_assets.loop.stages",
    "impact_assets.components.measure.statistical",
)


# Each worker re-runs the main script (as ``__mp_main__``), so the server also preloads
# what such a script imports, when this process has it: ``run_once.py`` and Dagster's
# run worker import these. A worker then finds them loaded instead of importing them.
MAIN_SCRIPT_MODULES = ("dagster", "impact_assets.cli")


def _preload() -> list[str]:
    loaded = [name for name in MAIN_SCRIPT_MODULES if name in sys.modules]
    return [*PRELOADED_MODULES, *loaded]


def process_fan_out(work: Callable[[T], R], items: Sequence[T], max_workers: int) -> list[R]:
    """``[work(item) for item in items]`` in up to ``max_workers`` processes, in input order.

    ``work`` and the items are pickled: ``work`` must be a module-level function.
    The processes start from a fork server (never a fork of this possibly threaded
    process) that preloads :data:`PRELOADED_MODULES`. An exception raised by
    ``work`` is raised here, as with threads.
    """
    items = list(items)
    workers = min(max_workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload())
    else:  # Windows: each worker starts a fresh interpreter and imports what it needs
        context = multiprocessing.get_context("spawn")
    # A few chunks per worker: fewer round trips, and the load still evens out.
    chunksize = max(1, len(items) // (workers * 4))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        return list(pool.map(work, items, chunksize=chunksize))
