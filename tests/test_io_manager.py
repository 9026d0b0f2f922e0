"""Asset values through one IO manager: any fsspec filesystem, and no silent gaps."""

from __future__ import annotations

import uuid

from helpers import loop_job, loop_tags, portfolio, write_config
from upath import UPath

from impact_assets.contracts import AllocateResult, LoopReport, MeasurementRecord
from impact_assets.lib.io_manager import (
    STORAGE_FOLDER,
    MissingValueError,
    RecordIOManager,
    value_store,
)
from impact_assets.lib.keys import (
    ALLOCATION,
    CALIBRATION,
    CALIBRATION_HISTORY,
    EVALUATIONS,
    PILOT_RESULTS,
)
from impact_assets.lib.launch import loop_run_config

IDS = ["init-001", "init-002", "init-003"]
LOOP_ID = "20260101T000000Z-iomanag0"


def test_the_loop_runs_with_its_values_on_a_non_local_filesystem(tmp_path, instance):
    config_path = write_config(tmp_path, portfolio(budget=30000))
    base = f"memory://impact-{uuid.uuid4().hex}"
    run_config = loop_run_config(config_path)
    run_config["resources"]["io_manager"] = {"config": {"base_dir": base}}

    result = loop_job(config_path).execute_in_process(
        instance=instance, tags=loop_tags(IDS, LOOP_ID), run_config=run_config
    )

    assert result.success
    store = RecordIOManager(UPath(base))
    assert store.value_path(ALLOCATION).protocol == "memory"
    allocation = store.read(ALLOCATION)
    assert isinstance(allocation, AllocateResult) and allocation.loop_id == LOOP_ID
    pilots = store.read_partitions("pilot_results", IDS)
    assert all(isinstance(record, MeasurementRecord) for record in pilots.values())
    assert isinstance(store.read("outcome_reports"), LoopReport)
    # nothing went to the instance's local folder
    local = UPath(instance.storage_directory()) / STORAGE_FOLDER
    assert not local.exists() or not any(local.rglob("*.json"))


def test_a_value_a_step_needs_and_cannot_find_fails_the_step_naming_it(tmp_path, instance):
    config_path = write_config(tmp_path, portfolio())
    tags = loop_tags(IDS, LOOP_ID)
    store = value_store(instance)
    prepared = loop_job(config_path).execute_in_process(  # every pilot, and the loop's calibration
        instance=instance,
        tags=tags,
        run_config=loop_run_config(config_path),
        asset_selection=[PILOT_RESULTS, CALIBRATION_HISTORY, CALIBRATION],
    )
    assert prepared.success
    for initiative_id in IDS[:1]:  # only the first initiative was ever evaluated
        evaluated = loop_job(config_path).execute_in_process(
            instance=instance,
            tags={**tags, "dagster/asset_partition_range_end": initiative_id},
            run_config=loop_run_config(config_path),
            asset_selection=[EVALUATIONS],
        )
        assert evaluated.success

    result = loop_job(config_path).execute_in_process(
        instance=instance,
        tags=tags,
        run_config=loop_run_config(config_path),
        asset_selection=[ALLOCATION],
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.event_specific_data.error.message
    assert "evaluations" in message and "init-002, init-003" in message
    assert "2 partition(s)" in message
    try:
        store.read(ALLOCATION)
    except MissingValueError as missing:
        assert "allocation" in str(missing)
    else:
        raise AssertionError("an allocation was stored from incomplete evaluations")


def test_a_finished_loop_reads_back_whole_after_the_next_loop_replaced_the_values(
    tmp_path, instance
):
    """The CLI reads a loop back after its run; the queue may start the next loop first."""
    from impact_assets.api import collect_loop_values, run_impact_loop
    from impact_assets.config import load_config

    config_path = write_config(tmp_path, portfolio(budget=30000))
    config = load_config(config_path)
    first = run_impact_loop(config_path, instance, loop_id="20260101T000001Z-firstlp0")
    assert first.outcome.success and first.values.allocation is not None
    second = run_impact_loop(config_path, instance, loop_id="20260101T000002Z-secondl0")
    assert second.outcome.success

    again = collect_loop_values(instance, config, first.values.loop_id, first.outcome.run_id)
    assert again == first.values  # every record, from the file the first loop kept
    assert again.report is not None and again.calibration is not None
    # the latest values are the second loop's: without its file, the first loop is gone
    latest = collect_loop_values(instance, config, first.values.loop_id)
    assert latest.allocation is None and latest.report is None
    # a file an earlier run of the same loop kept is not this run's
    other_run = collect_loop_values(instance, config, second.values.loop_id, "another-run")
    assert other_run.allocation == second.values.allocation  # read from the latest values
    store = value_store(instance)
    assert store.read_loop(second.values.loop_id, "another-run") is None
    assert store.loop_path(first.values.loop_id).exists()
