"""The learning loop through Dagster: the history grows by loop, survives restarts and reruns.

The calibration assets run in every loop; the ``calibrated`` EVALUATE uses what they
learnt, and each loop's outcome reports become the next loop's history.
"""

from __future__ import annotations

import json

import pytest
from helpers import cli_output_json, open_instance, run_cli, run_loop, write_config

from impact_assets.calibration.pilots import evidence_from_measure
from impact_assets.calibration.predictive import predict_at_scale
from impact_assets.contracts import CalibrationHistory
from impact_assets.lib.io_manager import value_store

LOOP_A = "20260101T000000Z-learn00a"
LOOP_B = "20260102T000000Z-learn00b"


def learning_portfolio(**overrides) -> dict:
    """Six simulated experiments and two time series that decay at scale; four fit the budget."""
    initiatives = [
        {
            "initiative_id": f"idea-{k}",
            "cost_to_scale": 10_000,
            "value_per_unit": 50_000,
            "method": "experiment" if k < 6 else "interrupted_time_series",
            "data": {
                "source": "simulated",
                "true_effect": 0.1 + 0.05 * k,
                "pilot_sample_size": 300,
                "scale_effect_ratio": 1.0 if k < 6 else 0.5,
            },
        }
        for k in range(8)
    ]
    config = {
        "budget": 40_000,
        "scale_sample_size": 3000,
        "seed": 5,
        "measure": {"component": "statistical"},
        "evaluate": {"component": "calibrated"},
        "allocate": {"component": "expected_return"},
        "initiatives": initiatives,
    }
    config.update(overrides)
    return config


def stored_history(instance) -> CalibrationHistory:
    return value_store(instance).read("calibration_history")


def test_each_loop_learns_from_the_last_and_a_rerun_never_double_counts(
    instance, tmp_path, monkeypatch
):
    config_path = write_config(tmp_path, learning_portfolio())
    assert run_loop(instance, config_path, loop_id=LOOP_A, monkeypatch=monkeypatch).success
    assert stored_history(instance).records == []  # nothing before the first loop
    first_calibration = value_store(instance).read("calibration")
    assert first_calibration.ratios == {} and first_calibration.prior.current_pilots == 8

    assert run_loop(instance, config_path, loop_id=LOOP_B, monkeypatch=monkeypatch).success
    history = stored_history(instance)
    assert history.loop_ids == [LOOP_A] and history.loop_id == LOOP_B
    assert len(history.records) == 8  # every pilot of loop A, scaled or not
    report_a_pairs = {r.initiative_id for r in history.pairs}
    assert len(report_a_pairs) == 4  # the four loop A scaled
    assert all(r.scale_true_effect is not None for r in history.records)

    calibration = value_store(instance).read("calibration")
    assert calibration.loop_id == LOOP_B
    assert calibration.history_pairs == 4
    assert sum(ratio.pairs for ratio in calibration.ratios.values()) == 4

    # EVALUATE used exactly this calibration
    config = json.loads(json.dumps(learning_portfolio()))
    for initiative in config["initiatives"]:
        initiative_id = initiative["initiative_id"]
        pilot = value_store(instance).read("pilot_results", initiative_id).result
        evaluation = value_store(instance).read("evaluations", initiative_id).result
        evidence = evidence_from_measure(pilot, initiative["value_per_unit"], initiative["method"])
        prediction = predict_at_scale(calibration, evidence.method, evidence.estimate, evidence.se)
        assert (evaluation.R_worst, evaluation.R_med, evaluation.R_best) == pytest.approx(
            (prediction.low, prediction.mean, prediction.high), rel=1e-12
        )
        assert evaluation.confidence == pytest.approx(prediction.probability_positive, rel=1e-12)
        assert evaluation.pilot_weight == pytest.approx(prediction.pilot_weight, rel=1e-12)
        assert evaluation.interval_kind == "predictive"

    for _ in range(2):  # loop B again, twice: its records replace themselves
        assert run_loop(instance, config_path, loop_id=LOOP_B, monkeypatch=monkeypatch).success
        history = stored_history(instance)
        assert history.loop_ids == [LOOP_A, LOOP_B]
        assert len(history.records) == 16


