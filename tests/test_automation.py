"""The loop by itself: the schedule's ticks, the sensors, and the executor switch."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from helpers import (
    PROJECT_ROOT,
    cli_output_json,
    loop_job,
    open_instance,
    portfolio,
    run_cli,
    run_loop,
    stored_allocation,
    stored_report,
    stored_scales,
    write_config,
)

from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.config.pinned import resolve_config
from impact_assets.contracts import RecordStatus
from impact_assets.defs.schedules import configured_cron, loop_schedule
from impact_assets.defs.sensors import (
    SCALE_DATA_TRIGGER,
    TRIGGER_TAG,
    build_partitions_sensor,
    build_scale_data_sensor,
)
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.executors import EXECUTOR_ENV_VAR
from impact_assets.lib.keys import LOOP_ID_TAG, OUTCOME_REPORTS, SCALE_RESULTS
from impact_assets.lib.launch import run_in_process
from impact_assets.lib.partitions import loaded_config

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
MONDAY_6AM = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)
FILE_IDS = ["checkout-redesign", "store-layout", "newsletter", "loyalty-programme"]


def resources(config_path: Path) -> dict[str, object]:
    return {"impact_config": ImpactConfigResource(path=str(config_path))}


def tick(
    instance: dg.DagsterInstance,
    config_path: Path,
    loaded_from: Path | None = None,
    when: datetime = MONDAY_6AM,
):
    """A tick of the schedule the definitions built when ``loaded_from`` (the config by
    default) was the config, reading ``config_path`` as it is now."""
    schedule = loop_schedule(loaded_config(loaded_from or config_path))
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=resources(config_path)
    ) as context:
        return schedule.evaluate_tick(context)


def sense(sensor: dg.SensorDefinition, instance, config_path: Path, cursor: str | None = None):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources(config_path)
    ) as context:
        return sensor.evaluate_tick(context)


def partitions_sensor(loaded_from: Path) -> dg.SensorDefinition:
    return build_partitions_sensor(loaded_config(loaded_from))


def scale_data_sensor(config_path: Path) -> dg.SensorDefinition:
    return build_scale_data_sensor(loaded_config(config_path))


# --- the schedule -------------------------------------------------------------------------


def test_schedule_uses_the_configs_cron_and_falls_back_to_the_default(tmp_path):
    custom = write_config(tmp_path, portfolio(schedule="30 5 * * *"))
    assert loop_schedule(loaded_config(custom)).cron_schedule == "30 5 * * *"
    plain = write_config(tmp_path, portfolio(), "plain.yaml")
    assert loop_schedule(loaded_config(plain)).cron_schedule == "0 6 * * 1"
    assert configured_cron(tmp_path / "missing.yaml") == "0 6 * * 1"
    unusable = write_config(tmp_path, portfolio(schedule="every monday"), "bad.yaml")
    assert loop_schedule(loaded_config(unusable)).cron_schedule == "0 6 * * 1"
    schedule = loop_schedule(loaded_config(unusable))
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status is dg.DefaultScheduleStatus.STOPPED


def test_a_tick_waits_until_the_definitions_load_the_configs_initiatives(tmp_path, instance):
    before = write_config(
        tmp_path,
        portfolio(
            initiatives=[
                {"initiative_id": "removed-initiative", "cost_to_scale": 1000},
                {"initiative_id": "init-002", "cost_to_scale": 15000},
            ]
        ),
        "before.yaml",
    )
    config_path = write_config(tmp_path, portfolio())

    pending = tick(instance, config_path, loaded_from=before)

    assert not pending.run_requests
    assert "2 new in the config (init-001, init-003)" in pending.skip_message
    assert "1 no longer in it (removed-initiative)" in pending.skip_message
    assert "Reload the definitions" in pending.skip_message

    data = tick(instance, config_path)  # after a reload: the definitions load the config

    assert data.skip_message is None
    assert len(data.run_requests) == 1
    request = data.run_requests[0]
    assert request.job_name in (None, "impact_loop")
    assert request.partition_key is None and request.asset_selection is None
    assert request.tags[RANGE_START] == "init-001"
    assert request.tags[RANGE_END] == "init-003"
    assert re.fullmatch(r"20260105T060000Z-[0-9a-f]{8}", request.tags[LOOP_ID_TAG])
    assert request.run_key == "impact_loop@20260105T060000Z"
    pinned = request.run_config["resources"]["impact_config"]["config"]
    digest = resolve_config(config_path).digest
    assert pinned == {"path": str(config_path.resolve()), "digest": digest}


def test_an_invalid_config_skips_the_tick_with_the_validation_message(tmp_path, instance):
    config_path = write_config(tmp_path, portfolio(budget=-5, max_workers=0))

    data = tick(instance, config_path)

    assert not data.run_requests
    assert "budget" in data.skip_message
    assert "max_workers" in data.skip_message


def test_a_scheduled_tick_runs_the_whole_loop(tmp_path, instance, monkeypatch):
    config_path = write_config(tmp_path, portfolio(budget=30000))
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config_path))
    request = tick(instance, config_path).run_requests[0]
    assert request.run_config["execution"] == {"config": {"in_process": {}}}

    outcome = run_in_process(loop_job(config_path), instance, request.tags, request.run_config)

    assert outcome.success, outcome.step_failures
    run = instance.get_run_by_id(outcome.run_id)
    assert run.job_name == "impact_loop"
    assert run.tags[LOOP_ID_TAG] == request.tags[LOOP_ID_TAG]
    loop_id = request.tags[LOOP_ID_TAG]
    allocation = stored_allocation(instance)
    assert allocation.loop_id == loop_id and allocation.selected_initiatives
    scales = stored_scales(instance, ["init-001", "init-002", "init-003"])
    assert {record.loop_id for record in scales.values()} == {loop_id}
    report = stored_report(instance)
    assert report.loop_id == loop_id
    assert {r.initiative_id for r in report.reports} == set(allocation.selected_initiatives)
    checks = [
        event.dagster_event.event_specific_data
        for event in instance.all_logs(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    ]
    assert checks and all(check.passed for check in checks)


# --- the partitions sensor ----------------------------------------------------------------


def test_the_partitions_sensor_says_when_the_config_and_the_partitions_differ(tmp_path, instance):
    loaded_from = write_config(
        tmp_path,
        portfolio(
            initiatives=[
                {"initiative_id": "init-001", "cost_to_scale": 1000},
                {"initiative_id": "retired", "cost_to_scale": 1000},
            ]
        ),
        "loaded.yaml",
    )
    config_path = write_config(tmp_path, portfolio())

    differ = sense(partitions_sensor(loaded_from), instance, config_path)

    assert not differ.run_requests and not differ.dynamic_partitions_requests
    assert "2 new in the config (init-002, init-003)" in differ.skip_message
    assert "1 no longer in it (retired)" in differ.skip_message

    same = sense(partitions_sensor(config_path), instance, config_path)

    assert "match the config" in same.skip_message


def test_the_partitions_sensor_names_the_problems_of_an_invalid_config(tmp_path, instance):
    config_path = write_config(tmp_path, "budget: [not, a, number]\ninitiatives: []\n")

    data = sense(partitions_sensor(config_path), instance, config_path)

    assert not data.run_requests
    assert "budget" in data.skip_message


# --- the scale-data sensor --------------------------------------------------------------


def file_portfolio(folder: Path, with_scale_files: tuple[str, ...] = ()) -> Path:
    """examples/files.yaml with its data copied into ``folder``; only the named scale files.

    The budget covers every initiative, so all four are selected.
    """
    data = folder / "data"
    data.mkdir()
    for csv in (PROJECT_ROOT / "data").glob("*_pilot.csv"):
        shutil.copy(csv, data / csv.name)
    for name in with_scale_files:
        shutil.copy(PROJECT_ROOT / "data" / name, data / name)
    text = (PROJECT_ROOT / "examples" / "files.yaml").read_text(encoding="utf-8")
    text = text.replace("../data/", "data/").replace("budget: 60000", "budget: 100000")
    return write_config(folder, text)


def arrive(folder: Path, name: str) -> Path:
    return Path(shutil.copy(PROJECT_ROOT / "data" / name, folder / "data" / name))


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


@pytest.fixture
def awaiting_loop(tmp_path, instance, monkeypatch):
    """A finished loop on file data where every selected initiative awaits its scale data."""
    config_path = file_portfolio(tmp_path)
    outcome = run_loop(instance, config_path, monkeypatch=monkeypatch)
    assert outcome.success, outcome.step_failures
    scales = stored_scales(instance, FILE_IDS)
    assert {r.status for r in scales.values()} == {RecordStatus.AWAITING_DATA}
    return config_path


def only_request(data) -> dg.RunRequest:
    assert data.skip_message is None, data.skip_message
    assert len(data.run_requests) == 1
    return data.run_requests[0]


def requested_ids(config_path: Path, request: dg.RunRequest) -> list[str]:
    keys = list(loaded_config(config_path).initiative_ids)
    start, end = keys.index(request.tags[RANGE_START]), keys.index(request.tags[RANGE_END])
    return keys[start : end + 1]


def test_scale_data_sensor_fires_once_per_new_or_changed_file(tmp_path, instance, awaiting_loop):
    config_path = awaiting_loop
    loop_id = stored_allocation(instance).loop_id

    nothing_yet = sense(scale_data_sensor(config_path), instance, config_path)
    assert not nothing_yet.run_requests and "no new scale data" in nothing_yet.skip_message

    experiment = arrive(tmp_path, "experiment_scale.csv")
    first = sense(scale_data_sensor(config_path), instance, config_path)
    request = only_request(first)
    assert requested_ids(config_path, request) == ["checkout-redesign"]
    assert set(request.asset_selection) == {SCALE_RESULTS, OUTCOME_REPORTS}
    assert request.tags[LOOP_ID_TAG] == loop_id
    assert request.tags[TRIGGER_TAG] == SCALE_DATA_TRIGGER

    unchanged = sense(scale_data_sensor(config_path), instance, config_path, cursor=first.cursor)
    assert not unchanged.run_requests

    arrive(tmp_path, "its_scale.csv")
    second = sense(scale_data_sensor(config_path), instance, config_path, cursor=first.cursor)
    assert requested_ids(config_path, only_request(second)) == ["newsletter"]

    touch_later(experiment)
    changed = sense(scale_data_sensor(config_path), instance, config_path, cursor=second.cursor)
    again = only_request(changed)
    assert requested_ids(config_path, again) == ["checkout-redesign"]
    assert again.run_key != request.run_key
    assert json.loads(changed.cursor).keys() == {"checkout-redesign", "newsletter"}


def test_scale_data_run_scales_those_initiatives_and_then_never_fires_for_them(
    tmp_path, instance, awaiting_loop
):
    config_path = awaiting_loop
    allocation = stored_allocation(instance)
    experiment = arrive(tmp_path, "experiment_scale.csv")
    data = sense(scale_data_sensor(config_path), instance, config_path)
    request = only_request(data)

    result = loop_job(config_path).execute_in_process(
        instance=instance,
        tags=request.tags,
        run_config=request.run_config,
        asset_selection=request.asset_selection,
        raise_on_error=False,
    )

    assert result.success
    scales = stored_scales(instance, FILE_IDS)
    assert scales["checkout-redesign"].status is RecordStatus.SCALED
    assert scales["checkout-redesign"].loop_id == allocation.loop_id
    assert {scales[i].status for i in FILE_IDS[1:]} == {RecordStatus.AWAITING_DATA}
    report = stored_report(instance)
    assert report.loop_id == allocation.loop_id
    assert [r.initiative_id for r in report.reports] == ["checkout-redesign"]
    assert stored_allocation(instance) == allocation  # the decision was not remade

    touch_later(experiment)
    for cursor in (None, data.cursor):
        later = sense(scale_data_sensor(config_path), instance, config_path, cursor=cursor)
        assert not later.run_requests


def test_scale_data_for_non_neighbours_goes_in_successive_runs(tmp_path, instance, awaiting_loop):
    config_path = awaiting_loop
    arrive(tmp_path, "experiment_scale.csv")
    arrive(tmp_path, "its_scale.csv")

    first = sense(scale_data_sensor(config_path), instance, config_path)
    assert requested_ids(config_path, only_request(first)) == ["checkout-redesign"]

    run = instance.create_run_for_job(
        loop_job(config_path),
        tags={TRIGGER_TAG: SCALE_DATA_TRIGGER},
        status=dg.DagsterRunStatus.STARTED,
    )
    waiting = sense(scale_data_sensor(config_path), instance, config_path, cursor=first.cursor)
    assert not waiting.run_requests
    assert run.run_id in waiting.skip_message and "newsletter" in waiting.skip_message

    instance.report_run_failed(run)
    second = sense(scale_data_sensor(config_path), instance, config_path, cursor=first.cursor)
    assert requested_ids(config_path, only_request(second)) == ["newsletter"]


def test_scale_data_sensor_ignores_initiatives_already_scaled(tmp_path, instance, monkeypatch):
    config_path = file_portfolio(tmp_path, with_scale_files=("experiment_scale.csv",))
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success
    assert stored_scales(instance, ["checkout-redesign"])["checkout-redesign"].status is (
        RecordStatus.SCALED
    )
    touch_later(tmp_path / "data" / "experiment_scale.csv")

    data = sense(scale_data_sensor(config_path), instance, config_path)

    assert not data.run_requests


# --- executors ----------------------------------------------------------------------------

LOOP_ID = "20260101T000000Z-exec0000"


def executor_of_run(home: Path) -> dict:
    """The ``execution`` section of the run config of the only run on ``home``."""
    with open_instance(home) as instance:
        (run,) = instance.get_runs()
        return run.run_config["execution"]


def test_multiprocess_gives_the_same_output_as_in_process(tmp_path):
    config_path = write_config(tmp_path, portfolio())
    documents = {}
    for executor in ("in_process", "multiprocess"):
        flag = ["--executor", executor]
        stdout: list[str] = []
        home = tmp_path / f"home-{executor}"
        documents[executor] = cli_output_json(
            config_path, LOOP_ID, home, progress=stdout, extra_args=flag
        )
        for stage in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
            assert stage in stdout[0], (executor, stdout[0])
        assert executor_of_run(home) == {"config": {executor: {}}}
    assert documents["in_process"] == documents["multiprocess"]
    assert json.loads(documents["multiprocess"])["outcome_reports"]


def test_the_environment_variable_is_an_alias_of_the_executor_flag(tmp_path):
    config_path = write_config(tmp_path, portfolio())
    home = tmp_path / "home"
    cli_output_json(config_path, LOOP_ID, home, extra_env={EXECUTOR_ENV_VAR: "multiprocess"})
    assert executor_of_run(home) == {"config": {"multiprocess": {}}}


def test_an_unknown_executor_is_named_with_the_choices(tmp_path):
    config_path = write_config(tmp_path, portfolio())
    for how in ({"extra_env": {EXECUTOR_ENV_VAR: "threads"}}, {"args": ["--executor", "threads"]}):
        completed = run_cli(
            "--config",
            str(config_path),
            *how.get("args", []),
            dagster_home=tmp_path / "home",
            extra_env=how.get("extra_env"),
        )
        assert completed.returncode == 2
        assert "'threads'" in completed.stderr
        assert "in_process" in completed.stderr and "multiprocess" in completed.stderr
        assert "Traceback" not in completed.stderr
        assert not (tmp_path / "home").exists()
