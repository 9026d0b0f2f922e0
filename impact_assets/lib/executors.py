"""Executors as one switch, chosen per run in run config: in-process by default.

The Definitions use Dagster's ``multi_or_in_process_executor``; the
``impact_loop`` job's default run config selects ``in_process`` (lowest
overhead on a small machine). A run picks ``multiprocess`` (each step in its own
process) from the launchpad, the CLI's ``--executor``, or, for scheduled runs,
``IMPACT_ENGINE_EXECUTOR`` read at the tick.
"""

from __future__ import annotations

import os
from typing import Any

EXECUTOR_ENV_VAR = "IMPACT_ENGINE_EXECUTOR"
EXECUTORS = ("in_process", "multiprocess")
DEFAULT_EXECUTOR = "in_process"


def check_executor(name: str) -> str:
    """``name`` if it is an executor, else a ValueError naming the choices."""
    if name not in EXECUTORS:
        raise ValueError(f"{name!r} is not an executor; choose one of {', '.join(EXECUTORS)}")
    return name


def executor_from_env() -> str:
    """The executor ``IMPACT_ENGINE_EXECUTOR`` names (an alias of the run-config choice)."""
    name = os.environ.get(EXECUTOR_ENV_VAR, "").strip() or DEFAULT_EXECUTOR
    try:
        return check_executor(name)
    except ValueError as error:
        raise ValueError(f"{EXECUTOR_ENV_VAR}: {error}") from None


def execution_config(executor: str = DEFAULT_EXECUTOR) -> dict[str, Any]:
    """The ``execution`` section of a run config that selects ``executor``."""
    return {"execution": {"config": {check_executor(executor): {}}}}
