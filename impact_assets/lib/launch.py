"""Running ``impact_loop`` from this process: its run config, its tags, and how it went.

The CLI and the Python API execute the loop here, through Dagster's own
``execute_in_process`` (or ``execute_job`` for the multiprocess executor), on the
instance they record into: no launch subprocess, no daemon, and the run shows in the
UI like any other. One loop at a time still holds (lib/turns.py); runs launched
from the UI and the schedule go through the instance's run queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from impact_assets.lib.executors import DEFAULT_EXECUTOR, execution_config

# The CLI reports failures itself, one line each: Dagster's console logger stays quiet
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
INTERRUPTED = "interrupted (Ctrl-C): the run stopped here and is marked failed"


@dataclass(frozen=True)
class LoopOutcome:
    """Whether the run succeeded, and each failed step with its error message."""

    run_id: str
    success: bool
    step_failures: list[tuple[str, str]] = field(default_factory=list)
    status: str = ""


def loop_run_config(
    config_path: Path | str | None = None,
    digest: str | None = None,
    executor: str = DEFAULT_EXECUTOR,
    quiet: bool = True,
) -> dict[str, Any]:
    """Run config of one loop: its executor, its config (pinned by ``digest``), quiet logs."""
    run_config: dict[str, Any] = {**execution_config(executor)}
    if config_path is not None:
        pinned = {"path": str(config_path)}
        if digest is not None:
            pinned["digest"] = digest
        run_config["resources"] = {"impact_config": {"config": pinned}}
    if quiet:
        run_config.update(QUIET_LOGGING)
    return run_config


def executor_of(run_config: Mapping[str, Any]) -> str:
    chosen = run_config.get("execution", {}).get("config", {})
    return next(iter(chosen), DEFAULT_EXECUTOR)


def run_in_process(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    run_id: str | None = None,
) -> LoopOutcome:
    """Run the loop from this process and wait for it.

    In-process runs every step here. With the multiprocess executor this process
    orchestrates and each step runs in a child process, which loads the definitions
    again (``impact_assets.lib.loading.loop_job``) from ``$IMPACT_ENGINE_CONFIG``;
    ``execute_job`` names that run itself (``run_id`` applies in-process).
    """
    if executor_of(run_config) == "in_process":
        result = job.execute_in_process(
            instance=instance,
            tags=dict(tags),
            run_id=run_id,
            run_config=dict(run_config),
            raise_on_error=False,
        )
    else:
        from impact_assets.lib.loading import loop_job

        result = dg.execute_job(
            dg.reconstructable(loop_job),
            instance=instance,
            tags=dict(tags),
            run_config=dict(run_config),
            raise_on_error=False,
        )
    failures = [
        (event.step_key or "run", error_message(event))
        for event in result.get_step_failure_events()
    ]
    if not result.success and not failures:
        failures = [("run", run_failure_message(instance, result.run_id))]
    status = "SUCCESS" if result.success else "FAILURE"
    return LoopOutcome(result.run_id, result.success, failures, status)


def run_failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    """Why a run with no failed step failed (the last RUN_FAILURE message)."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return records[-1].message if records else "the run did not succeed"


def error_message(event: dg.DagsterEvent) -> str:
    """What went wrong in a failed step: the innermost error Dagster wrapped."""
    data = event.event_specific_data
    error = getattr(data, "error", None)
    if error is None:
        return event.message or "failed"
    message = error.message.strip()
    cause = error.cause
    while cause is not None:  # Dagster wraps user errors; the innermost says what went wrong
        message = cause.message.strip()
        cause = cause.cause
    if message.startswith("dagster._core.errors.DagsterExecutionInterruptedError"):
        return INTERRUPTED
    return message
