"""EvidenceEvaluate's confidence: within the design's range, monotone, deterministic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from impact_assets.components.evaluate.evidence import (
    PRECISION_WEIGHT,
    SAMPLE_WEIGHT,
    EvidenceEvaluate,
    confidence_score,
    precision_score,
    sample_score,
)
from impact_assets.components.measure.mock import MockMeasure
from impact_assets.contracts import ModelType
from impact_assets.contracts.types import CONFIDENCE_RANGES

model_types = st.sampled_from(list(ModelType))
estimates = st.floats(-1e6, 1e6, allow_nan=False).filter(lambda e: e != 0)
halfwidths = st.floats(0, 1e6, allow_nan=False)
sample_sizes = st.integers(30, 10**7)
verdicts = st.lists(st.booleans(), max_size=6)


def _diagnostics(passed: list[bool]) -> dict:
    entries = {f"check_{i}": {"value": 0.1 * i, "passed": p} for i, p in enumerate(passed)}
    return {"r_squared": 0.4, **entries}


def _score(model_type, estimate, halfwidth, n, passed) -> float:
    return confidence_score(
        model_type, estimate, estimate - halfwidth, estimate + halfwidth, n, _diagnostics(passed)
    )


@given(model_types, estimates, halfwidths, halfwidths, sample_sizes, verdicts)
def test_a_narrower_interval_never_lowers_confidence(model_type, e, h1, h2, n, passed):
    narrow, wide = sorted((h1, h2))
    assert _score(model_type, e, narrow, n, passed) >= _score(model_type, e, wide, n, passed)


@given(model_types, estimates, estimates, halfwidths, sample_sizes, verdicts)
def test_a_larger_estimate_for_the_same_interval_never_lowers_confidence(
    model_type, e1, e2, h, n, passed
):
    small, large = sorted((abs(e1), abs(e2)))
    assert _score(model_type, large, h, n, passed) >= _score(model_type, small, h, n, passed)


@given(model_types, estimates, halfwidths, sample_sizes, sample_sizes, verdicts)
def test_a_larger_sample_never_lowers_confidence(model_type, e, h, n1, n2, passed):
    small, large = sorted((n1, n2))
    assert _score(model_type, e, h, large, passed) >= _score(model_type, e, h, small, passed)


@given(
    model_types,
    estimates,
    halfwidths,
    sample_sizes,
    verdicts.filter(lambda v: not all(v)),
    st.data(),
)
def test_a_passed_diagnostic_instead_of_a_failed_one_never_lowers_confidence(
    model_type, e, h, n, passed, data
):
    failed = [i for i, p in enumerate(passed) if not p]
    flip = data.draw(st.sampled_from(failed))
    better = [p or i == flip for i, p in enumerate(passed)]
    assert _score(model_type, e, h, n, better) >= _score(model_type, e, h, n, passed)


@given(model_types, st.floats(-1e6, 1e6, allow_nan=False), halfwidths, sample_sizes, verdicts)
def test_confidence_stays_within_the_model_types_range(model_type, e, h, n, passed):
    low, high = CONFIDENCE_RANGES[model_type]
    for diagnostics in (_diagnostics(passed), {}):
        score = confidence_score(model_type, e, e - h, e + h, n, diagnostics)
        assert low <= score <= high


@given(model_types, estimates, halfwidths, sample_sizes)
def test_absent_diagnostics_are_neutral(model_type, e, h, n):
    low, high = CONFIDENCE_RANGES[model_type]
    absent = confidence_score(model_type, e, e - h, e + h, n, {})
    # Precision and sample size alone decide, as if D equalled their weighted average...
    precision, sample = precision_score(e, e - h, e + h), sample_score(n)
    position = (PRECISION_WEIGHT * precision + SAMPLE_WEIGHT * sample) / (
        PRECISION_WEIGHT + SAMPLE_WEIGHT
    )
    assert math.isclose(absent, low + position * (high - low), rel_tol=1e-12)
    # ...so the score lies between "every diagnostic failed" and "every one passed".
    assert _score(model_type, e, h, n, [False]) <= absent + 1e-12
    assert absent <= _score(model_type, e, h, n, [True]) + 1e-12
    # Entries that are not pass/fail diagnostics (the mock's) change nothing.
    mock_like = {"r_squared": 0.8, "sample_id": "mock:00ff", "note": {"value": 1.0}}
    assert confidence_score(model_type, e, e - h, e + h, n, mock_like) == absent


def test_an_estimate_of_zero_has_no_precision():
    assert precision_score(0.0, -1.0, 1.0) == 0.0
    assert precision_score(0.0, 0.0, 0.0) == 0.0
    assert precision_score(2.0, 1.0, 3.0) == pytest.approx(2 / 3)


def test_the_sample_score_spans_30_to_100000():
    assert sample_score(30) == 0.0
    assert sample_score(100_000) == 1.0
    assert sample_score(10**7) == 1.0
    assert 0 < sample_score(1_000) < 1


def _measure(initiative_id: str, **overrides) -> dict:
    event = MockMeasure().execute({"initiative_id": initiative_id, "seed": 7})
    return {**event, "cost_to_scale": 1000.0, "value_per_unit": 40.0, "seed": 7, **overrides}


@pytest.mark.parametrize("initiative_id", ["alpha", "beta", "gamma", "delta"])
def test_evidence_evaluate_is_deterministic_and_scales_returns(initiative_id):
    event = _measure(initiative_id)
    first = EvidenceEvaluate().execute(event)
    assert first == EvidenceEvaluate().execute(dict(event))
    assert first["R_best"] == pytest.approx(event["ci_upper"] * 40.0)
    assert first["R_med"] == pytest.approx(event["effect_estimate"] * 40.0)
    assert first["R_worst"] == pytest.approx(event["ci_lower"] * 40.0)
    low, high = CONFIDENCE_RANGES[ModelType(event["model_type"])]
    assert low <= first["confidence"] <= high
    assert first["cost"] == 1000.0


def test_value_per_unit_defaults_to_one():
    event = _measure("alpha")
    del event["value_per_unit"]
    assert EvidenceEvaluate().execute(event)["R_med"] == event["effect_estimate"]


@pytest.mark.parametrize("value_per_unit", [0, -2.0, "40"])
def test_a_bad_value_per_unit_is_named(value_per_unit):
    with pytest.raises(ValueError, match="value_per_unit"):
        EvidenceEvaluate().execute(_measure("alpha", value_per_unit=value_per_unit))


def test_an_invalid_interval_is_named():
    with pytest.raises(ValueError, match="ci_lower"):
        EvidenceEvaluate().execute(_measure("alpha", ci_lower=10.0))
