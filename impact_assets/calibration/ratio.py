"""The ratio of the effect at scale to the pilot's, per method, learnt from the history's pairs.

The model, in currency: an initiative with no effect in its pilot (``theta_i = 0``, the
prior's spike) has none at scale; any other has ``phi_i = b * theta_i + eta_i``,
``eta_i ~ N(0, omega^2)`` (the true effect at scale); ``z_i ~ N(phi_i, t_i^2)`` (the
scale estimate). ``b`` and ``omega`` are learnt from the likelihood of each scale
estimate given its pilot,

    z_i | y_i, b, omega ~ p_i N(0, t_i^2) + (1 - p_i) N(b m_i, b^2 v_i + omega^2 + t_i^2),

where ``p_i`` is the pilot's posterior probability of a null effect and ``N(m_i, v_i)``
its posterior if the effect is real (the slab part's mean and variance), both under the
effect-size prior. Conditioning on the pilot corrects for the pilot's noise
(attenuation), and since pairs exist only for initiatives selected on their pilots,
conditioning on the pilot is also what keeps the selection from biasing ``b``; keeping
the nulls apart is what keeps a population of many nulls from biasing it (a normal
prior shrinks the real effects too far there, and ``b`` grows to make up for it). The
posterior of ``(b, omega)`` is computed on a grid, with the priors of
:mod:`.assumptions`; with no pair it is the prior: the neutral ratio 1 with wide
uncertainty.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from impact_assets.calibration.assumptions import (
    EXTRA_SD_GRID,
    EXTRA_SD_PRIOR_SHARE,
    RATIO_GRID,
    RATIO_NODES,
    RATIO_PRIOR_MEAN,
    RATIO_PRIOR_SD,
    RATIO_ZOOM_POINTS,
    RATIO_ZOOM_TAIL,
)
from impact_assets.calibration.prior import PilotPosterior, equal_mass_nodes
from impact_assets.contracts.calibration import MethodRatio

# Pairs are added to the log-likelihood in chunks, so memory stays flat for large histories.
_CHUNK = 256


def _log_prior(ratios: np.ndarray, extras: np.ndarray, reference: float) -> np.ndarray:
    extra_scale = EXTRA_SD_PRIOR_SHARE * reference
    log_prior_extra = (
        stats.halfnorm.logpdf(extras, scale=extra_scale) if extra_scale > 0 else np.zeros(1)
    )
    return (
        stats.norm.logpdf(ratios, RATIO_PRIOR_MEAN, RATIO_PRIOR_SD)[:, None]
        + log_prior_extra[None, :]
    )


def pairs_log_likelihood(
    ratios: np.ndarray,
    extras: np.ndarray,
    null_probabilities: np.ndarray,
    slab_means: np.ndarray,
    slab_variances: np.ndarray,
    scale_estimates: np.ndarray,
    scale_ses: np.ndarray,
) -> np.ndarray:
    """``sum_i log p(z_i | y_i, b, omega)`` on the grid ``(ratio, extra SD)``, for pilot
    posteriors given as a null probability and the slab's mean and variance."""
    total = np.zeros((len(ratios), len(extras)))
    b = ratios[:, None, None]
    extra_variance = extras[None, :, None] ** 2
    for start in range(0, len(scale_estimates), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        z = scale_estimates[chunk]
        t2 = np.maximum(scale_ses[chunk] ** 2, 1e-300)
        variances = b**2 * slab_variances[chunk] + extra_variance + t2
        slab_share = np.maximum(1.0 - null_probabilities[chunk], 1e-300)
        log_slab = np.log(slab_share) - 0.5 * (
            (z - b * slab_means[chunk]) ** 2 / variances + np.log(2 * np.pi * variances)
        )
        with np.errstate(divide="ignore"):
            log_null = np.log(null_probabilities[chunk]) - 0.5 * (
                z**2 / t2 + np.log(2 * np.pi * t2)
            )
        total += np.logaddexp(log_slab, log_null).sum(axis=2)
    return total


def _normalised(log_posterior: np.ndarray) -> np.ndarray:
    probabilities = np.exp(log_posterior - log_posterior.max())
    return probabilities / probabilities.sum()


def _mass_box(grid: np.ndarray, marginal: np.ndarray, bounds: tuple[float, float]):
    """Where ``marginal`` has its mass, widened by half its width at each end."""
    cumulative = np.cumsum(marginal)
    low = grid[max(int(np.searchsorted(cumulative, RATIO_ZOOM_TAIL)) - 1, 0)]
    high = grid[min(int(np.searchsorted(cumulative, 1 - RATIO_ZOOM_TAIL)) + 1, len(grid) - 1)]
    width = (high - low) / 2
    return max(bounds[0], low - width), min(bounds[1], high + width)


def ratio_posterior(
    posterior: PilotPosterior,
    scale_estimates: np.ndarray,
    scale_ses: np.ndarray,
    reference: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ratio grid, extra-SD grid, posterior probabilities (ratio x extra SD))``.

    ``posterior`` is the pairs' pilots seen through the effect-size prior;
    ``reference`` (currency, the prior's root-mean-square effect) sets the extra SD's
    prior scale and grid. Two passes: the pilots' posteriors collapsed over the prior's
    nodes, on the whole grid, find where the mass is; then, on a finer grid around it,
    the exact likelihood integrates the prior's nodes outside the product over pairs.
    The nodes are shared by every pair: collapsing them pair by pair would treat what
    the prior does not know as independent noise, and the ratio's interval would be
    too narrow (measured: a 90% interval covering 81% of the time).
    """
    ratios = np.linspace(*RATIO_GRID)
    if EXTRA_SD_PRIOR_SHARE * reference > 0:
        low, high, points = EXTRA_SD_GRID
        extras = np.linspace(low, high, points) * reference
    else:
        extras = np.zeros(1)
    log_prior = _log_prior(ratios, extras, reference)
    if len(scale_estimates) == 0:
        return ratios, extras, _normalised(log_prior)

    slab_means, slab_variances = posterior.slab_moments()
    collapsed = _normalised(
        log_prior
        + pairs_log_likelihood(
            ratios, extras, posterior.null, slab_means, slab_variances, scale_estimates, scale_ses
        )
    )
    ratio_box = _mass_box(ratios, collapsed.sum(axis=1), (ratios[0], ratios[-1]))
    ratios = np.linspace(*ratio_box, RATIO_ZOOM_POINTS[0])
    if len(extras) > 1:
        extra_box = _mass_box(extras, collapsed.sum(axis=0), (0.0, extras[-1]))
        extras = np.linspace(0.0, extra_box[1], RATIO_ZOOM_POINTS[1])

    node_weights = posterior.node_weights
    by_node = []
    for node, weight in enumerate(node_weights):
        null = np.clip(1.0 - posterior.weights[:, node] / weight, 0.0, 1.0)
        by_node.append(
            np.log(weight)
            + pairs_log_likelihood(
                ratios,
                extras,
                null,
                posterior.means[:, node],
                posterior.variances[:, node],
                scale_estimates,
                scale_ses,
            )
        )
    log_likelihood = np.logaddexp.reduce(np.array(by_node), axis=0)
    return ratios, extras, _normalised(_log_prior(ratios, extras, reference) + log_likelihood)


def _quantile(grid: np.ndarray, probabilities: np.ndarray, level: float) -> float:
    cumulative = np.cumsum(probabilities) - probabilities / 2
    return float(np.interp(level, cumulative, grid))


def fit_method_ratio(
    method: str,
    posterior: PilotPosterior,
    scale_estimates: np.ndarray,
    scale_ses: np.ndarray,
    reference: float,
) -> MethodRatio:
    """The posterior of one method's ratio and extra SD at scale, from its pairs (maybe none)."""
    ratios, extras, probabilities = ratio_posterior(
        posterior,
        np.asarray(scale_estimates, dtype=float),
        np.asarray(scale_ses, dtype=float),
        reference,
    )
    marginal = probabilities.sum(axis=1)
    mean = float(marginal @ ratios)
    sd = float(np.sqrt(max(marginal @ ratios**2 - mean**2, 0.0)))
    return MethodRatio(
        method=method,
        pairs=len(scale_estimates),
        ratio_mean=mean,
        ratio_sd=sd,
        ratio_low=_quantile(ratios, marginal, 0.05),
        ratio_high=_quantile(ratios, marginal, 0.95),
        ratio_nodes=equal_mass_nodes(ratios, marginal, RATIO_NODES).tolist(),
        extra_sd=float(np.sqrt(probabilities.sum(axis=0) @ extras**2)),
    )


def neutral_ratio(reference: float, method: str = "neutral") -> MethodRatio:
    """The ratio before any pair: the prior, centred on 1."""
    empty = np.zeros(0)
    no_pilots = PilotPosterior(
        empty, np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 1)), np.ones(1)
    )
    return fit_method_ratio(method, no_pilots, empty, empty, reference)
