"""The posterior predictive of a pilot's effect at scale: its mean and its 5th and 95th percentiles.

``phi = b * theta + eta``: the pilot's posterior of ``theta`` (a normal mixture over the
prior's tau nodes), times the method's ratio ``b`` (mixed over its equal-mass nodes),
plus the extra variance at scale. Each (tau node, ratio node) pair is one normal
component ``N(b m, b^2 v + extra_sd^2)``; quantiles are found by bisection on the
mixture's distribution function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from impact_assets.calibration.assumptions import INTERVAL_PROBABILITIES
from impact_assets.calibration.prior import effect_posterior, pilot_weight
from impact_assets.contracts.calibration import Calibration, EffectPrior, MethodRatio

_BISECTIONS = 80


@dataclass(frozen=True)
class ScalePrediction:
    """The predictive distribution of one initiative's true effect at scale, in currency."""

    mean: float
    low: float  # INTERVAL_PROBABILITIES[0] quantile
    high: float  # INTERVAL_PROBABILITIES[1] quantile
    pilot_weight: float  # the weight of the pilot's evidence against the prior, in [0, 1]


def mixture_quantiles(
    weights: np.ndarray, means: np.ndarray, sds: np.ndarray, levels: Sequence[float]
) -> np.ndarray:
    """Quantiles of the normal mixture ``sum_k weights_k N(means_k, sds_k^2)``."""
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    sds = np.maximum(np.asarray(sds, dtype=float), 1e-300)
    levels = np.asarray(levels, dtype=float)
    low = np.full(levels.shape, float(np.min(means - 10 * sds)))
    high = np.full(levels.shape, float(np.max(means + 10 * sds)))
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        below = ndtr((middle[:, None] - means[None, :]) / sds[None, :]) @ weights < levels
        low = np.where(below, middle, low)
        high = np.where(below, high, middle)
    return (low + high) / 2


def scale_components(
    prior: EffectPrior, ratio: MethodRatio, estimate: float, se: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights, means, sds)`` of the predictive mixture of the effect at scale."""
    tau_weights, means, variances = effect_posterior(prior, np.array([estimate]), np.array([se]))
    nodes = np.asarray(ratio.ratio_nodes)[:, None]
    weights = np.broadcast_to(tau_weights[None, :] / len(nodes), (len(nodes), len(tau_weights)))
    weights = weights.ravel()
    component_means = (nodes * means[0][None, :]).ravel()
    component_variances = (nodes**2 * variances[0][None, :] + ratio.extra_sd**2).ravel()
    return weights, component_means, np.sqrt(component_variances)


def predict_at_scale(
    calibration: Calibration, method: str, estimate: float, se: float
) -> ScalePrediction:
    """The predictive mean and central 90% interval of a pilot's effect at scale (currency)."""
    weights, means, sds = scale_components(
        calibration.prior, calibration.ratio_for(method), estimate, se
    )
    low, high = mixture_quantiles(weights, means, sds, INTERVAL_PROBABILITIES)
    mean = float(weights @ means)
    weight = float(pilot_weight(calibration.prior, np.array([estimate]), np.array([se]))[0])
    return ScalePrediction(mean=mean, low=float(low), high=float(high), pilot_weight=weight)
