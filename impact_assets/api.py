"""Run the loop from Python (notebooks, scripts): the same job the CLI and the UI launch."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from impact_assets.config import PortfolioConfig, load_config
from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    RecordStatus,
)
from impact_assets.lib.daemon import LoopDaemon, queue_daemon_alive
from impact_assets.lib.executors import DEFAULT_EXECUTOR
from impact_assets.lib.io_manager import value_store
from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.lib.launch import (
    LoopOutcome,
    has_run_queue,
    loop_run_config,
    run_in_process,
    submit_to_queue,
    wait_for_run,
)
from impact_assets.lib.partitions import (
    PartitionSync,
    partition_range_tags,
    sync_initiative_partitions,
)
from impact_assets.loop.ids import new_loop_id


@dataclass(frozen=True)
class LoopValues:
    """Every stored record of one loop, for the config's initiatives (None where absent)."""

    loop_id: str
    pilots: dict[str, MeasurementRecord | None]
    evaluations: dict[str, EvaluationRecord | None]
    allocation: AllocateResult | None
    scales: dict[str, MeasurementRecord | None]
    report: LoopReport | None
    calibration: Calibration | None = None

    @property
    def failures(self) -> list[dict[str, str]]:
        """Each initiative that failed, with the stage and the cause."""
        failures = []
        stages = (("pilot", self.pilots), ("evaluate", self.evaluations), ("scale", self.scales))
        for stage, records in stages:
            for initiative_id, record in records.items():
                if record is not None and record.status is RecordStatus.FAILED:
                    failures.append(
                        {"initiative_id": initiative_id, "stage": stage, "cause": record.cause}
                    )
        return failures

    def to_document(self) -> dict[str, Any]:
        """The ``--output-json`` document: each record with the contracts' field names."""

        def results(records: dict[str, Any]) -> list[dict[str, Any]]:
            return [r.result.to_dict() for r in records.values() if r is not None and r.ok]

        return {
            "loop_id": self.loop_id,
            "pilot_results": results(self.pilots),
            "evaluate_results": results(self.evaluations),
            "allocate_result": self.allocation.to_dict() if self.allocation else None,
            "scale_results": results(self.scales),
            "scale_records": [
                {"initiative_id": r.initiative_id, "status": r.status.value, "cause": r.cause}
                for r in self.scales.values()
                if r is not None
            ],
            "outcome_reports": [r.to_dict() for r in self.report.reports] if self.report else [],
            "summary": self.report.summary.to_dict() if self.report else None,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class LoopRun:
    """What running the loop once did: the partition sync, the run's outcome, the values."""

    sync: PartitionSync
    outcome: LoopOutcome
    values: LoopValues


def collect_loop_values(
    instance: dg.DagsterInstance, config: PortfolioConfig, loop_id: str
) -> LoopValues:
    """Read back every stored record of ``loop_id`` for the config's initiatives."""

    store = value_store(instance)

    def read(asset: str, partition_key: str | None = None) -> Any:
        value = store.read_or_none(asset, partition_key)
        return value if value is not None and value.loop_id == loop_id else None

    ids = config.initiative_ids
    return LoopValues(
        loop_id=loop_id,
        pilots={i: read("pilot_results", i) for i in ids},
        evaluations={i: read("evaluations", i) for i in ids},
        allocation=read("allocation"),
        scales={i: read("scale_results", i) for i in ids},
        report=read("outcome_reports"),
        calibration=read("calibration"),
    )


def run_impact_loop(
    config_path: str | Path,
    instance: dg.DagsterInstance,
    loop_id: str | None = None,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    executor: str = DEFAULT_EXECUTOR,
    on_poll: Callable[[str], None] | None = None,
    through_queue: bool = False,
) -> LoopRun:
    """Validate the config, sync partitions, run ``impact_loop`` once and read its values back.

    By default the run executes in this process (a notebook sees the components it
    registered). With ``through_queue`` (the CLI's way) it goes through the
    instance's run queue, which starts one loop at a time whoever launched it: the
    instance's daemon starts it, or, when none runs, a daemon started for this
    loop. An in-process run still holds the loop's pool while it runs, so the queue
    starts no other loop meanwhile; it does not itself wait for one.
    ``tags`` are added to the run's own (partition range and loop id);
    ``on_poll(run_id)`` is called while a queued run is waited for.

    Raises :class:`~impact_assets.config.ConfigError` for an invalid config.
    """
    config_path = Path(config_path).resolve()
    config = load_config(config_path)
    sync = sync_initiative_partitions(instance, config.initiative_ids)
    loop_id = loop_id or new_loop_id()
    run_tags = {**(tags or {}), **partition_range_tags(instance), LOOP_ID_TAG: loop_id}
    run_config = loop_run_config(config_path, executor)
    if through_queue:
        if not has_run_queue(instance):
            raise ValueError("through_queue: this instance has no run queue (QueuedRunCoordinator)")
        outcome = run_through_queue(instance, run_tags, run_config, run_id, on_poll)
    else:
        outcome = run_in_process(instance, run_tags, run_config, run_id)
    return LoopRun(sync, outcome, collect_loop_values(instance, config, loop_id))


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


def run_through_queue(
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    run_id: str | None = None,
    on_poll: Callable[[str], None] | None = None,
) -> LoopOutcome:
    """Queue the run and wait for it, with a daemon of this process's if the instance has none.

    A Ctrl-C cancels the run (in the queue, or by terminating its worker).
    """
    fail_runs_of_dead_daemons(instance)
    daemon: LoopDaemon | None = None
    home = Path(instance.root_directory)
    if not queue_daemon_alive(instance):
        daemon = LoopDaemon(home).start()
    run_tags = dict(tags)
    if daemon is not None:
        run_tags[DAEMON_TAG] = f"{socket.gethostname()}/{daemon.process.pid}"
    try:
        run_id = submit_to_queue(instance, run_tags, run_config, run_id)
        queued_since = time.monotonic()

        def poll() -> None:
            nonlocal daemon, queued_since
            if on_poll is not None:
                on_poll(run_id)
            if daemon is not None and daemon.running:
                return
            run = instance.get_run_by_id(run_id)
            if run is None or run.status is not dg.DagsterRunStatus.QUEUED:
                queued_since = time.monotonic()
            elif time.monotonic() - queued_since > NO_DAEMON_GRACE_SECONDS and not (
                queue_daemon_alive(instance)
            ):
                # the daemon that would have started this run is gone: start one
                daemon = LoopDaemon(home).start()

        try:
            return wait_for_run(instance, run_id, on_poll=poll)
        except KeyboardInterrupt:
            instance.run_coordinator.cancel_run(run_id)
            wait_for_run(instance, run_id)
            raise
    finally:
        if daemon is not None:
            daemon.stop()


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
        if owner_host != host or not pid.isdigit() or _process_alive(int(pid)):
            continue
        instance.report_run_failed(
            run, "the loop daemon that launched this run stopped before the run ended"
        )
        failed.append(run.run_id)
    return failed


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (ended, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
