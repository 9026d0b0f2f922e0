"""The calibrated EVALUATE as a plain component: its returns, confidence and diagnostics.

Its confidence is the probability that the true return at scale is positive: checked in
the closed form, and as a frequency over draws from a known prior with many nulls.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from synthetic import draw_pilots, evidence, synthetic_history

from impact_assets.calibration.assumptions import FAILED_DIAGNOSTIC_VARIANCE_FACTOR, PILOT_CI_Z
from impact_assets.calibration.fit import fit_calibration
from impact_assets.calibration.prior import point_prior
from impact_assets.components import create_component
from impact_assets.components.evaluate.calibrated import CalibratedEvaluate
from impact_assets.contracts import Calibration, EvaluateResult, MethodRatio

VALUE_PER_UNIT = 1000.0


def event(estimate: float, se: float, calibration, **extra) -> dict:
    half = PILOT_CI_Z * se
    return {
        "initiative_id": "idea",
        "effect_estimate": estimate,
        "ci_lower": estimate - half,
        "ci_upper": estimate + half,
        "p_value": 0.01,
        "sample_size": 400,
        "model_type": "experiment",
        "diagnostics": extra.pop("diagnostics", {}),
        "cost_to_scale": 5000.0,
        "value_per_unit": VALUE_PER_UNIT,
        "method": "experiment",
        "calibration": calibration,
        **extra,
    }


def conjugate_calibration(mu: float, tau: float) -> Calibration:
    """A known normal prior (in currency) and a known ratio of 1: the closed-form case."""
    ratio = MethodRatio("experiment", 50, 1.0, 0.0, 1.0, 1.0, [1.0], 0.0)
    return Calibration("L1", point_prior(mu, tau), {"experiment": ratio}, ratio)


def test_the_registry_offers_the_calibrated_component():
    assert isinstance(create_component("evaluate", "calibrated"), CalibratedEvaluate)


def test_returns_are_the_posterior_mean_and_quantiles_at_scale_in_currency():
    mu, tau = 200.0, 150.0  # currency
    y, s = 0.5, 0.1  # outcome units: 500 and 100 in currency
    result = EvaluateResult.from_dict(
        CalibratedEvaluate().execute(event(y, s, conjugate_calibration(mu, tau)))
    )
    y_c, s_c = y * VALUE_PER_UNIT, s * VALUE_PER_UNIT
    precision = 1 / tau**2 + 1 / s_c**2
    mean = (mu / tau**2 + y_c / s_c**2) / precision
    z = stats.norm.ppf(0.95)
    assert result.R_med == pytest.approx(mean, rel=1e-9)
    assert result.R_worst == pytest.approx(mean - z / math.sqrt(precision), rel=1e-7)
    assert result.R_best == pytest.approx(mean + z / math.sqrt(precision), rel=1e-7)
    assert result.confidence == pytest.approx(stats.norm.cdf(mean * math.sqrt(precision)))
    assert result.pilot_weight == pytest.approx(tau**2 / (tau**2 + s_c**2), rel=1e-9)
    assert result.interval_kind == "predictive" and result.predictive
    assert result.cost == 5000.0 and result.sample_size == 400


def test_a_failed_diagnostic_widens_the_pilot_variance_by_the_documented_factor():
    calibration = conjugate_calibration(200.0, 150.0)
    failed = {"pre_trend": {"value": 0.01, "passed": False}, "r_squared": 0.3}
    clean = CalibratedEvaluate().execute(event(0.5, 0.1, calibration))
    warned = CalibratedEvaluate().execute(event(0.5, 0.1, calibration, diagnostics=failed))
    widened = CalibratedEvaluate().execute(
        event(0.5, 0.1 * math.sqrt(FAILED_DIAGNOSTIC_VARIANCE_FACTOR), calibration)
    )
    for key in ("R_worst", "R_med", "R_best", "confidence", "pilot_weight"):
        assert warned[key] == pytest.approx(widened[key], rel=1e-12), key
    assert warned["pilot_weight"] < clean["pilot_weight"]
    assert warned["confidence"] < clean["confidence"]  # a positive pilot, less sure
    assert warned["R_best"] - warned["R_worst"] > clean["R_best"] - clean["R_worst"]
    passed = {"pre_trend": {"value": 0.4, "passed": True}}
    assert CalibratedEvaluate().execute(event(0.5, 0.1, calibration, diagnostics=passed)) == clean


def test_a_learnt_decay_lowers_the_prediction_and_the_method_picks_the_ratio():
    rng = np.random.default_rng(4)
    history = synthetic_history(
        rng, {"interrupted_time_series": 0.5, "experiment": 1.0}, loops=5, per_loop=20,
        value_per_unit=VALUE_PER_UNIT,
    )  # fmt: skip
    _, y, s = draw_pilots(rng, 20, mu=200.0, tau=150.0, se_range=(50.0, 200.0))
    calibration = fit_calibration(evidence(y, s), history, "L6")
    as_experiment = CalibratedEvaluate().execute(event(0.4, 0.1, calibration))
    as_its = CalibratedEvaluate().execute(
        event(0.4, 0.1, calibration, method="interrupted_time_series")
    )
    assert as_its["R_med"] == pytest.approx(0.5 * as_experiment["R_med"], rel=0.2)
    assert as_its["pilot_weight"] == as_experiment["pilot_weight"]  # the same pilot


def test_the_calibration_may_come_as_a_dict_and_is_required():
    calibration = conjugate_calibration(200.0, 150.0)
    as_object = CalibratedEvaluate().execute(event(0.5, 0.1, calibration))
    as_dict = CalibratedEvaluate().execute(event(0.5, 0.1, calibration.to_dict()))
    assert as_object == as_dict
    with pytest.raises(ValueError, match="calibration: the calibrated EVALUATE needs"):
        CalibratedEvaluate().execute(event(0.5, 0.1, None))
    with pytest.raises(ValueError, match="value_per_unit: must be a number > 0"):
        CalibratedEvaluate().execute(event(0.5, 0.1, calibration, value_per_unit=0))


def test_the_confidence_is_the_frequency_of_a_positive_return_at_scale():
    """Over draws from a known prior (half the effects null, the others N(40, 100^2)
    in currency) and a known ratio, the initiatives given confidence c have a positive
    true return at scale a share c of the time, bin by bin: the confidence is a
    calibrated probability, not a weight. The pilot's weight (what the confidence was
    before, 0.31-0.92 here, by precision only) misses in four of the five bins: a third
    of each bin is positive whatever its weight."""
    rng = np.random.default_rng(17)
    null_share, mu, tau, ratio = 0.5, 40.0, 100.0, 0.7
    known = MethodRatio("experiment", 50, ratio, 0.0, ratio, ratio, [ratio], 0.0)
    calibration = Calibration(
        "L1", point_prior(mu, tau, null_share=null_share), {"experiment": known}, known
    )
    draws = 4000
    theta = np.where(rng.uniform(size=draws) < null_share, 0.0, rng.normal(mu, tau, draws))
    ses = rng.uniform(30.0, 150.0, draws)
    estimates = theta + ses * rng.normal(size=draws)
    confidence = np.array([
        CalibratedEvaluate().execute(event(y / VALUE_PER_UNIT, s / VALUE_PER_UNIT, calibration))[
            "confidence"
        ]
        for y, s in zip(estimates, ses, strict=True)
    ])  # fmt: skip
    positive = ratio * theta > 0
    edges = np.quantile(confidence, np.linspace(0, 1, 6))
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence >= low) & (confidence <= high)
        expected = confidence[in_bin].mean()
        # 4 binomial standard errors of the bin's frequency
        tolerance = 4 * math.sqrt(max(expected * (1 - expected), 0.01) / in_bin.sum())
        assert abs(positive[in_bin].mean() - expected) < tolerance, (low, high)
    assert confidence.min() < 0.2 and confidence.max() > 0.8  # the bins span the range


def test_a_near_certain_null_keeps_its_mean_inside_its_interval():
    """A precise pilot at 0 under a prior of mostly nulls: more than 95% of its
    predictive sits at exactly 0, so both percentiles are 0 and the interval reaches
    up to the (positive) mean; its confidence is the slab's small share."""
    known = MethodRatio("experiment", 50, 1.0, 0.0, 1.0, 1.0, [1.0], 0.0)
    calibration = Calibration(
        "L1", point_prior(200.0, 150.0, null_share=0.9), {"experiment": known}, known
    )
    result = EvaluateResult.from_dict(CalibratedEvaluate().execute(event(0.0, 0.01, calibration)))
    assert result.R_worst == 0.0
    assert 0.0 < result.R_med == result.R_best
    assert result.confidence < 0.05
