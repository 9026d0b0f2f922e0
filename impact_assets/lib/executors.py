"""Executors as one switch: in-process by default, multiprocess on request.

``IMPACT_ENGINE_EXECUTOR`` chooses: ``in_process`` (default; lowest overhead on a
small machine) or ``multiprocess`` (each step in its own process).
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV_VAR = "IMPACT_ENGINE_EXECUTOR"
EXECUTORS: dict[str, dg.ExecutorDefinition] = {
    "in_process": dg.in_process_executor,
    "multiprocess": dg.multiprocess_executor,
}


def executor_name() -> str:
    name = os.environ.get(EXECUTOR_ENV_VAR, "in_process").strip() or "in_process"
    if name not in EXECUTORS:
        raise ValueError(
            f"{EXECUTOR_ENV_VAR}={name!r} is not an executor; choose one of {', '.join(EXECUTORS)}"
        )
    return name


def selected_executor() -> dg.ExecutorDefinition:
    return EXECUTORS[executor_name()]