def test_the_report_says_how_honest_the_prediction_was(instance, tmp_path, monkeypatch):
    config_path = write_config(tmp_path, learning_portfolio())
    assert run_loop(instance, config_path, loop_id=LOOP_A, monkeypatch=monkeypatch).success
    report = value_store(instance).read("outcome_reports")
    evaluations = {r.initiative_id: value_store(instance).read("evaluations", r.initiative_id)
                   for r in report.reports}  # fmt: skip
    for row in report.reports:
        evaluation = evaluations[row.initiative_id].result
        assert row.predicted_return == evaluation.R_med  # the calibrated prediction
        assert (row.R_worst, row.R_best) == (evaluation.R_worst, evaluation.R_best)
        assert row.pilot_return != row.predicted_return  # the raw pilot estimate is kept too
        true_return = row.true_effect * row.value_per_unit
        assert row.interval_covers_truth == (row.R_worst <= true_return <= row.R_best)
        assert row.interval_covers_actual == (row.R_worst <= row.actual_return <= row.R_best)
    summary = report.summary
    assert summary.evaluator == "calibrated"
    assert summary.interval_coverage_truth == pytest.approx(
        sum(r.interval_covers_truth for r in report.reports) / len(report.reports)
    )
    assert len(report.calibration_records) == 8
    assert {r.initiative_id for r in report.calibration_records if r.scaled} == {
        r.initiative_id for r in report.reports
    }


@pytest.mark.slow
def test_history_survives_a_restart_of_the_instance(tmp_path):
    """Two `run_once.py` processes on one DAGSTER_HOME: the second learns from the first.

    (A rerun of the same loop is tested in-process above: it replaces its records.)
    """
    config_path = write_config(tmp_path, learning_portfolio())
    home = tmp_path / "home"
    first_console, second_console = [], []
    first = json.loads(cli_output_json(config_path, LOOP_A, home, progress=first_console))
    assert first["calibration"]["history_pairs"] == 0
    second = json.loads(cli_output_json(config_path, LOOP_B, home, progress=second_console))
    assert second["calibration"]["history_pairs"] == 4
    # the console says where a changed number came from
    assert (
        "  Calibration: no earlier loops: the prior is learnt from this loop's 8 pilots and "
        "every ratio at scale is the neutral 1"
    ) in "".join(first_console).splitlines()
    assert (
        "  Calibration: calibrated on 4 pilot-vs-scale pairs from 1 earlier loop; prior from "
        "8 pilots (8 of this loop)"
    ) in "".join(second_console).splitlines()
    assert second["summary"]["evaluator"] == "calibrated"
    assert {"interval_coverage_truth", "interval_coverage_actual"} <= set(second["summary"])
    with open_instance(home) as instance:
        history = stored_history(instance)
    assert history.loop_ids == [LOOP_A] and history.loop_id == LOOP_B
    assert len(history.records) == 8
    assert {r.initiative_id for r in history.pairs} == {
        r["initiative_id"] for r in first["outcome_reports"]
    }


def test_a_bad_history_file_stops_the_cli_naming_the_row(tmp_path):
    (tmp_path / "past.csv").write_text(
        "initiative_id,method,pilot_estimate,pilot_se,scale_estimate,scale_se\n"
        "old-1,experiment,0.3,0.1,0.25,0.02\n"
        "old-2,experiment,0.2,0,0.15,0.02\n"
    )
    config_path = write_config(
        tmp_path, learning_portfolio(calibration={"history_file": "past.csv"})
    )
    completed = run_cli("--config", str(config_path), dagster_home=tmp_path / "home")
    assert completed.returncode == 2
    assert "calibration.history_file: row 2 (line 3): pilot_se must be > 0, got 0" in (
        completed.stderr
    )
    assert "Traceback" not in completed.stderr


def test_a_history_file_joins_the_history_and_informs_the_ratios(instance, tmp_path, monkeypatch):
    rows = ["initiative_id,method,pilot_estimate,pilot_se,scale_estimate,scale_se,loop_id"]
    rows += [
        f"old-{k},interrupted_time_series,{0.2 + 0.02 * k},0.05,{0.1 + 0.01 * k},0.01,"
        f"2025Q{k % 4 + 1}"
        for k in range(12)
    ]
    (tmp_path / "past.csv").write_text("\n".join(rows) + "\n")
    config_path = write_config(
        tmp_path, learning_portfolio(calibration={"history_file": "past.csv"})
    )
    assert run_loop(instance, config_path, loop_id=LOOP_A, monkeypatch=monkeypatch).success
    history = stored_history(instance)
    assert len(history.records) == 12 and history.history_file.endswith("past.csv")
    ratio = value_store(instance).read("calibration").ratios["interrupted_time_series"]
    assert ratio.pairs == 12
    assert ratio.ratio_high < 0.8  # the file's scale estimates are about half the pilots'
