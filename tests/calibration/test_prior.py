"""The effect-size prior and the predictive: closed forms, an independent integration, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from synthetic import draw_pilots, evidence

from impact_assets.calibration.assumptions import INTERVAL_PROBABILITIES
from impact_assets.calibration.predictive import mixture_quantiles, predict_at_scale
from impact_assets.calibration.prior import (
    effect_posterior,
    fit_effect_prior,
    pilot_weight,
    point_prior,
    posterior_moments,
    tau_upper_bound,
)
from impact_assets.contracts import Calibration, MethodRatio

Z90 = stats.norm.ppf(INTERVAL_PROBABILITIES[1])


def known_ratio(ratio: float = 1.0, extra_sd: float = 0.0, method: str = "experiment"):
    return MethodRatio(method, 100, ratio, 0.0, ratio, ratio, [ratio], extra_sd)


def calibration_with(prior, ratio: MethodRatio | None = None) -> Calibration:
    ratio = ratio or known_ratio()
    return Calibration("loop", prior, {ratio.method: ratio}, known_ratio(method="neutral"))


# -- the conjugate case ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mu", "tau", "y", "s"),
    [(0.2, 0.15, 0.5, 0.1), (-3.0, 2.0, 4.0, 5.0), (10_000.0, 8_000.0, 40_000.0, 12_000.0)],
)
def test_a_known_normal_prior_gives_the_closed_form_posterior(mu, tau, y, s):
    prior = point_prior(mu, tau)
    weights, means, variances = effect_posterior(prior, np.array([y]), np.array([s]))
    precision = 1 / tau**2 + 1 / s**2
    assert weights.tolist() == [1.0]
    assert means[0, 0] == pytest.approx((mu / tau**2 + y / s**2) / precision, rel=1e-12)
    assert variances[0, 0] == pytest.approx(1 / precision, rel=1e-12)
    weight = pilot_weight(prior, np.array([y]), np.array([s]))[0]
    assert weight == pytest.approx(tau**2 / (tau**2 + s**2), rel=1e-12)

    prediction = predict_at_scale(calibration_with(prior), "experiment", y, s)
    sd = math.sqrt(1 / precision)
    assert prediction.mean == pytest.approx(means[0, 0], rel=1e-12)
    assert prediction.low == pytest.approx(means[0, 0] - Z90 * sd, rel=1e-9, abs=1e-9 * sd)
    assert prediction.high == pytest.approx(means[0, 0] + Z90 * sd, rel=1e-9, abs=1e-9 * sd)
    assert prediction.pilot_weight == pytest.approx(weight)


def test_a_known_ratio_and_extra_variance_scale_the_closed_form():
    prior = point_prior(0.2, 0.15)
    ratio = known_ratio(0.6, extra_sd=0.05)
    prediction = predict_at_scale(calibration_with(prior, ratio), "experiment", 0.5, 0.1)
    precision = 1 / 0.15**2 + 1 / 0.1**2
    mean = (0.2 / 0.15**2 + 0.5 / 0.1**2) / precision
    sd = math.sqrt(0.6**2 / precision + 0.05**2)
    assert prediction.mean == pytest.approx(0.6 * mean, rel=1e-12)
    assert (prediction.low, prediction.high) == pytest.approx(
        (0.6 * mean - Z90 * sd, 0.6 * mean + Z90 * sd), rel=1e-9
    )


def test_mixture_quantiles_match_a_normal_and_a_two_point_mixture():
    assert mixture_quantiles([1.0], [3.0], [2.0], [0.05, 0.5, 0.95]) == pytest.approx(
        stats.norm.ppf([0.05, 0.5, 0.95], 3.0, 2.0), rel=1e-10
    )
    # an equal mixture of N(-5, 1) and N(5, 1): the median is 0 by symmetry
    weights, means, sds = [0.5, 0.5], [-5.0, 5.0], [1.0, 1.0]
    low, middle, high = mixture_quantiles(weights, means, sds, [0.05, 0.5, 0.95])
    assert middle == pytest.approx(0.0, abs=1e-9)
    assert 0.5 * stats.norm.cdf(high, -5, 1) + 0.5 * stats.norm.cdf(high, 5, 1) == pytest.approx(
        0.95, abs=1e-12
    )
    assert low == pytest.approx(-high, rel=1e-9)


# -- the hierarchical prior ---------------------------------------------------------------


def brute_force_posterior_means(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``E[theta_i | y]`` by integrating the joint posterior of ``(mu, tau)`` on a fine grid.

    Independent of the fitted prior's algebra: flat ``mu``, uniform ``tau`` on
    ``(0, tau_max]``, the full likelihood ``prod_j N(y_j; mu, s_j^2 + tau^2)``, and the
    conjugate mean of ``theta_i`` given ``(mu, tau)``.
    """
    tau_max = tau_upper_bound(y, s)
    taus = (np.arange(1000) + 0.5) / 1000 * tau_max
    widest = np.sqrt((np.max(s) ** 2 + tau_max**2) / len(y))
    mus = np.linspace(y.min() - 8 * widest, y.max() + 8 * widest, 2001)
    chunks = np.array_split(np.arange(len(taus)), 25)
    log_joint = np.empty((len(taus), len(mus)))
    for rows in chunks:
        v = s[None, None, :] ** 2 + taus[rows, None, None] ** 2
        log_joint[rows] = (-0.5 * (y - mus[None, :, None]) ** 2 / v - 0.5 * np.log(v)).sum(axis=2)
    joint = np.exp(log_joint - log_joint.max())
    joint /= joint.sum()
    means = np.zeros(len(y))
    for rows in chunks:
        t, m = taus[rows, None, None], mus[None, :, None]
        means += np.einsum("tm,tmi->i", joint[rows], (t**2 * y + s**2 * m) / (t**2 + s**2))
    return means


