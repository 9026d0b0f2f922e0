"""The effect-size prior and the predictive: closed forms, independent integrations, coverage.

Coverage checks the frequentist behaviour of the Bayesian intervals where the model
holds: on normal populations, and on populations where many effects are exactly 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from synthetic import draw_pilots, draw_spike_and_slab, evidence

from impact_assets.calibration.assumptions import INTERVAL_PROBABILITIES, NO_NULLS_PRIOR
from impact_assets.calibration.predictive import mixture_quantiles, predict_at_scale
from impact_assets.calibration.prior import (
    effect_posterior,
    fit_effect_prior,
    normal_prior,
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
    posterior = effect_posterior(prior, np.array([y]), np.array([s]))
    means, variances = posterior.means, posterior.variances
    precision = 1 / tau**2 + 1 / s**2
    assert posterior.weights.tolist() == [[1.0]] and posterior.null.tolist() == [0.0]
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
def test_the_normal_prior_matches_a_brute_force_integration(n):
    """The normal prior (used below five pilots) against a grid over ``(mu, tau)``."""
    rng = np.random.default_rng(n)
    _, y, s = draw_pilots(rng, n, mu=0.2, tau=0.15, se_range=(0.05, 0.25))
    prior = normal_prior(evidence(y, s), current_pilots=n)
    fitted, _ = posterior_moments(prior, y, s)
    reference = brute_force_posterior_means(y, s)
    # the prior is summarised by 24 equal-mass nodes of tau: the means agree to a small
    # fraction of each pilot's standard error
    assert np.max(np.abs(fitted - reference) / s) < 0.005


def brute_force_spike_and_slab(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``E[theta_i | y]`` and ``SD[theta_i | y]`` under the spike and slab, on a fixed fine
    grid of ``(pi, mu, tau)``: ``pi = 0`` with prior mass ``NO_NULLS_PRIOR``, else 60
    equal cells of (0, 1); ``mu`` in median +- tau_max and ``tau`` in (0, tau_max], 400 and
    300 cells; the full likelihood, and each pilot's posterior given them. None of the
    fit's zooming or nodes."""
    tau_max, centre = tau_upper_bound(y, s), float(np.median(y))
    pis = np.concatenate([[0.0], (np.arange(60) + 0.5) / 60])
    log_share_prior = np.log(np.concatenate([[NO_NULLS_PRIOR], [(1 - NO_NULLS_PRIOR) / 60] * 60]))
    mus = centre - tau_max + (np.arange(400) + 0.5) / 400 * 2 * tau_max
    taus = (np.arange(300) + 0.5) / 300 * tau_max
    with np.errstate(divide="ignore"):
        log_pis = np.log(pis)[:, None, None]
    log_null = stats.norm.logpdf(y, 0.0, s)
    log_joint = np.zeros((61, 400, 300)) + log_share_prior[:, None, None]
    for yi, si, null_i in zip(y, s, log_null, strict=True):
        log_slab = stats.norm.logpdf(yi, mus[:, None], np.sqrt(si**2 + taus[None, :] ** 2))
        log_joint += np.logaddexp(log_pis + null_i, np.log1p(-pis)[:, None, None] + log_slab[None])
    joint = np.exp(log_joint - log_joint.max())
    joint /= joint.sum()
    means, seconds = np.zeros(len(y)), np.zeros(len(y))
    for i, (yi, si, null_i) in enumerate(zip(y, s, log_null, strict=True)):
        log_slab = stats.norm.logpdf(yi, mus[:, None], np.sqrt(si**2 + taus[None, :] ** 2))
        slab = np.exp(
            np.log1p(-pis)[:, None, None] + log_slab[None]
            - np.logaddexp(log_pis + null_i, np.log1p(-pis)[:, None, None] + log_slab[None])
        )  # fmt: skip
        shrink = si**2 / (si**2 + taus[None, :] ** 2)
        mean = shrink * mus[:, None] + (1 - shrink) * yi
        means[i] = (joint * slab * mean[None]).sum()
        seconds[i] = (joint * slab * ((1 - shrink) * si**2 + mean**2)[None]).sum()
    return means, np.sqrt(seconds - means**2)


@pytest.mark.parametrize(("n", "null_share"), [(12, 0.4), (20, 0.0), (20, 0.5), (40, 0.7)])
def test_the_spike_and_slab_prior_matches_a_brute_force_integration(n, null_share):
    """The fitted prior (zoomed grids, then 48 nodes) against a fixed fine grid.

    A posterior mean off by d posterior SDs moves a central 90% interval's coverage by
    at most Phi(1.645 - d) - Phi(-1.645 - d) - 0.9: 0.7 points for d = 0.2, the
    tolerance (the 48 nodes quantise a posterior of three parameters)."""
    rng = np.random.default_rng(n + int(10 * null_share))
    _, y, s = draw_spike_and_slab(rng, n, null_share, mu=0.2, tau=0.15, se_range=(0.05, 0.25))
    prior = fit_effect_prior(evidence(y, s), current_pilots=n)
    assert len(prior.null_shares) == len(prior.tau_nodes)  # the spike is in the prior
    fitted, _ = posterior_moments(prior, y, s)
    reference, sd = brute_force_spike_and_slab(y, s)
    assert np.max(np.abs(fitted - reference) / sd) < 0.2


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
    # each posterior mean mixes the pilot's estimate, 0 (the spike) and the slab's means
    means, _ = posterior_moments(prior, y, s)
    low = np.minimum(np.minimum(y, 0.0), min(prior.mu_means))
    high = np.maximum(np.maximum(y, 0.0), max(prior.mu_means))
    assert np.all((low - 1e-12 <= means) & (means <= high + 1e-12))
    # under the normal prior (a few pilots) each moves towards the weighted centre
    normal = normal_prior(evidence(y, s), current_pilots=30)
    means, _ = posterior_moments(normal, y, s)
    centre = float(np.average(y, weights=1 / (s**2 + 0.1**2)))
    assert np.all(np.abs(means - centre) <= np.abs(y - centre) + 1e-12)


@pytest.mark.parametrize("null_share", [0.0, 0.5])
def test_the_90_percent_intervals_cover_the_true_effects_90_percent_of_the_time(null_share):
    """Frequentist check of the Bayesian intervals when the model holds (known truth):
    a normal population, and one where half the effects are exactly 0."""
    rng = np.random.default_rng(2026)
    replications, n = 150, 20
    shares = []
    for _ in range(replications):
        theta, y, s = draw_spike_and_slab(rng, n, null_share, 0.2, 0.15, (0.05, 0.3))
        calibration = calibration_with(fit_effect_prior(evidence(y, s), current_pilots=n))
        covered = [
            (p := predict_at_scale(calibration, "experiment", yi, si)).low <= ti <= p.high
            for ti, yi, si in zip(theta, y, s, strict=True)
        ]
        shares.append(np.mean(covered))
    coverage = float(np.mean(shares))
    standard_error = float(np.std(shares, ddof=1) / math.sqrt(replications))
    assert abs(coverage - 0.90) < max(4 * standard_error, 0.01), (coverage, standard_error)
