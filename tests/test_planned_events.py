"""One planned event per asset for a loop's run, and what the UI's partition status gives up.

The CLI and the API create their runs with Dagster's
``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS`` switch: 7 planned events per loop
instead of 3n + 4. Its price, stated in docs/ui.md: a run that fails leaves the
partitions it planned and never materialised unmarked, where Dagster's default marks
them "failed". ``IMPACT_ENGINE_PLANNED_EVENTS=per_partition`` restores the default.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest
from helpers import portfolio, write_config

from impact_assets.api import run_impact_loop
from impact_assets.components import register_component, unregister_component
from impact_assets.components.allocate.mock import MockAllocate
from impact_assets.lib.instance_settings import PLANNED_EVENTS_CHOICE_ENV_VAR
from impact_assets.lib.loading import definitions_for

IDS = ["init-001", "init-002", "init-003"]
LOOP_ASSET_COUNT = 7


class _AllocationFails(MockAllocate):
    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        raise RuntimeError("the solver is unavailable")


@pytest.fixture
def failing_allocation(tmp_path):
    register_component("allocate", "fails", _AllocationFails)
    yield write_config(tmp_path, portfolio(allocate={"component": "fails"}))
    unregister_component("allocate", "fails")


def planned_events(instance: dg.DagsterInstance, run_id: str) -> int:
    kind = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    return len(instance.all_logs(run_id, of_type=kind))


def scale_partition_status(instance: dg.DagsterInstance, config_path) -> set:
    partitions_def = definitions_for(config_path).get_assets_def("scale_results").partitions_def
    statuses = instance.get_status_by_partition(
        dg.AssetKey("scale_results"), IDS, partitions_def
    )
    return set((statuses or {}).values())


@pytest.mark.parametrize(
    ("choice", "planned", "scale_status"),
    [
        # the default: one planned event per asset; the unmaterialised partitions show no status
        (None, LOOP_ASSET_COUNT, {None}),
        # Dagster's own: one per partition (3n + 4), and they show as failed
        ("per_partition", 3 * len(IDS) + 4, {dg.AssetPartitionStatus.FAILED}),
    ],
)
def test_a_failed_loop_run_and_its_partition_status(
    instance, failing_allocation, monkeypatch, choice, planned, scale_status
):
    if choice is not None:
        monkeypatch.setenv(PLANNED_EVENTS_CHOICE_ENV_VAR, choice)

    run = run_impact_loop(failing_allocation, instance)

    assert not run.outcome.success
    assert run.outcome.step_failures[0][0] == "allocation"
    assert planned_events(instance, run.outcome.run_id) == planned
    assert scale_partition_status(instance, failing_allocation) == scale_status
