"""Scale ratios: recovered from synthetic history with known truth, neutral without history,
and honest (the decay at scale, its interval covering) on populations with many nulls."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from synthetic import draw_pilots, draw_spike_and_slab, evidence, synthetic_history

from impact_assets.calibration.assumptions import RATIO_PRIOR_MEAN, RATIO_PRIOR_SD
from impact_assets.calibration.fit import fit_calibration
from impact_assets.calibration.predictive import predict_at_scale, scale_mixture

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


# Populations with many nulls (spike and slab): 40% and 70% of effects exactly 0, the
# others N(0.2, 0.15^2); one method, decaying to 0.6 or 0.9 at scale. Four loops of 20
# pilots each (the better half scaled) before the loop whose 20 pilots are predicted.
# A normal population (no nulls) is predicted too.
NULL_HEAVY = [(0.4, 0.6), (0.7, 0.6), (0.4, 0.9), (0.7, 0.9)]
NORMAL = [(0.0, 0.6)]
REPLICATIONS = 150


def interval_mass(calibration, method: str, estimate: float, se: float, low: float, high: float):
    """The predictive probability of ``[low, high]``: 0.9 for a continuous predictive,
    more when it holds a point mass at 0 (a possible null) inside."""
    mixture = scale_mixture(calibration.prior, calibration.ratio_for(method), estimate, se)
    sds = np.maximum(mixture.sds, 1e-300)
    inside = stats.norm.cdf((high - mixture.means) / sds) - stats.norm.cdf(
        (low - mixture.means) / sds
    )
    return float(mixture.weights @ inside + mixture.null * (low <= 0.0 <= high))


def replication(rng, null_share: float, ratio: float):
    """One history and one loop: whether the ratio's interval covers the truth, and for
    the loop's pilots the share of predictive intervals covering the true effect at
    scale and their mean predictive probability."""
    method = "interrupted_time_series"
    history = synthetic_history(rng, {method: ratio}, loops=4, per_loop=20, null_share=null_share)
    theta, y, s = draw_spike_and_slab(rng, 20, null_share, 0.2, 0.15, (0.05, 0.2))
    calibration = fit_calibration(evidence(y, s, method=method), history, "now")
    learnt = calibration.ratios[method]
    covered, masses = [], []
    for ti, yi, si in zip(theta, y, s, strict=True):
        prediction = predict_at_scale(calibration, method, yi, si)
        covered.append(prediction.low <= ratio * ti <= prediction.high)
        masses.append(interval_mass(calibration, method, yi, si, prediction.low, prediction.high))
    covers_ratio = learnt.ratio_low <= ratio <= learnt.ratio_high
    return covers_ratio, float(np.mean(covered)), float(np.mean(masses))


@pytest.mark.slow
def test_on_populations_with_many_nulls_the_ratio_is_decay_and_its_interval_covers():
    """The learnt ratio is the decay at scale, not a correction for a misfit prior.

    A normal prior fitted to a population of many nulls shrinks the real effects too
    far, and the ratio grows to make up for it: on these four populations its 90%
    interval covered the true ratio in 61-80% of each population's 150 replications
    (72% pooled). The spike-and-slab prior represents the nulls. Pooled over 600
    replications the coverage must lie in 85%-95% (+-4 binomial standard errors, 1.2
    points, around 90%); each population's 150 must reach 80% (4 standard errors, 2.4
    points, below 90%).

    The predictions of the next loop stay calibrated, on these populations and on a
    normal one: their intervals never cover the true effects at scale less often than
    the predictive says they hold them (0.9 for a continuous predictive; more when a
    point mass at 0, a possible null, lies inside), to 4 standard errors of the
    replications' shares; and no more often than 97%, the upper end of the benchmark's
    target band (the extra SD at scale is 0 here, and its posterior mean, never 0,
    widens them by a point or two).
    """
    rng = np.random.default_rng(20260)
    ratio_covered, shares, gaps = {}, [], []
    for null_share, ratio in NULL_HEAVY + NORMAL:
        results = [replication(rng, null_share, ratio) for _ in range(REPLICATIONS)]
        if (null_share, ratio) in NULL_HEAVY:
            ratio_covered[(null_share, ratio)] = np.mean([covers for covers, _, _ in results])
        shares += [share for _, share, _ in results]
        gaps += [share - mass for _, share, mass in results]
    pooled = float(np.mean(list(ratio_covered.values())))
    assert 0.85 <= pooled <= 0.95, ratio_covered
    for population, coverage in ratio_covered.items():
        assert coverage >= 0.9 - 4 * math.sqrt(0.09 / REPLICATIONS), (population, coverage)
    gap = float(np.mean(gaps))
    standard_error = float(np.std(gaps, ddof=1) / math.sqrt(len(gaps)))
    assert gap > -4 * standard_error, (gap, standard_error)
    assert float(np.mean(shares)) <= 0.97, np.mean(shares)
