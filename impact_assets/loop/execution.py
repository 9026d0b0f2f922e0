"""Calling a component for many initiatives: isolation, retries and fan-out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from impact_assets.components.base import TransientComponentError

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
