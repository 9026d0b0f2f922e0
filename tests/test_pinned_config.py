"""A run's config is resolved once: editing the file mid-run changes nothing in that run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from helpers import loop_job, loop_tags, portfolio, stored_allocation, write_config

from impact_assets.api import run_impact_loop
from impact_assets.components import register_component, unregister_component
from impact_assets.components.measure.mock import MockMeasure
from impact_assets.config.pinned import resolve_config
from impact_assets.lib.config_resource import CONFIG_DIGEST_TAG
from impact_assets.lib.launch import error_message, loop_run_config

IDS = ["init-001", "init-002", "init-003"]
BUDGET, EDITED_BUDGET = 25000, 1000


class _EditsTheConfig(MockMeasure):
    """The mock MEASURE, which rewrites the config file while the pilots are measured, as a
    user editing it mid-run would: a budget that buys nothing, and one more initiative."""

    config_path: Path | None = None

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        path = type(self).config_path
        raw = yaml.safe_load(path.read_text())
        if raw["budget"] != EDITED_BUDGET:
            raw["budget"] = EDITED_BUDGET
            raw["initiatives"].append({"initiative_id": "init-004", "cost_to_scale": 500})
            path.write_text(yaml.safe_dump(raw))
        return super().execute(event, context)


@pytest.fixture
def editing_measure(tmp_path):
    config_path = write_config(
        tmp_path, portfolio(budget=BUDGET, measure={"component": "edits_the_config"})
    )
    _EditsTheConfig.config_path = config_path
    register_component("measure", "edits_the_config", _EditsTheConfig)
    yield config_path
    unregister_component("measure", "edits_the_config")


def check_metadata(instance: dg.DagsterInstance, run_id: str, name: str) -> dict[str, Any]:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name == name:
            return {key: value.value for key, value in evaluation.metadata.items()}
    raise AssertionError(f"no {name} check in run {run_id}")


def assert_the_run_kept_the_original_config(instance, run_id):
    allocation = stored_allocation(instance)
    assert allocation.budget == BUDGET  # the file says 1000 since the pilots were measured
    assert allocation.selected_initiatives and allocation.total_allocated > EDITED_BUDGET
    assert "init-004" not in {c["initiative_id"] for c in allocation.candidates}
    spend = check_metadata(instance, run_id, "spend_within_budget")
    assert spend["budget"] == BUDGET and spend["spent"] == allocation.total_allocated
    assert check_metadata(instance, run_id, "unique_initiative_ids")["initiatives"] == 3


def test_a_loop_from_python_reads_its_config_as_it_was_validated(instance, editing_measure):
    run = run_impact_loop(editing_measure, instance)

    assert run.outcome.success, run.outcome.step_failures
    assert yaml.safe_load(editing_measure.read_text())["budget"] == EDITED_BUDGET
    assert_the_run_kept_the_original_config(instance, run.outcome.run_id)


def test_a_run_that_names_no_digest_is_pinned_by_its_first_step(instance, editing_measure):
    """A run launched from the UI names only the path: its first read pins the document."""
    job = loop_job(editing_measure)
    result = job.execute_in_process(
        instance=instance,
        tags=loop_tags(IDS, "20260101T000000Z-pinnedui"),
        run_config=loop_run_config(editing_measure),  # a path, no digest
        raise_on_error=False,
    )

    assert result.success
    assert CONFIG_DIGEST_TAG in instance.get_run_by_id(result.run_id).tags
    assert_the_run_kept_the_original_config(instance, result.run_id)


def test_a_run_pinned_to_a_config_that_is_neither_kept_nor_on_disk_fails_saying_so(
    instance, tmp_path
):
    """A run names a digest no snapshot of this instance holds (planned elsewhere), and the
    file has changed since: the run stops instead of reading other values."""
    config_path = write_config(tmp_path, portfolio(budget=BUDGET))
    planned = resolve_config(config_path)
    write_config(tmp_path, portfolio(budget=EDITED_BUDGET))

    result = loop_job(config_path).execute_in_process(
        instance=instance,
        tags=loop_tags(IDS, "20260101T000000Z-changed0"),
        run_config=loop_run_config(config_path, planned.digest),
        raise_on_error=False,
    )

    assert not result.success
    messages = [error_message(event) for event in result.get_step_failure_events()]
    assert any("the config changed after this run was planned" in m for m in messages), messages
    assert stored_nothing(instance)


def stored_nothing(instance: dg.DagsterInstance) -> bool:
    return instance.get_latest_materialization_event(dg.AssetKey("pilot_results")) is None
