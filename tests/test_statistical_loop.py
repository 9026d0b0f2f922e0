"""The real loop with the statistical MEASURE, evidence EVALUATE and minimax-regret ALLOCATE.

One portfolio mixes all four methods and both data sources; the reports must carry
the simulated truth, say ``awaiting_data`` where scale data is absent, and score
the decision against the oracle.
"""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import (
    PROJECT_ROOT,
    run_cli,
    run_loop,
    stored_allocation,
    stored_pilots,
    stored_report,
    stored_scales,
    write_config,
)

from impact_assets.contracts import RecordStatus

DATA = PROJECT_ROOT / "data"


def mixed_portfolio() -> dict:
    """Four file-sourced initiatives (one per method, two with scale data) and four simulated."""
    experiment = {
        "outcome": "basket_value",
        "treatment": "new_checkout",
        "covariates": ["prior_spend", "returning_customer"],
    }
    its = {"outcome": "signups", "time": "week"}
    file_initiatives = [
        {
            "initiative_id": "file-experiment",
            "method": "experiment",
            "data": {"source": "file", "path": "data/experiment_pilot.csv", **experiment},
            "scale_data": {"source": "file", "path": "data/experiment_scale.csv", **experiment},
        },
        {
            "initiative_id": "file-did",
            "method": "difference_in_differences",
            "data": {
                "source": "file",
                "path": "data/did_pilot.csv",
                "outcome": "sales",
                "unit": "store",
                "time": "month",
                "treated": "treated",
                "treatment_start": 4,
            },
        },
        {
            "initiative_id": "file-its",
            "method": "interrupted_time_series",
            "data": {
                "source": "file",
                "path": "data/its_pilot.csv",
                "intervention_time": "2021-03-01",
                **its,
            },
            "scale_data": {
                "source": "file",
                "path": "data/its_scale.csv",
                "intervention_time": "2022-11-21",
                **its,
            },
        },
        {
            "initiative_id": "file-observational",
            "method": "observational",
            "data": {
                "source": "file",
                "path": "data/observational_pilot.csv",
                "outcome": "spend",
                "treatment": "loyalty_member",
                "covariates": ["age_z", "visits_z", "urban"],
            },
        },
    ]
    simulated = [
        ("sim-experiment", "experiment", 0.4, 400, 1.0),
        ("sim-did", "difference_in_differences", 0.5, 60, 1.0),
        ("sim-its", "interrupted_time_series", 0.4, 120, 0.5),
        ("sim-observational", "observational", 0.3, 500, 1.0),
    ]
    simulated_initiatives = [
        {
            "initiative_id": initiative_id,
            "method": method,
            "data": {
                "source": "simulated",
                "true_effect": effect,
                "pilot_sample_size": size,
                "scale_effect_ratio": ratio,
            },
        }
        for initiative_id, method, effect, size, ratio in simulated
    ]
    initiatives = [
        {**initiative, "cost_to_scale": 10000, "value_per_unit": 20000}
        for initiative in file_initiatives + simulated_initiatives
    ]
    return {
        "budget": 80000,  # all fit: minimax regret leaves out only those that add regret
        "scale_sample_size": 3000,
        "seed": 11,
        "measure": {"component": "statistical"},
        "evaluate": {"component": "evidence"},
        "allocate": {"component": "minimax_regret"},
        "initiatives": initiatives,
    }


@pytest.fixture
def mixed_config(tmp_path):
    shutil.copytree(DATA, tmp_path / "data")
    return write_config(tmp_path, mixed_portfolio())


def test_mixed_methods_and_sources_run_end_to_end(instance, mixed_config, monkeypatch):
    outcome = run_loop(instance, mixed_config, monkeypatch=monkeypatch)
    assert outcome.success, outcome.step_failures
    ids = [i["initiative_id"] for i in mixed_portfolio()["initiatives"]]

    pilots = stored_pilots(instance, ids)
    assert {r.status for r in pilots.values()} == {RecordStatus.MEASURED}
    methods = {i: pilots[i].result.model_type for i in ids}
    assert len(set(methods.values())) >= 3  # experiment, quasi-experiment, time series, obs.
    for record in pilots.values():
        low, high = record.result.ci_lower, record.result.ci_upper
        assert low < record.result.effect_estimate < high  # honest intervals, never a point

    allocation = stored_allocation(instance)
    selected = set(allocation.selected_initiatives)
    without_scale_data = {"file-did", "file-observational"}
    assert selected & without_scale_data  # the fixed seed selects at least one of them

    scales = stored_scales(instance, ids)
    awaiting = {i for i, record in scales.items() if record.status == RecordStatus.AWAITING_DATA}
    assert awaiting == selected & without_scale_data
    scaled = {i for i, record in scales.items() if record.status == RecordStatus.SCALED}
    assert scaled == selected - without_scale_data
    not_selected = {i for i, r in scales.items() if r.status == RecordStatus.NOT_SELECTED}
    assert not_selected == set(ids) - selected

    report = stored_report(instance)
    by_id = {r.initiative_id: r for r in report.reports}
    assert set(by_id) == scaled
    truths = {
        i["initiative_id"]: i["data"]["true_effect"] * i["data"]["scale_effect_ratio"]
        for i in mixed_portfolio()["initiatives"]
        if i["data"]["source"] == "simulated"
    }
    simulated_scaled = scaled & set(truths)
    assert simulated_scaled  # the truth reaches at least one report
    for initiative_id in simulated_scaled:
        assert by_id[initiative_id].true_effect == pytest.approx(truths[initiative_id])
        assert isinstance(by_id[initiative_id].pilot_ci_covers_pilot_truth, bool)
        assert isinstance(by_id[initiative_id].pilot_ci_covers_scale_truth, bool)
    for initiative_id in scaled - set(truths):
        assert by_id[initiative_id].true_effect is None
        assert by_id[initiative_id].pilot_ci_covers_pilot_truth is None
        assert by_id[initiative_id].pilot_ci_covers_scale_truth is None
        assert isinstance(by_id[initiative_id].pilot_ci_covers_actual, bool)
    assert sorted(report.summary.awaiting_data) == sorted(awaiting)
    assert report.summary.oracle_ratio is None
    assert report.summary.oracle_omitted_reason.startswith(
        "the true effect is unknown for 4 of 8 candidates"
    )


