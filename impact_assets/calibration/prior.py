"""The effect-size prior: a hierarchical normal model of pilot effects in currency.

``theta_i ~ N(mu, tau^2)`` (the true pilot effects), ``y_i ~ N(theta_i, s_i^2)`` (the
pilot estimates, ``s_i`` their standard errors). ``mu`` has a flat prior and ``tau`` a
uniform one on ``(0, tau_max]``; both are integrated out rather than plugged in, so a
prior learnt from a dozen pilots is as uncertain as it should be. Given ``tau``:

    mu | y, tau      ~ N(mu_hat, V_mu),   mu_hat = sum w_i y_i / sum w_i,  V_mu = 1 / sum w_i,
                                          w_i = 1 / (s_i^2 + tau^2)
    p(tau | y)       ~ prod_i N(y_i; mu_hat, s_i^2 + tau^2) * sqrt(V_mu)     (the restricted
                                                                             likelihood)
    theta_i | y, tau ~ N(B_i mu_hat + (1 - B_i) y_i,  (1 - B_i) s_i^2 + B_i^2 V_mu),
                                          B_i = s_i^2 / (s_i^2 + tau^2)

and ``theta_i | y`` mixes these over ``p(tau | y)``. With ``tau`` known and ``V_mu = 0``
this is the conjugate normal-normal posterior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from impact_assets.calibration.assumptions import TAU_GRID_POINTS, TAU_NODES
from impact_assets.calibration.pilots import PilotEvidence
from impact_assets.contracts.calibration import EffectPrior


def tau_upper_bound(estimates: np.ndarray, ses: np.ndarray) -> float:
    """``tau_max = 2 x (largest |estimate - median| + 2 x largest standard error)``.

    Wide enough that the data decide ``tau`` once there are a few pilots; with one or
    two it keeps large values of ``tau`` (little shrinkage) plausible.
    """
    spread = float(np.max(np.abs(estimates - np.median(estimates)))) + 2 * float(np.max(ses))
    floor = 1e-12 * (1.0 + float(np.max(np.abs(estimates))))
    return 2 * max(spread, floor)


def tau_posterior(
    estimates: np.ndarray, ses: np.ndarray, points: int = TAU_GRID_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """``(tau grid, posterior probabilities)``: the midpoints of ``points`` equal cells."""
    taus = (np.arange(points) + 0.5) / points * tau_upper_bound(estimates, ses)
    variances = ses[None, :] ** 2 + taus[:, None] ** 2
    weights = 1.0 / variances
    mu_variance = 1.0 / weights.sum(axis=1)
    mu_hat = (weights * estimates[None, :]).sum(axis=1) * mu_variance
    log_likelihood = (
        -0.5 * (weights * (estimates[None, :] - mu_hat[:, None]) ** 2).sum(axis=1)
        - 0.5 * np.log(variances).sum(axis=1)
        + 0.5 * np.log(mu_variance)
    )
    probabilities = np.exp(log_likelihood - log_likelihood.max())
    return taus, probabilities / probabilities.sum()


def _mu_given_tau(
    estimates: np.ndarray, ses: np.ndarray, taus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    weights = 1.0 / (ses[None, :] ** 2 + taus[:, None] ** 2)
    mu_variance = 1.0 / weights.sum(axis=1)
    return (weights * estimates[None, :]).sum(axis=1) * mu_variance, mu_variance


def equal_mass_nodes(grid: np.ndarray, probabilities: np.ndarray, nodes: int) -> np.ndarray:
    """``nodes`` points splitting a distribution on ``grid`` into equal masses (their medians)."""
    cumulative = np.cumsum(probabilities) - probabilities / 2
    levels = (np.arange(nodes) + 0.5) / nodes
    return np.interp(levels, cumulative, grid)


def fit_effect_prior(pilots: Sequence[PilotEvidence], current_pilots: int) -> EffectPrior:
    """The hierarchical normal prior fitted on ``pilots`` (flat when there are none)."""
    if not pilots:
        return EffectPrior([], [], [], [], pilots=0, current_pilots=0)
    estimates = np.array([p.estimate for p in pilots], dtype=float)
    ses = np.array([p.se for p in pilots], dtype=float)
    taus, probabilities = tau_posterior(estimates, ses)
    nodes = equal_mass_nodes(taus, probabilities, TAU_NODES)
    mu_hat, mu_variance = _mu_given_tau(estimates, ses, nodes)
    return EffectPrior(
        tau_nodes=nodes.tolist(),
        tau_weights=[1.0 / TAU_NODES] * TAU_NODES,
        mu_means=mu_hat.tolist(),
        mu_variances=mu_variance.tolist(),
        pilots=len(pilots),
        current_pilots=current_pilots,
    )


def point_prior(mu: float, tau: float) -> EffectPrior:
    """A known ``N(mu, tau^2)`` prior (the conjugate case)."""
    return EffectPrior([float(tau)], [1.0], [float(mu)], [0.0], pilots=0, current_pilots=0)


def effect_posterior(
    prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pilot's posterior of its true effect, as a normal mixture over the tau nodes.

    Returns ``(weights, means, variances)``: weights ``(nodes,)``, the others
    ``(pilots, nodes)``. A flat prior gives ``N(estimate, se^2)``.
    """
    estimates = np.atleast_1d(np.asarray(estimates, dtype=float))
    ses = np.atleast_1d(np.asarray(ses, dtype=float))
    if prior.flat:
        return np.ones(1), estimates[:, None].copy(), ses[:, None] ** 2
    taus = np.asarray(prior.tau_nodes)
    shrink = ses[:, None] ** 2 / (ses[:, None] ** 2 + taus[None, :] ** 2)
    means = shrink * np.asarray(prior.mu_means)[None, :] + (1 - shrink) * estimates[:, None]
    variances = (1 - shrink) * ses[:, None] ** 2 + shrink**2 * np.asarray(prior.mu_variances)
    return np.asarray(prior.tau_weights), means, variances


def posterior_moments(
    prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each pilot's posterior mean and variance of its true effect."""
    weights, means, variances = effect_posterior(prior, estimates, ses)
    mean = means @ weights
    second = (variances + means**2) @ weights
    return mean, np.maximum(second - mean**2, 0.0)


def new_effect_moments(prior: EffectPrior) -> tuple[float, float]:
    """Mean and variance of a new initiative's effect under the prior (inf when flat)."""
    if prior.flat:
        return 0.0, float("inf")
    weights = np.asarray(prior.tau_weights)
    means = np.asarray(prior.mu_means)
    variances = np.asarray(prior.tau_nodes) ** 2 + np.asarray(prior.mu_variances)
    mean = float(weights @ means)
    return mean, float(weights @ (variances + means**2) - mean**2)


def pilot_weight(prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray) -> np.ndarray:
    """The weight each pilot's evidence receives against the prior, in [0, 1].

    ``E[tau^2 / (tau^2 + s_i^2) | data]``: the coefficient of the pilot's own estimate in
    its posterior mean (the rest goes to the prior's mean), averaged over ``tau``. In the
    conjugate case it is ``tau^2 / (tau^2 + s_i^2)``, the pilot's share of the posterior
    precision. A more precise pilot never weighs less; 1 under a flat prior.
    """
    ses = np.atleast_1d(np.asarray(ses, dtype=float))
    if prior.flat:
        return np.ones_like(ses)
    taus = np.asarray(prior.tau_nodes)
    shares = taus[None, :] ** 2 / (taus[None, :] ** 2 + ses[:, None] ** 2)
    return np.clip(shares @ np.asarray(prior.tau_weights), 0.0, 1.0)