@pytest.mark.parametrize("n", [3, 12, 40])
def test_the_hierarchical_posterior_matches_a_brute_force_integration(n):
    rng = np.random.default_rng(n)
    _, y, s = draw_pilots(rng, n, mu=0.2, tau=0.15, se_range=(0.05, 0.25))
    prior = fit_effect_prior(evidence(y, s), current_pilots=n)
    fitted, _ = posterior_moments(prior, y, s)
    reference = brute_force_posterior_means(y, s)
    # the prior is summarised by 24 equal-mass nodes of tau: the means agree to a small
    # fraction of each pilot's standard error
    assert np.max(np.abs(fitted - reference) / s) < 0.005


def test_one_pilot_speaks_for_itself_and_no_pilot_gives_a_flat_prior():
    prior = fit_effect_prior(evidence([0.4], [0.1]), current_pilots=1)
    mean, variance = posterior_moments(prior, np.array([0.4]), np.array([0.1]))
    assert mean[0] == pytest.approx(0.4, rel=1e-9)
    assert variance[0] == pytest.approx(0.01, rel=1e-6)

    flat = fit_effect_prior([], current_pilots=0)
    assert flat.flat
    mean, variance = posterior_moments(flat, np.array([0.4]), np.array([0.1]))
    assert (mean[0], variance[0]) == pytest.approx((0.4, 0.01))
    assert pilot_weight(flat, np.array([0.4]), np.array([0.1]))[0] == 1.0


def test_shrinkage_follows_precision_and_weights_lie_in_zero_one():
    rng = np.random.default_rng(7)
    _, y, s = draw_pilots(rng, 30, mu=0.2, tau=0.1, se_range=(0.02, 0.4))
    prior = fit_effect_prior(evidence(y, s), current_pilots=30)
    weights = pilot_weight(prior, y, s)
    assert np.all((weights >= 0) & (weights <= 1))
    order = np.argsort(s)
    assert np.all(np.diff(weights[order]) <= 1e-12)  # a noisier pilot never weighs more
    means, _ = posterior_moments(prior, y, s)
    centre = float(np.average(y, weights=1 / (s**2 + 0.1**2)))
    assert np.all(np.abs(means - centre) <= np.abs(y - centre) + 1e-12)  # towards the centre


def test_the_90_percent_intervals_cover_the_true_effects_90_percent_of_the_time():
    """Frequentist check of the Bayesian intervals when the model holds (known truth)."""
    rng = np.random.default_rng(2026)
    replications, n = 150, 20
    shares = []
    for _ in range(replications):
        theta, y, s = draw_pilots(rng, n, mu=0.2, tau=0.15, se_range=(0.05, 0.3))
        calibration = calibration_with(fit_effect_prior(evidence(y, s), current_pilots=n))
        covered = [
            (p := predict_at_scale(calibration, "experiment", yi, si)).low <= ti <= p.high
            for ti, yi, si in zip(theta, y, s, strict=True)
        ]
        shares.append(np.mean(covered))
    coverage = float(np.mean(shares))
    standard_error = float(np.std(shares, ddof=1) / math.sqrt(replications))
    assert abs(coverage - 0.90) < max(4 * standard_error, 0.01), (coverage, standard_error)
