"""The posterior predictive of a pilot's effect at scale: its mean, 5th and 95th percentiles,
and the probability that it is positive.

An effect that is null in the pilot (the prior's spike) stays 0 at scale: a point mass
at 0 with the pilot's posterior probability of a null. Otherwise ``phi = b * theta +
eta``: the slab part of the pilot's posterior of ``theta`` (a normal mixture over the
prior's nodes), times the method's ratio ``b`` (mixed over its equal-mass nodes), plus
the extra variance at scale. Each (prior node, ratio node) pair is one normal component
``N(b m, b^2 v + extra_sd^2)``; quantiles are found by Brent's method on the mixture's
distribution function (the point mass included), bracketed by the components' means
+-10 SDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from impact_assets.calibration.assumptions import INTERVAL_PROBABILITIES
from impact_assets.calibration.prior import effect_posterior, pilot_weight
from impact_assets.contracts.calibration import Calibration, EffectPrior, MethodRatio

# Brent's method stops within this share of the bracket's width: a bisection needs 43
# steps to get there, Brent's method about ten evaluations.
_RELATIVE_TOLERANCE = 1e-13


@dataclass(frozen=True)
class ScalePrediction:
    """The predictive distribution of one initiative's true effect at scale, in currency."""

    mean: float
    low: float  # INTERVAL_PROBABILITIES[0] quantile (widened to the mean, see predict_at_scale)
    high: float  # INTERVAL_PROBABILITIES[1] quantile (idem)
    probability_positive: float  # P(true effect at scale > 0)
    pilot_weight: float  # the weight of the pilot's evidence against the prior, in [0, 1]


@dataclass(frozen=True)
class ScaleMixture:
    """The predictive: ``null`` x a point mass at 0 + ``sum_k weights_k N(means_k, sds_k^2)``."""

    null: float
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.weights @ self.means)

    def probability_positive(self) -> float:
        """``P(phi > 0)``: the point mass at 0 counts as not positive."""
        sds = np.maximum(self.sds, 1e-300)
        return float(np.clip(ndtr(self.means / sds) @ self.weights, 0.0, 1.0))


def mixture_quantiles(
    weights: np.ndarray,
    means: np.ndarray,
    sds: np.ndarray,
    levels: Sequence[float],
    null: float = 0.0,
) -> np.ndarray:
    """Quantiles of ``null`` x a point mass at 0 plus ``sum_k weights_k N(means_k, sds_k^2)``.

    A level that falls inside the point mass's jump gets exactly 0.
    """
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    sds = np.maximum(np.asarray(sds, dtype=float), 1e-300)
    levels = np.asarray(levels, dtype=float)

    def cdf(x: float) -> float:
        return float(ndtr((x - means) / sds) @ weights) + null * (x >= 0)

    low = min(float(np.min(means - 10 * sds)), 0.0)
    high = max(float(np.max(means + 10 * sds)), 0.0)
    tolerance = _RELATIVE_TOLERANCE * (high - low)
    quantiles = np.array(
        [
            brentq(lambda x, level=level: cdf(x) - level, low, high, xtol=tolerance)
            if cdf(low) < level < cdf(high)
            else (low if level <= cdf(low) else high)
            for level in levels
        ]
    )
    if null > 0:
        before = float(ndtr(-means / sds) @ weights)
        quantiles = np.where((levels > before) & (levels <= before + null), 0.0, quantiles)
    return quantiles


def scale_mixture(
    prior: EffectPrior, ratio: MethodRatio, estimate: float, se: float
) -> ScaleMixture:
    """The predictive mixture of the effect at scale of one pilot."""
    posterior = effect_posterior(prior, np.array([estimate]), np.array([se]))
    nodes = np.asarray(ratio.ratio_nodes)[:, None]
    weights = np.broadcast_to(
        posterior.weights[0][None, :] / len(nodes), (len(nodes), posterior.weights.shape[1])
    )
    means = (nodes * posterior.means[0][None, :]).ravel()
    variances = (nodes**2 * posterior.variances[0][None, :] + ratio.extra_sd**2).ravel()
    return ScaleMixture(float(posterior.null[0]), weights.ravel(), means, np.sqrt(variances))


def predict_at_scale(
    calibration: Calibration, method: str, estimate: float, se: float
) -> ScalePrediction:
    """The predictive mean, central 90% interval and ``P(> 0)`` of a pilot's effect at scale.

    When most of the predictive sits on one point (a near-certain null: more than 95%
    of it at 0) both percentiles are that point and the mean lies outside them; the
    interval is then widened to reach the mean, so ``low <= mean <= high`` always holds
    and the interval still holds at least 90% of the predictive.
    """
    mixture = scale_mixture(calibration.prior, calibration.ratio_for(method), estimate, se)
    low, high = mixture_quantiles(
        mixture.weights, mixture.means, mixture.sds, INTERVAL_PROBABILITIES, mixture.null
    )
    mean = mixture.mean
    weight = float(pilot_weight(calibration.prior, np.array([estimate]), np.array([se]))[0])
    return ScalePrediction(
        mean=mean,
        low=min(float(low), mean),
        high=max(float(high), mean),
        probability_positive=mixture.probability_positive(),
        pilot_weight=weight,
    )
