"""The ratio of the effect at scale to the pilot's, per method, learnt from the history's pairs.

The model, in currency: ``phi_i = b * theta_i + eta_i``, ``eta_i ~ N(0, omega^2)`` (the
true effect at scale), ``z_i ~ N(phi_i, t_i^2)`` (the scale estimate). ``b`` and
``omega`` are learnt from the likelihood of each scale estimate given its pilot,

    z_i | y_i, b, omega ~ N(b m_i, b^2 v_i + omega^2 + t_i^2),

where ``N(m_i, v_i)`` is the pilot's posterior under the effect-size prior (its mean and
variance). Conditioning on the pilot corrects for the pilot's noise (attenuation), and
since pairs exist only for initiatives selected on their pilots, conditioning on the
pilot is also what keeps the selection from biasing ``b``. The posterior of
``(b, omega)`` is computed on a grid, with the priors of :mod:`.assumptions`; with no
pair it is the prior: the neutral ratio 1 with wide uncertainty.
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
)
from impact_assets.calibration.prior import equal_mass_nodes
from impact_assets.contracts.calibration import MethodRatio

# Pairs are added to the log-likelihood in chunks, so memory stays flat for large histories.
_CHUNK = 256


def ratio_posterior(
    posterior_means: np.ndarray,
    posterior_variances: np.ndarray,
    scale_estimates: np.ndarray,
    scale_ses: np.ndarray,
    reference: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ratio grid, extra-SD grid, posterior probabilities (ratio x extra SD))``.

    ``reference`` (currency, the prior's root-mean-square effect) sets the extra SD's
    prior scale and grid.
    """
    ratios = np.linspace(*RATIO_GRID)
    extra_scale = EXTRA_SD_PRIOR_SHARE * reference
    if extra_scale > 0:
        low, high, points = EXTRA_SD_GRID
        extras = np.linspace(low, high, points) * reference
        log_prior_extra = stats.halfnorm.logpdf(extras, scale=extra_scale)
    else:
        extras = np.zeros(1)
        log_prior_extra = np.zeros(1)
    log_posterior = (
        stats.norm.logpdf(ratios, RATIO_PRIOR_MEAN, RATIO_PRIOR_SD)[:, None]
        + log_prior_extra[None, :]
    )
    b = ratios[:, None, None]
    extra_variance = extras[None, :, None] ** 2
    for start in range(0, len(scale_estimates), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        means = b * posterior_means[None, None, chunk]
        variances = (
            b**2 * posterior_variances[None, None, chunk]
            + extra_variance
            + scale_ses[None, None, chunk] ** 2
        )
        variances = np.maximum(variances, 1e-300)
        log_posterior += (
            -0.5 * (scale_estimates[None, None, chunk] - means) ** 2 / variances
            - 0.5 * np.log(2 * np.pi * variances)
        ).sum(axis=2)
    probabilities = np.exp(log_posterior - log_posterior.max())
    return ratios, extras, probabilities / probabilities.sum()


def _quantile(grid: np.ndarray, probabilities: np.ndarray, level: float) -> float:
    cumulative = np.cumsum(probabilities) - probabilities / 2
    return float(np.interp(level, cumulative, grid))


def fit_method_ratio(
    method: str,
    posterior_means: np.ndarray,
    posterior_variances: np.ndarray,
    scale_estimates: np.ndarray,
    scale_ses: np.ndarray,
    reference: float,
) -> MethodRatio:
    """The posterior of one method's ratio and extra SD at scale, from its pairs (maybe none)."""
    ratios, extras, probabilities = ratio_posterior(
        np.asarray(posterior_means, dtype=float),
        np.asarray(posterior_variances, dtype=float),
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
    return fit_method_ratio(method, empty, empty, empty, empty, reference)
