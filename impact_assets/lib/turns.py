"""One loop at a time on an instance, whoever launched it: a loop run waits for its turn.

Loops share their stored values (the latest loop's), so two must never be in progress
together. Runs launched through the run queue (the UI, the schedule, sensors) are held
back by the queue's tag concurrency limit while any loop run is in progress, however
that run was launched. Runs executed in the launching process (the CLI, the Python
API) do not pass through the queue: so each loop run's first steps wait, in order of
the runs' creation, until no loop run created before theirs is still in progress. The
order holds on any storage the processes share: one SQLite file on a host, or one
PostgreSQL for many hosts.

A run whose process was killed stays "started" for ever and would hold every later
loop. Runs the queue launches are watched by Dagster's run monitoring (the instance's
daemon fails a run whose worker died); a run the CLI or the API executes records its
process (:data:`OWNER_TAG`), and the next loop that meets it on this host marks it
failed once that process is gone.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg

from impact_assets.lib.keys import LOOP_ID_TAG, LOOP_POOL, LOOP_RUN_TAG
from impact_assets.loop.worker import process_alive

# host/pid/start of the process that executes a run the CLI or the API launched
OWNER_TAG = "impact/run_owner"
IN_PROGRESS = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
POLL_SECONDS = 0.5


def _start_ticks(pid: int) -> str:
    """When ``pid`` started, in clock ticks since boot (Linux), so a reused pid is not it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def process_identity(pid: int | None = None) -> str:
    """``host/pid/start`` of a process of this host (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid)}"


def owner_gone(owner: str) -> bool:
    """Whether the process ``owner`` names ran on this host and has ended."""
    host, _, rest = owner.partition("/")
    pid, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host's process: this host cannot tell
    return not process_alive(int(pid)) or started not in ("?", _start_ticks(int(pid)))


def is_loop_run(run: dg.DagsterRun) -> bool:
    """A run of the loop job, or any run that materialises loop assets (their pool)."""
    pools = run.run_op_concurrency.all_pools if run.run_op_concurrency else None
    return LOOP_RUN_TAG in run.tags or LOOP_POOL in (pools or ())


def loop_runs_in_progress(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    """Loop runs not yet finished (queued runs wait in the queue, so they are not counted)."""
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return [record for record in records if is_loop_run(record.dagster_run)]


def fail_if_owner_gone(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Mark ``run`` failed when the process that executed it ended without saying so."""
    owner = run.tags.get(OWNER_TAG)
    if not owner or not owner_gone(owner):
        return False
    instance.report_run_failed(
        run,
        f"the process that ran this run ({owner}) ended without recording the run's end "
        "(it was killed, or lost the instance's database)",
    )
    return True


def fail_runs_of_gone_owners(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every loop run in progress whose process on this host has ended."""
    return [
        record.dagster_run.run_id
        for record in loop_runs_in_progress(instance)
        if fail_if_owner_gone(instance, record.dagster_run)
    ]


def runs_ahead(
    instance: dg.DagsterInstance, run_id: str, records: Iterable[dg.RunRecord] | None = None
) -> list[dg.RunRecord]:
    """Loop runs in progress created before ``run_id`` (ties: the smaller run id first)."""
    mine = instance.get_run_record_by_id(run_id)
    if mine is None:
        return []
    place = (mine.create_timestamp, run_id)
    return [
        record
        for record in (loop_runs_in_progress(instance) if records is None else records)
        if record.dagster_run.run_id != run_id
        and (record.create_timestamp, record.dagster_run.run_id) < place
    ]


def wait_for_turn(context: dg.AssetExecutionContext, sleep: Callable[[float], None] = time.sleep):
    """Block this step until no loop run created before this one is in progress.

    Called first by every step that can start a loop run. A run ahead whose process
    on this host is gone is marked failed on the way.
    """
    instance, run = context.instance, context.run
    waited_for: set[str] = set()
    while True:
        ahead = [
            record
            for record in runs_ahead(instance, run.run_id)
            if not fail_if_owner_gone(instance, record.dagster_run)
        ]
        if not ahead:
            if waited_for:
                context.log.info("the loop runs ahead of this one have ended: starting")
            return
        for record in ahead:
            other = record.dagster_run
            if other.run_id not in waited_for:
                waited_for.add(other.run_id)
                context.log.info(
                    f"waiting for loop run {other.run_id} "
                    f"({other.tags.get(LOOP_ID_TAG, other.job_name)}, "
                    f"{other.status.value.lower()}) to end: one loop at a time on an instance"
                )
        sleep(POLL_SECONDS)
