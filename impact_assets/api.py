"""Run the loop from Python (notebooks, scripts): the same job the CLI and the UI launch."""

from __future__ import annotations

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
from impact_assets.lib.executors import DEFAULT_EXECUTOR
from impact_assets.lib.io_manager import value_store
from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.lib.launch import (
    LoopOutcome,
    has_run_queue,
    loop_run_config,
    run_in_process,
)
from impact_assets.lib.partitions import (
    PartitionSync,
    partition_range_tags,
    sync_initiative_partitions,
)
from impact_assets.lib.queue import LoopQueue
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
    instance: dg.DagsterInstance, config: PortfolioConfig, loop_id: str, run_id: str | None = None
) -> LoopValues:
    """Read back every stored record of ``loop_id`` for the config's initiatives.

    From the file the last step of run ``run_id`` kept for the loop (whatever loops
    ran since), else from the latest values (a run that stopped early).
    """

    store = value_store(instance)
    ids = config.initiative_ids
    kept = store.read_loop(loop_id, run_id) if run_id is not None else None

    def read(asset: str, partition_key: str | None = None) -> Any:
        if kept is None:
            value = store.read_or_none(asset, partition_key)
        elif partition_key is None:
            value = kept.get(asset)
        else:
            value = kept.get(asset, {}).get(partition_key)
        return value if value is not None and value.loop_id == loop_id else None

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
    on_note: Callable[[str], None] | None = None,
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
    if not through_queue:
        outcome = run_in_process(instance, run_tags, run_config, run_id)
        return LoopRun(
            sync, outcome, collect_loop_values(instance, config, loop_id, outcome.run_id)
        )
    if not has_run_queue(instance):
        raise ValueError("through_queue: this instance has no run queue (QueuedRunCoordinator)")
    with LoopQueue(instance, on_note) as queue:
        outcome = queue.run(run_tags, run_config, run_id, on_poll)
        # read now: a loop queued behind this one replaces the stored values
        return LoopRun(
            sync, outcome, collect_loop_values(instance, config, loop_id, outcome.run_id)
        )