def test_pilot_and_scale_are_independent_samples_and_scale_is_tighter(
    instance, mixed_config, monkeypatch
):
    assert run_loop(instance, mixed_config, monkeypatch=monkeypatch).success
    ids = [i["initiative_id"] for i in mixed_portfolio()["initiatives"]]
    pilots, scales = stored_pilots(instance, ids), stored_scales(instance, ids)
    scaled = [i for i in ids if scales[i].status == RecordStatus.SCALED]
    assert len(scaled) >= 4
    for initiative_id in scaled:
        pilot, scale = pilots[initiative_id].result, scales[initiative_id].result
        assert pilot.effect_estimate != scale.effect_estimate, initiative_id
        assert scale.ci_upper - scale.ci_lower < pilot.ci_upper - pilot.ci_lower, initiative_id


def test_run_once_on_the_default_config_scores_the_decision(tmp_path):
    output = tmp_path / "loop.json"
    completed = run_cli("--output-json", str(output), dagster_home=tmp_path / "home")
    assert completed.returncode == 0, completed.stderr
    stdout = completed.stdout
    assert "Initiatives evaluated: 5" in stdout
    assert "True effect at scale:" in stdout
    assert "pilot CI covers it:" in stdout
    assert "Oracle ratio:" in stdout
    assert "Interval:" in stdout and "[R_worst, R_best] covers the actual return:" in stdout
    assert "(before calibration)" in stdout  # the raw pilot estimate beside the prediction

    document = json.loads(output.read_text())
    summary = document["summary"]
    assert summary["rule"] == "expected_return"
    assert summary["evaluator"] == "calibrated"
    assert 0 <= summary["interval_coverage_truth"] <= 1
    assert summary["oracle_omitted_reason"] is None
    assert 0 < summary["oracle_ratio"] <= 1
    assert summary["realised_value"] == pytest.approx(
        summary["oracle_ratio"] * summary["oracle_value"]
    )
    assert summary["total_budget_used"] <= summary["budget"]
    reports = document["outcome_reports"]
    assert reports and all(r["true_effect"] is not None for r in reports)
    assert all(isinstance(r["pilot_ci_covers_pilot_truth"], bool) for r in reports)
    assert all(isinstance(r["pilot_ci_covers_scale_truth"], bool) for r in reports)
    assert f"Oracle ratio:          {summary['oracle_ratio']:.1%}" in stdout


def test_the_pilot_interval_is_scored_against_the_pilot_truth_and_the_scale_truth():
    """A decaying effect: the pilot interval is honest about the pilot, yet misses the rollout."""
    from impact_assets.config import parse_config
    from impact_assets.loop import stages
    from impact_assets.loop.report import build_loop_report

    config = parse_config(
        {
            "budget": 100,
            "scale_sample_size": 5000,
            "seed": 3,
            "measure": {"component": "statistical"},
            "evaluate": {"component": "evidence"},
            "allocate": {"component": "minimax_regret"},
            "initiatives": [
                {
                    "initiative_id": "decays",
                    "cost_to_scale": 10,
                    "method": "experiment",
                    "data": {
                        "source": "simulated",
                        "true_effect": 1.0,
                        "pilot_sample_size": 2000,
                        "scale_effect_ratio": 0.0,
                    },
                }
            ],
        }
    )
    ids, loop_id = config.initiative_ids, "decay-loop"
    pilots = stages.measure_pilots(config, ids, loop_id)
    evaluations = stages.evaluate_pilots(config, pilots, loop_id)
    allocation = stages.allocate_portfolio(config, evaluations, loop_id)
    scales = stages.measure_at_scale(config, allocation, ids, loop_id)
    report = build_loop_report(config, pilots, evaluations, allocation, scales)
    (row,) = report.reports
    pilot = pilots["decays"].result
    assert pilot.ci_lower <= 1.0 <= pilot.ci_upper and pilot.ci_lower > 0.5
    assert row.true_effect == 0.0
    assert row.pilot_ci_covers_pilot_truth is True
    assert row.pilot_ci_covers_scale_truth is False
    assert report.summary.pilot_ci_coverage_pilot_truth == 1.0
    assert report.summary.pilot_ci_coverage_scale_truth == 0.0
