"""The seed's four integration tests, run through the real ``impact_loop`` job."""

from __future__ import annotations

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

from impact_assets.contracts import RecordStatus

IDS = ["init-001", "init-002", "init-003"]


def test_all_mocks_pipeline_is_deterministic(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, portfolio())
    first = run_loop(
        instance, config_path, loop_id="20260101T000000Z-first000", monkeypatch=monkeypatch
    )
    assert first.success
    report = stored_report(instance)
    assert len(report.reports) > 0
    pilots_first = {i: r.result.to_dict() for i, r in stored_pilots(instance, IDS).items()}

    second = run_loop(
        instance, config_path, loop_id="20260101T000001Z-second00", monkeypatch=monkeypatch
    )
    assert second.success
    pilots_second = {i: r.result.to_dict() for i, r in stored_pilots(instance, IDS).items()}
    for initiative_id in IDS:
        first_result = {k: v for k, v in pilots_first[initiative_id].items() if k != "loop_id"}
        second_result = {k: v for k, v in pilots_second[initiative_id].items() if k != "loop_id"}
        assert first_result == second_result
    assert stored_report(instance).loop_id == "20260101T000001Z-second00"


def test_contract_invariants(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, portfolio())
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success

    for record in stored_pilots(instance, IDS).values():
        pilot = record.result
        assert pilot.ci_lower <= pilot.effect_estimate <= pilot.ci_upper
        assert 0.0 <= pilot.p_value <= 1.0
        assert pilot.sample_size >= 30

    from impact_assets.lib.io_manager import value_store

    for initiative_id in IDS:
        evaluation = value_store(instance).read("evaluations", initiative_id).result
        assert evaluation.R_worst <= evaluation.R_med <= evaluation.R_best
        assert 0.0 <= evaluation.confidence <= 1.0
        assert evaluation.cost > 0

    allocation = stored_allocation(instance)
    for initiative_id in allocation.selected_initiatives:
        assert initiative_id in allocation.predicted_returns
        assert initiative_id in allocation.budget_allocated

    for report in stored_report(instance).reports:
        assert report.prediction_error == pytest.approx(
            report.actual_return - report.predicted_return
        )
        assert report.sample_size_scale >= report.sample_size_pilot


def test_empty_allocation(instance, tmp_path, monkeypatch):
    """Budget too small for any initiative: nothing selected, scaled or reported."""
    config_path = write_config(tmp_path, portfolio(budget=1))
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success

    assert stored_allocation(instance).selected_initiatives == []
    scales = stored_scales(instance, IDS)
    assert {r.status for r in scales.values()} == {RecordStatus.NOT_SELECTED}
    assert not any(r.ok for r in scales.values())
    assert stored_report(instance).reports == []


def test_single_initiative(instance, tmp_path, monkeypatch):
    config = portfolio(initiatives=[{"initiative_id": "only-one", "cost_to_scale": 5000}])
    config_path = write_config(tmp_path, config)
    assert run_loop(instance, config_path, monkeypatch=monkeypatch).success

    assert list(stored_pilots(instance, ["only-one"])) == ["only-one"]
    reports = stored_report(instance).reports
    assert len(reports) == 1
    assert reports[0].initiative_id == "only-one"
