"""Launching ``impact_loop``: through the instance's run queue, or in this process.

An instance with a run queue (the homes the CLI creates, ``scripts/cluster.py``,
a deployment) gets every loop through the queue, where the ``impact_loop`` pool
lets one run at a time start, whoever launched it. An instance without one (a
test's or a notebook's temporary instance) runs the loop in this process.
The run config carries the executor and the config file, so a run launched
here reads the same config whichever daemon starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from impact_assets.lib.daemon import WORKSPACE_FILE, console_script
from impact_assets.lib.executors import DEFAULT_EXECUTOR, execution_config
from impact_assets.lib.instance_settings import dagster_environment
from impact_assets.lib.keys import LOOP_JOB

QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
LAUNCH_TIMEOUT_SECONDS = 300
FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


class LaunchError(RuntimeError):
    """Dagster refused to queue the run (the message says why)."""


@dataclass(frozen=True)
class LoopOutcome:
    """Whether the run succeeded, and each failed step with its error message."""

    run_id: str
    success: bool
    step_failures: list[tuple[str, str]] = field(default_factory=list)
    status: str = ""


def loop_run_config(
    config_path: Path | str | None = None,
    executor: str = DEFAULT_EXECUTOR,
    quiet: bool = True,
) -> dict[str, Any]:
    """Run config of one loop: its executor, its config file, and quiet console logs."""
    run_config: dict[str, Any] = {**execution_config(executor)}
    if config_path is not None:
        run_config["resources"] = {"impact_config": {"config": {"path": str(config_path)}}}
    if quiet:
        run_config.update(QUIET_LOGGING)
    return run_config


def has_run_queue(instance: dg.DagsterInstance) -> bool:
    """Whether runs on ``instance`` go through Dagster's run queue."""
    return isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)


def impact_loop_job() -> dg.JobDefinition:
    """The ``impact_loop`` job, resolved from the project's Definitions (reconstructable)."""
    from impact_assets.definitions import defs

    return defs.resolve_job_def(LOOP_JOB)


def _executor_of(run_config: Mapping[str, Any]) -> str:
    chosen = run_config.get("execution", {}).get("config", {})
    return next(iter(chosen), DEFAULT_EXECUTOR)


def run_in_process(
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    run_id: str | None = None,
) -> LoopOutcome:
    """Run the loop from this process and wait for it (no run queue).

    In-process runs every step here. With the multiprocess executor the run is
    created in ``instance`` and each step runs in its own process through
    ``execute_job``, which names the run itself (``run_id`` applies in-process).
    """
    if _executor_of(run_config) == "in_process":
        result = impact_loop_job().execute_in_process(
            instance=instance,
            tags=dict(tags),
            run_id=run_id,
            run_config=dict(run_config),
            raise_on_error=False,
        )
    else:
        result = dg.execute_job(
            dg.reconstructable(impact_loop_job),
            instance=instance,
            tags=dict(tags),
            run_config=dict(run_config),
            raise_on_error=False,
        )
    failures = [
        (event.step_key or "run", error_message(event))
        for event in result.get_step_failure_events()
    ]
    status = "SUCCESS" if result.success else "FAILURE"
    return LoopOutcome(result.run_id, result.success, failures, status)


def submit_to_queue(
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    run_id: str | None = None,
) -> str:
    """Put a loop run in the instance's run queue (``dagster job launch``); its run id."""
    run_id = run_id or str(uuid.uuid4())
    command = [
        console_script("dagster"),
        "job",
        "launch",
        "-w",
        str(WORKSPACE_FILE),
        "-j",
        LOOP_JOB,
        "--tags",
        json.dumps(dict(tags)),
        "--config-json",
        json.dumps(dict(run_config)),
        "--run-id",
        run_id,
    ]
    # this process creates the run: one planned event per asset (see dagster_environment)
    env = dagster_environment({**os.environ, "DAGSTER_HOME": str(instance.root_directory)})
    try:
        launched = subprocess.run(
            command,
            cwd=WORKSPACE_FILE.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=LAUNCH_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        waited = f"{LAUNCH_TIMEOUT_SECONDS} s"
        raise LaunchError(f"dagster job launch did not answer in {waited}") from None
    if launched.returncode != 0:
        lines = [line for line in launched.stderr.strip().splitlines() if line.strip()]
        raise LaunchError("the run could not be queued: " + " | ".join(lines[-3:]))
    return run_id


def wait_for_run(
    instance: dg.DagsterInstance,
    run_id: str,
    on_poll: Callable[[], None] | None = None,
    poll_seconds: float = 0.5,
) -> LoopOutcome:
    """Wait until the run ends (``on_poll`` is called between looks) and say how it went."""
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in FINISHED:
            break
        if on_poll is not None:
            on_poll()
        time.sleep(poll_seconds)
    failures = [
        (record.step_key or "run", error_message(record.get_dagster_event()))
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    ]
    if run.status is not dg.DagsterRunStatus.SUCCESS and not failures:
        run_failures = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        message = run_failures[-1].message if run_failures else f"the run ended {run.status.value}"
        failures = [("run", message)]
    return LoopOutcome(
        run_id,
        run.status is dg.DagsterRunStatus.SUCCESS,
        failures,
        run.status.value,
    )


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
    return message
