"""The asset graph: one run covers every partition; partitions follow the config."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest
from helpers import (
    portfolio,
    run_loop,
    stored_allocation,
    stored_pilots,
    stored_report,
    stored_scales,
    write_config,
)

from impact_assets import cli
from impact_assets.components import register_component, unregister_component
from impact_assets.components.measure.mock import MockMeasure
from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.contracts import RecordStatus
from impact_assets.lib.keys import LOOP_ASSETS, LOOP_ID_TAG
from impact_assets.lib.loading import definitions_for

IDS = ["init-001", "init-002", "init-003"]
PARTITIONED = ["pilot_results", "evaluations", "scale_results"]


def test_one_run_materialises_every_partition_of_every_asset(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, portfolio(budget=20000))
    outcome = run_loop(
        instance, config_path, loop_id="20260101T000000Z-onerun00", monkeypatch=monkeypatch
    )
    assert outcome.success

    runs = instance.get_runs()
    assert len(runs) == 1
    tags = runs[0].tags
    assert tags["dagster/asset_partition_range_start"] == "init-001"
    assert tags["dagster/asset_partition_range_end"] == "init-003"
    assert tags[LOOP_ID_TAG] == "20260101T000000Z-onerun00"

    for asset in PARTITIONED:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(IDS), asset
    for key in LOOP_ASSETS:
        assert instance.get_latest_materialization_event(key) is not None, key

    selected = set(stored_allocation(instance).selected_initiatives)
    assert selected and selected != set(IDS)  # the 20000 budget binds
    scales = stored_scales(instance, IDS)
    assert {i for i, r in scales.items() if r.status is RecordStatus.SCALED} == selected
    assert {i for i, r in scales.items() if r.status is RecordStatus.NOT_SELECTED} == (
        set(IDS) - selected
    )
    assert all(r.loop_id == "20260101T000000Z-onerun00" for r in scales.values())

    checks = [
        e.event_specific_data
        for e in instance.get_records_for_run(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for e in [e.event_log_entry.dagster_event]
    ]
    assert len(checks) == 5
    assert all(c.passed for c in checks), [(c.check_name, c.description) for c in checks]


def test_pilot_and_scale_measurements_differ(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, portfolio())
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success
    pilots = stored_pilots(instance, IDS)
    scales = stored_scales(instance, IDS)
    for initiative_id in stored_allocation(instance).selected_initiatives:
        pilot, scale = pilots[initiative_id].result, scales[initiative_id].result
        assert scale.sample_size == 5000 > pilot.sample_size
        assert scale.effect_estimate != pilot.effect_estimate
        assert scale.diagnostics["sample_id"] != pilot.diagnostics["sample_id"]


def partition_keys(config_path) -> list[str]:
    """The ``initiatives`` partitions of the definitions built for the config."""
    pilot_results = definitions_for(config_path).get_assets_def("pilot_results")
    return pilot_results.partitions_def.get_partition_keys()


def test_partitions_follow_the_config(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, portfolio())
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success
    assert partition_keys(config_path) == IDS

    changed = portfolio(
        initiatives=[
            {"initiative_id": "init-001", "cost_to_scale": 10000},
            {"initiative_id": "init-003", "cost_to_scale": 8000},
            {"initiative_id": "init-004", "cost_to_scale": 9000},
        ]
    )
    config_path = write_config(tmp_path, changed)
    outcome = run_loop(
        instance, config_path, loop_id="20260101T000001Z-changed0", monkeypatch=monkeypatch
    )
    assert outcome.success
    assert partition_keys(config_path) == ["init-001", "init-003", "init-004"]
    assert instance.get_materialized_partitions(dg.AssetKey("pilot_results")) == {
        *IDS,
        "init-004",
    }  # init-002's history stays in the event log
    allocation = stored_allocation(instance)
    assert "init-002" not in allocation.selected_initiatives
    assert "init-004" in allocation.selected_initiatives  # the budget buys all three
    report = stored_report(instance)
    assert {r.initiative_id for r in report.reports} == {"init-001", "init-003", "init-004"}
    assert report.summary.stale == []


class _FailsForOneInitiative(MockMeasure):
    """A MEASURE that raises for init-002 only, as a broken estimator would."""

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        if event["initiative_id"] == "init-002":
            raise RuntimeError("singular design matrix")
        return super().execute(event, context)


@pytest.fixture
def failing_measure():
    register_component("measure", "fails_for_init_002", _FailsForOneInitiative)
    yield "fails_for_init_002"
    unregister_component("measure", "fails_for_init_002")


def test_one_failing_initiative_is_isolated(failing_measure, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(CONFIG_ENV_VAR, "")
    config_path = write_config(tmp_path, portfolio(measure={"component": failing_measure}))
    output = tmp_path / "out.json"

    status = cli.main(["--config", str(config_path), "--output-json", str(output)])

    captured = capsys.readouterr()
    assert status == 1
    assert "init-002 (pilot): RuntimeError: singular design matrix" in captured.err
    document = json.loads(output.read_text())
    assert [r["initiative_id"] for r in document["pilot_results"]] == ["init-001", "init-003"]
    assert document["failures"] == [
        {
            "initiative_id": "init-002",
            "stage": "pilot",
            "cause": "RuntimeError: singular design matrix",
        }
    ]
    excluded = document["allocate_result"]["excluded"]
    assert "singular design matrix" in excluded["init-002"]
    assert set(document["allocate_result"]["selected_initiatives"]) == {"init-001", "init-003"}
    assert document["summary"]["failed"] == {"init-002": "RuntimeError: singular design matrix"}
    assert {r["initiative_id"] for r in document["outcome_reports"]} == {"init-001", "init-003"}
