"""Scale ratios: recovered from synthetic history with known truth, neutral without history."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic import draw_pilots, evidence, synthetic_history

from impact_assets.calibration.assumptions import RATIO_PRIOR_MEAN, RATIO_PRIOR_SD
from impact_assets.calibration.fit import fit_calibration
from impact_assets.calibration.predictive import predict_at_scale

RATIOS = {"experiment": 1.0, "interrupted_time_series": 0.6, "observational": 0.8}


def current_pilots(rng, n=20):
    _, y, s = draw_pilots(rng, n, mu=0.2, tau=0.15, se_range=(0.05, 0.2))
    return evidence(y, s)


def test_known_per_method_ratios_are_recovered_inside_their_own_intervals():
    rng = np.random.default_rng(11)
    history = synthetic_history(rng, RATIOS, loops=6, per_loop=20)
    calibration = fit_calibration(current_pilots(rng), history, "now")
    assert set(calibration.ratios) == set(RATIOS)
    for method, truth in RATIOS.items():
        ratio = calibration.ratios[method]
        assert ratio.pairs > 30
        assert ratio.ratio_low <= truth <= ratio.ratio_high, (method, ratio)
        assert ratio.ratio_sd < 0.1  # learnt, not the prior's 0.3
    assert calibration.ratios["interrupted_time_series"].ratio_high < 0.8  # decay is detected


def test_the_ratios_90_percent_intervals_cover_the_truth_90_percent_of_the_time():
    """Over independent histories, each selected on its pilots as the loop does."""
    rng = np.random.default_rng(5)
    replications = 120
    covered = []
    for _ in range(replications):
        history = synthetic_history(rng, {"interrupted_time_series": 0.6}, loops=3, per_loop=12)
        ratio = fit_calibration(current_pilots(rng), history, "now").ratios[
            "interrupted_time_series"
        ]
        covered.append(ratio.ratio_low <= 0.6 <= ratio.ratio_high)
    coverage = float(np.mean(covered))
    tolerance = 4 * math.sqrt(0.9 * 0.1 / replications)  # 4 binomial standard errors
    assert abs(coverage - 0.90) < tolerance, coverage


def test_extra_variance_at_scale_is_learnt_when_scale_effects_scatter():
    rng = np.random.default_rng(3)
    scattered = synthetic_history(rng, {"experiment": 1.0}, loops=8, per_loop=25, extra_sd=0.1)
    tight = synthetic_history(rng, {"experiment": 1.0}, loops=8, per_loop=25, extra_sd=0.0)
    pilots = current_pilots(rng)
    learnt = fit_calibration(pilots, scattered, "now").ratios["experiment"].extra_sd
    small = fit_calibration(pilots, tight, "now").ratios["experiment"].extra_sd
    assert 0.06 < learnt < 0.14
    assert small < 0.04


def test_no_history_gives_the_neutral_fallback_and_says_so():
    rng = np.random.default_rng(1)
    pilots = current_pilots(rng) + evidence([0.3], [0.1], method="synthetic_control", prefix="sc")
    calibration = fit_calibration(pilots, None, "first-loop")
    assert calibration.ratios == {}
    assert calibration.history_pairs == 0
    neutral = calibration.ratio_for("experiment")
    assert neutral.neutral and neutral.pairs == 0
    assert neutral.ratio_mean == pytest.approx(RATIO_PRIOR_MEAN, abs=1e-3)
    assert neutral.ratio_sd == pytest.approx(RATIO_PRIOR_SD, rel=0.01)
    assert neutral.ratio_low == pytest.approx(RATIO_PRIOR_MEAN - 1.645 * RATIO_PRIOR_SD, abs=0.01)
    assert neutral.ratio_high == pytest.approx(RATIO_PRIOR_MEAN + 1.645 * RATIO_PRIOR_SD, abs=0.01)
    notes = "\n".join(calibration.notes)
    assert "experiment: no pilot-against-scale pair yet: neutral ratio 1" in notes
    assert "synthetic_control: no pilot-against-scale pair yet" in notes
    assert "21 pilots (21 of this loop, 0 from earlier loops)" in notes


def test_the_ratio_corrects_the_prediction_of_a_decaying_method():
    rng = np.random.default_rng(8)
    history = synthetic_history(rng, {"interrupted_time_series": 0.5}, loops=6, per_loop=30)
    pilots = current_pilots(rng)
    learnt = fit_calibration(pilots, history, "now")
    naive = fit_calibration(pilots, None, "now")
    with_history = predict_at_scale(learnt, "interrupted_time_series", 0.3, 0.1)
    without = predict_at_scale(naive, "interrupted_time_series", 0.3, 0.1)
    assert with_history.mean == pytest.approx(0.5 * without.mean, rel=0.15)
    assert with_history.high - with_history.low < without.high - without.low
