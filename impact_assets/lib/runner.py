"""Launching ``impact_loop`` from Python (CLI, tests, notebooks) with the configured executor."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from impact_assets.lib.executors import executor_name

QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class LoopOutcome:
    """Whether the run succeeded, and each failed step with its error message."""

    run_id: str
    success: bool
    step_failures: list[tuple[str, str]] = field(default_factory=list)


def impact_loop_job() -> dg.JobDefinition:
    """The ``impact_loop`` job, resolved from the project's Definitions (reconstructable)."""
    from impact_assets.definitions import defs

    return defs.resolve_job_def("impact_loop")


def launch_loop(
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    run_id: str | None = None,
    run_config: dict | None = None,
) -> LoopOutcome:
    """Run ``impact_loop`` to completion on ``instance`` and say how it went.

    In-process (the default) runs directly in this process. With the multiprocess
    executor the run is created in ``instance`` and executed through
    ``execute_job``: each step runs in its own process, its events go to the
    instance's event log as they happen (so the UI and the CLI's progress see
    them), and this call waits for the run to finish. ``execute_job`` names the
    run itself, so ``run_id`` applies in-process only; find the run by its tags.
    """
    run_config = run_config if run_config is not None else QUIET_LOGGING
    if executor_name() == "in_process":
        result = impact_loop_job().execute_in_process(
            instance=instance,
            tags=tags,
            run_id=run_id,
            run_config=run_config,
            raise_on_error=False,
        )
    else:
        result = dg.execute_job(
            dg.reconstructable(impact_loop_job),
            instance=instance,
            tags=tags,
            run_config=run_config,
            raise_on_error=False,
        )
    failures = [
        (event.step_key or "run", _error_message(event))
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    ]
    return LoopOutcome(run_id=result.run_id, success=result.success, step_failures=failures)


def _error_message(event: dg.DagsterEvent) -> str:
    data = event.event_specific_data
    error = getattr(data, "error", None)
    if error is None:
        return event.message or "failed"
    message = error.message.strip()
    cause = error.cause
    while cause is not None:  # Dagster wraps user errors; the innermost says what went wrong
        message = cause.message.strip()
        cause = cause.cause
    return message
