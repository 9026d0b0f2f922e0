"""Loops through the instance's run queue: the daemon that starts them, and runs that died.

The queue itself is Dagster's (``QueuedRunCoordinator``; one loop at a time through
the ``impact_loop`` pool). This module waits for a queued loop, starts a daemon
when none serves the instance, and marks failed the runs whose worker died without
saying so, which would otherwise hold the pool for ever.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from impact_assets.lib.daemon import LoopDaemon, queue_daemon_alive
from impact_assets.lib.keys import RUN_HOST_TAG
from impact_assets.lib.launch import LoopOutcome, submit_to_queue, wait_for_run
from impact_assets.loop.worker import process_alive

# A run launched through the queue records the daemon started for it (host/pid of its
# guard): if that daemon is gone while the run is still in progress, the run died with it.
DAEMON_TAG = "impact/loop_daemon"
# How long a queued run may wait with no daemon alive before this process starts one.
NO_DAEMON_GRACE_SECONDS = 5.0
IN_PROGRESS = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class LoopQueue:
    """Loops through the instance's run queue, with a daemon of this process's if none serves it.

    Use as a context manager: ``run()`` queues a loop and waits for it; on exit, a
    daemon started here first starts and finishes the runs other loops queued
    meanwhile, then stops. Read a loop's values before leaving the block: a later
    loop replaces them.
    """

    def __init__(self, instance: dg.DagsterInstance, on_note: Callable[[str], None] | None = None):
        self.instance = instance
        self.home = Path(instance.root_directory)
        self.daemon = LoopDaemon(self.home)
        self.on_note = on_note
        self._interrupted = False

    def __enter__(self) -> LoopQueue:
        fail_runs_of_dead_daemons(self.instance)
        fail_runs_of_dead_workers(self.instance)
        if not queue_daemon_alive(self.instance, self.home):
            self.daemon.try_start()  # False while another loop's daemon serves this home
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._interrupted:
            self.daemon.stop()
        else:
            self.daemon.stop(self.instance, on_wait=_waiting_note(self.on_note))

    def run(
        self,
        tags: Mapping[str, str],
        run_config: Mapping[str, Any],
        run_id: str | None = None,
        on_poll: Callable[[str], None] | None = None,
    ) -> LoopOutcome:
        """Queue one loop run and wait for it; a Ctrl-C cancels it."""
        instance, daemon = self.instance, self.daemon
        run_tags = dict(tags)
        if daemon.running:
            run_tags[DAEMON_TAG] = f"{socket.gethostname()}/{daemon.pid}"
        run_id = submit_to_queue(instance, run_tags, run_config, run_id)
        queued_since = time.monotonic()

        def poll() -> None:
            nonlocal queued_since
            if on_poll is not None:
                on_poll(run_id)
            if daemon.running:
                return
            run = instance.get_run_by_id(run_id)
            if run is None or run.status is not dg.DagsterRunStatus.QUEUED:
                queued_since = time.monotonic()
            elif time.monotonic() - queued_since > NO_DAEMON_GRACE_SECONDS and not (
                queue_daemon_alive(instance, self.home)
            ):
                # the daemon that would have started this run is gone: start one
                daemon.try_start()

        try:
            return wait_for_run(instance, run_id, on_poll=poll)
        except KeyboardInterrupt:
            self._interrupted = True
            instance.run_coordinator.cancel_run(run_id)
            wait_for_run(instance, run_id)
            raise


def _waiting_note(on_note: Callable[[str], None] | None) -> Callable[[int], None] | None:
    if on_note is None:
        return None
    return lambda count: on_note(
        f"  this loop's daemon finishes {count} other queued or running loop run(s) first"
    )


def fail_runs_of_dead_daemons(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs in progress whose loop daemon, on this host, no longer runs.

    Such a run's worker was stopped with its daemon (its launcher was killed), so it
    will never finish, and while in progress it would hold the loop's pool.
    """
    host = socket.gethostname()
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        owner = run.tags.get(DAEMON_TAG, "")
        owner_host, _, pid = owner.partition("/")
        if owner_host != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        instance.report_run_failed(
            run, "the loop daemon that launched this run stopped before the run ended"
        )
        failed.append(run.run_id)
    return failed


def fail_runs_of_dead_workers(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the started runs whose worker process, on this host, no longer runs.

    A run worker that loses the instance's database (PostgreSQL stopped) cannot
    record its own end: its run would stay "started" and hold the loop's pool, so
    no later loop could start. The run's host is its ``impact/run_host`` tag, its
    worker the pid Dagster recorded when the process started.
    """
    host = socket.gethostname()
    failed = []
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={RUN_HOST_TAG: host})
    for run in instance.get_runs(filters=started):
        pid = _run_worker_pid(instance, run.run_id)
        if pid is None or process_alive(pid):
            continue
        instance.report_run_failed(
            run,
            f"the run's worker process (pid {pid} on {host}) ended without recording the "
            "run's end (was the instance's database unreachable?)",
        )
        failed.append(run.run_id)
    return failed


def _run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid Dagster's "Started process for run" event recorded, if any."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if not record.message.startswith("Started process for run"):
            continue
        data = record.dagster_event.event_specific_data if record.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid")
        text = getattr(pid, "value", pid)
        if text is not None and str(text).isdigit():
            return int(text)
    return None
