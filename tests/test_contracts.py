"""Contracts reject invalid values with a ValueError naming the field (never an assert)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    CalibrationHistory,
    CalibrationRecord,
    EffectPrior,
    EvaluateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    MeasureResult,
    OutcomeReport,
    RecordStatus,
    Stage,
)
from impact_assets.contracts.codec import decode, encode


def measure(**overrides):
    fields = dict(
        initiative_id="a",
        effect_estimate=0.2,
        ci_lower=0.1,
        ci_upper=0.3,
        p_value=0.01,
        sample_size=100,
        model_type="experiment",
        diagnostics={"r_squared": 0.5},
    )
    fields.update(overrides)
    return MeasureResult(**fields)


def evaluation(**overrides):
    fields = dict(
        initiative_id="a",
        confidence=0.9,
        cost=10.0,
        R_best=3.0,
        R_med=2.0,
        R_worst=1.0,
        model_type="experiment",
        sample_size=100,
    )
    fields.update(overrides)
    return EvaluateResult(**fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ci_lower": 0.25}, "ci_lower <= effect_estimate <= ci_upper"),
        ({"ci_upper": 0.15}, "ci_lower <= effect_estimate <= ci_upper"),
        ({"sample_size": 29}, "sample_size"),
        ({"p_value": 1.5}, "p_value"),
        ({"p_value": -0.1}, "p_value"),
        ({"model_type": "astrology"}, "model_type"),
        ({"effect_estimate": float("nan")}, "effect_estimate"),
        ({"initiative_id": ""}, "initiative_id"),
    ],
)
def test_measure_result_rejects(overrides, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[")):
        measure(**overrides)


def test_measure_result_allows_a_null_p_value():
    assert measure(p_value=None).p_value is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"confidence": 1.2}, "confidence"),
        ({"confidence": -0.01}, "confidence"),
        ({"cost": 0}, "cost"),
        ({"R_worst": 2.5}, "R_worst <= R_med <= R_best"),
        ({"pilot_weight": 1.5}, "EvaluateResult.pilot_weight: must be within"),
        ({"pilot_weight": -0.1}, "EvaluateResult.pilot_weight: must be within"),
        ({"pilot_weight": float("nan")}, "EvaluateResult.pilot_weight: must be finite"),
        ({"interval_kind": "hunch"}, "EvaluateResult.interval_kind: must be one of"),
    ],
)
def test_evaluate_result_rejects(overrides, field):
    with pytest.raises(ValueError, match=field):
        evaluation(**overrides)


def test_evaluate_result_carries_the_pilot_weight_and_what_its_interval_is():
    calibrated = evaluation(pilot_weight=0.4, interval_kind="predictive")
    assert EvaluateResult.from_dict(calibrated.to_dict()) == calibrated
    assert calibrated.predictive and calibrated.to_dict()["pilot_weight"] == 0.4
    # a dict stored before these fields existed loads as a pilot interval, no weight
    stored = {k: v for k, v in evaluation().to_dict().items()
              if k not in ("pilot_weight", "interval_kind")}  # fmt: skip
    loaded = EvaluateResult.from_dict(stored)
    assert loaded.pilot_weight is None and loaded.interval_kind == "pilot_ci"
    assert not loaded.predictive


def allocation(**overrides):
    fields = dict(
        selected_initiatives=["a"],
        predicted_returns={"a": 2.0},
        budget_allocated={"a": 10.0},
        budget=10.0,
        rule="mock",
        status="heuristic",
    )
    fields.update(overrides)
    return AllocateResult(**fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"budget_allocated": {"a": 11.0}}, "exceeds the budget"),
        ({"predicted_returns": {}}, "predicted_returns"),
        ({"budget_allocated": {}}, "budget_allocated"),
        ({"status": "great"}, "status"),
        ({"budget": -1}, "budget"),
        ({"excluded": {"a": "why"}}, "excluded"),
    ],
)
def test_allocate_result_rejects(overrides, field):
    with pytest.raises(ValueError, match=field):
        allocation(**overrides)


def test_records_need_the_right_shape():
    with pytest.raises(ValueError, match="result: required"):
        MeasurementRecord("a", "L", Stage.PILOT, RecordStatus.MEASURED)
    with pytest.raises(ValueError, match="cause: required"):
        MeasurementRecord("a", "L", Stage.SCALE, RecordStatus.FAILED)
    with pytest.raises(ValueError, match="a pilot record must be one of"):
        MeasurementRecord("a", "L", Stage.PILOT, RecordStatus.SCALED, result=measure())
    with pytest.raises(ValueError, match="belongs to b"):
        MeasurementRecord("a", "L", Stage.PILOT, "measured", result=measure(initiative_id="b"))
    with pytest.raises(ValueError, match="status"):
        EvaluationRecord("a", "L", RecordStatus.SCALED)


def test_outcome_report_checks_its_error():
    with pytest.raises(ValueError, match="prediction_error"):
        OutcomeReport("a", 1.0, 2.0, 0.5, 100, 5000, 10.0, 0.9, "experiment")


def test_codec_round_trips_every_contract():
    pilot = MeasurementRecord("a", "L", "pilot", "measured", result=measure(loop_id="L"))
    values = [
        measure(p_value=None),
        evaluation(),
        allocation(scenarios={"best": {"v_star": 1.0}}, excluded={"b": "failed"}),
        pilot,
        EvaluationRecord("a", "L", "evaluated", result=evaluation()),
    ]
    for value in values:
        assert decode(encode(value)) == value


def test_codec_refuses_unknown_types():
    with pytest.raises(TypeError):
        encode({"not": "a contract"})
    with pytest.raises(ValueError):
        decode('{"type": "os.system", "data": {}}')


def test_validation_survives_python_O():
    """Validation raises ValueError, so ``python -O`` (which strips asserts) keeps it."""
    code = (
        "from impact_assets.contracts import MeasureResult\n"
        "try:\n"
        "    MeasureResult('a', 0.5, 0.6, 0.7, None, 100, 'experiment')\n"
        "except ValueError:\n"
        "    print('rejected')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "rejected"


def test_coverage_flags_need_a_truth():
    for flag in ("pilot_ci_covers_pilot_truth", "pilot_ci_covers_scale_truth"):
        with pytest.raises(ValueError, match=f"OutcomeReport.{flag}: must be null"):
            OutcomeReport("a", 1.0, 2.0, 1.0, 100, 5000, 10.0, 0.9, "experiment", **{flag: True})


def test_loop_report_refuses_rows_of_another_loop():
    from impact_assets.contracts import PortfolioSummary

    summary = PortfolioSummary(
        "L", "mock", 10.0, 1, 1, 1, 10.0, None, None, None, None, None, None, None, None, None
    )
    row = OutcomeReport("a", 1.0, 2.0, 1.0, 100, 5000, 10.0, 0.9, "experiment", loop_id="M")
    with pytest.raises(ValueError, match="belongs to loop M"):
        LoopReport("L", [row], summary)


def calibration_record(**overrides):
    fields = dict(
        initiative_id="a",
        loop_id="L",
        method="experiment",
        model_type="experiment",
        value_per_unit=100.0,
        pilot_estimate=0.3,
        pilot_se=0.1,
    )
    fields.update(overrides)
    return CalibrationRecord(**fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scale_estimate": 0.2}, "scale_se: give both"),
        ({"scale_se": 0.02}, "scale_se: give both"),
        ({"pilot_se": -0.1}, "pilot_se: must be >= 0"),
        ({"value_per_unit": 0}, "value_per_unit: must be > 0"),
        ({"source": "spreadsheet"}, "source: must be one of loop, history_file"),
        ({"model_type": "survey"}, "model_type: must be one of"),
        ({"selected": "yes"}, "selected: must be true or false"),
    ],
)
def test_calibration_record_rejects(overrides, field):
    with pytest.raises(ValueError, match=f"CalibrationRecord.{field}"):
        calibration_record(**overrides)


def test_calibration_contracts_round_trip_and_check_themselves():
    from impact_assets.calibration.prior import point_prior
    from impact_assets.calibration.ratio import neutral_ratio

    pair = calibration_record(selected=True, scale_estimate=0.25, scale_se=0.02)
    history = CalibrationHistory([pair, calibration_record(initiative_id="b")], loop_id="M")
    assert history.pairs == [pair] and history.loop_ids == ["L"]
    calibration = Calibration("M", point_prior(1.0, 2.0), {}, neutral_ratio(1.0), notes=["n"])
    for value in (history, calibration):
        assert decode(encode(value)) == value
    assert calibration.ratio_for("observational") is calibration.neutral_ratio
    with pytest.raises(ValueError, match="EffectPrior.tau_weights: must sum to 1"):
        EffectPrior([1.0, 2.0], [0.5, 0.6], [0.0, 0.0], [0.0, 0.0], 2, 2)
    with pytest.raises(ValueError, match="entry 'observational' holds method neutral"):
        Calibration("M", point_prior(1.0, 2.0), {"observational": neutral_ratio(1.0)},
                    neutral_ratio(1.0))  # fmt: skip
    with pytest.raises(ValueError, match="EffectPrior.null_shares: must be within"):
        EffectPrior([1.0], [1.0], [0.0], [0.0], 1, 1, null_shares=[1.0])
    with pytest.raises(ValueError, match="EffectPrior.null_shares: must have one value per"):
        EffectPrior([1.0], [1.0], [0.0], [0.0], 1, 1, null_shares=[0.2, 0.3])
    with pytest.raises(ValueError, match="Calibration.history_file_pairs: 3 exceeds"):
        Calibration("M", point_prior(1.0, 2.0), {}, neutral_ratio(1.0), history_pairs=2,
                    history_file_pairs=3)  # fmt: skip
    spiked = Calibration("M", point_prior(1.0, 2.0, null_share=0.4), {}, neutral_ratio(1.0),
                         history_records=9, history_pairs=4, history_loops=2,
                         history_file_pairs=1)  # fmt: skip
    assert decode(encode(spiked)) == spiked
    # a calibration stored before the spike and the loop counts existed still loads
    stored = calibration.to_dict()
    for key in ("history_loops", "history_file_pairs"):
        del stored[key]
    del stored["prior"]["null_shares"]
    old = Calibration.from_dict(stored)
    assert old.history_loops == 0 and old.prior.null_shares == []


def test_the_interval_flags_of_a_report_need_their_values():
    with pytest.raises(ValueError, match="OutcomeReport.interval_covers_truth: must be null"):
        OutcomeReport("a", 1.0, 2.0, 1.0, 100, 5000, 10.0, 0.9, "experiment",
                      interval_covers_truth=True)  # fmt: skip
    with pytest.raises(ValueError, match="OutcomeReport.R_worst: must be <= R_best"):
        OutcomeReport("a", 1.0, 2.0, 1.0, 100, 5000, 10.0, 0.9, "experiment", R_worst=3.0,
                      R_best=2.0)  # fmt: skip


def test_a_loop_report_holds_only_its_own_loops_history_records():
    from impact_assets.contracts import PortfolioSummary

    summary = PortfolioSummary(
        "L", "mock", 10.0, 1, 1, 0, 10.0, None, None, None, None, None, None, None, None, None
    )
    report = LoopReport("L", [], summary, calibration_records=[calibration_record()])
    assert decode(encode(report)) == report
    with pytest.raises(ValueError, match="calibration_records: a belongs to loop M"):
        LoopReport("L", [], summary, calibration_records=[calibration_record(loop_id="M")])
    stored_before = {"loop_id": "L", "reports": [], "summary": summary.to_dict()}
    assert LoopReport.from_dict(stored_before).calibration_records == []  # older stored values
