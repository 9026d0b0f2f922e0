"""Run the loop from Python (notebooks, scripts): the same job the CLI and the UI launch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from impact_assets.config import PortfolioConfig
from impact_assets.config.pinned import resolve_config
from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    RecordStatus,
)
from impact_assets.lib.config_resource import pin_config
from impact_assets.lib.executors import DEFAULT_EXECUTOR
from impact_assets.lib.instance_settings import one_planned_event_per_asset
from impact_assets.lib.io_manager import value_store
from impact_assets.lib.keys import LOOP_ID_TAG, LOOP_JOB
from impact_assets.lib.launch import LoopOutcome, loop_run_config, run_in_process
from impact_assets.lib.partitions import partition_range_tags
from impact_assets.lib.turns import OWNER_TAG, process_identity
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
    """What running the loop once did: the run's outcome and the loop's values."""

    outcome: LoopOutcome
    values: LoopValues


def collect_loop_values(
    instance: dg.DagsterInstance,
    config: PortfolioConfig,
    loop_id: str,
    run_id: str | None = None,
    definitions: dg.Definitions | None = None,
) -> LoopValues:
    """Read back every stored record of ``loop_id`` for the config's initiatives.

    From the file the last step of run ``run_id`` kept for the loop (whatever loops
    ran since), else from the latest values (a run that stopped early).
    """

    store = value_store(instance, definitions)
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
) -> LoopRun:
    """Validate the config, run ``impact_loop`` once in this process and read its values back.

    The run records into ``instance`` like any run (the UI shows it) and executes here,
    so a notebook's registered components are used. Its config is pinned: every step
    reads the document validated here, whatever happens to the file meanwhile. When
    another loop is in progress on the instance, this one's first step waits for it
    (one loop at a time, lib/turns.py). ``tags`` are added to the run's own (partition
    range, loop id, the process that runs it).

    Raises :class:`~impact_assets.config.ConfigError` for an invalid config.
    """
    from impact_assets.lib.loading import config_in_environment, load_definitions

    resolved = resolve_config(config_path)
    pin_config(instance, resolved)
    config = resolved.config
    loop_id = loop_id or new_loop_id()
    run_tags = {
        **(tags or {}),
        **partition_range_tags(config.initiative_ids),
        LOOP_ID_TAG: loop_id,
        OWNER_TAG: process_identity(),
    }
    run_config = loop_run_config(resolved.path, resolved.digest, executor)
    with config_in_environment(resolved.path), one_planned_event_per_asset():
        definitions = load_definitions()
        job = definitions.resolve_job_def(LOOP_JOB)
        outcome = run_in_process(job, instance, run_tags, run_config, run_id)
    values = collect_loop_values(instance, config, loop_id, outcome.run_id, definitions)
    return LoopRun(outcome, values)
