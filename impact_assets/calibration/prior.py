"""The effect-size prior: a spike at zero and a normal slab, of pilot effects in currency.

``theta_i = 0`` with probability ``pi`` (an initiative that does nothing), else
``theta_i ~ N(mu, tau^2)`` (the slab); ``y_i ~ N(theta_i, s_i^2)`` (the pilot
estimates, ``s_i`` their standard errors). The null share ``pi`` is uniform on (0, 1),
``mu`` flat on ``median(y) +- tau_max`` and ``tau`` uniform on ``(0, tau_max]``; all
three are integrated out on a grid (:func:`hyper_posterior`), not plugged in, so a
prior learnt from a dozen pilots is as uncertain as it should be. Given them, a
pilot's posterior is the point mass at 0 with probability

    P(null | y_i) = pi N(y_i; 0, s_i^2) / (pi N(y_i; 0, s_i^2) + (1 - pi) N(y_i; mu, s_i^2 + tau^2))

and otherwise the conjugate ``N(B_i mu + (1 - B_i) y_i, (1 - B_i) s_i^2)``,
``B_i = s_i^2 / (s_i^2 + tau^2)``.

With fewer than ``FEW_PILOTS`` pilots no share of nulls can be learnt: the prior is
then normal (``pi = 0``), ``mu`` flat and integrated analytically, ``tau`` on a fine
grid (:func:`normal_prior`); given ``tau``,

    mu | y, tau      ~ N(mu_hat, V_mu),   mu_hat = sum w_i y_i / sum w_i,  V_mu = 1 / sum w_i,
                                          w_i = 1 / (s_i^2 + tau^2)
    p(tau | y)       ~ prod_i N(y_i; mu_hat, s_i^2 + tau^2) * sqrt(V_mu)
    theta_i | y, tau ~ N(B_i mu_hat + (1 - B_i) y_i,  (1 - B_i) s_i^2 + B_i^2 V_mu).

Both are stored the same way (:class:`EffectPrior`): equal-mass nodes of the
hyper-posterior, each a null share, a slab mean (with its variance) and a slab SD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from impact_assets.calibration.assumptions import (
    FEW_PILOTS,
    HYPER_NODES,
    NO_NULLS_PRIOR,
    NULL_SHARE_POINTS,
    QUANTISER_FLOOR,
    QUANTISER_STEPS,
    SLAB_MEAN_POINTS,
    SLAB_SD_POINTS,
    TAU_GRID_POINTS,
    TAU_NODES,
    ZOOM_PASSES,
    ZOOM_TAIL,
)
from impact_assets.calibration.pilots import PilotEvidence
from impact_assets.contracts.calibration import EffectPrior

# Pilots are added to the grid's log-likelihood in chunks, so memory stays flat (and
# the arrays of a chunk stay small enough to be fast).
_CHUNK = 64
_LOG_2PI = float(np.log(2 * np.pi))


def tau_upper_bound(estimates: np.ndarray, ses: np.ndarray) -> float:
    """``tau_max = 2 x (largest |estimate - median| + 2 x largest standard error)``.

    Wide enough that the data decide ``tau`` once there are a few pilots; with one or
    two it keeps large values of ``tau`` (little shrinkage) plausible.
    """
    spread = float(np.max(np.abs(estimates - np.median(estimates)))) + 2 * float(np.max(ses))
    floor = 1e-12 * (1.0 + float(np.max(np.abs(estimates))))
    return 2 * max(spread, floor)


def equal_mass_nodes(grid: np.ndarray, probabilities: np.ndarray, nodes: int) -> np.ndarray:
    """``nodes`` points splitting a distribution on ``grid`` into equal masses (their medians)."""
    cumulative = np.cumsum(probabilities) - probabilities / 2
    levels = (np.arange(nodes) + 0.5) / nodes
    return np.interp(levels, cumulative, grid)


# -- the normal prior (fewer than FEW_PILOTS pilots) ---------------------------------------


def tau_posterior(
    estimates: np.ndarray, ses: np.ndarray, points: int = TAU_GRID_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """``(tau grid, posterior probabilities)`` of the normal prior: the midpoints of
    ``points`` equal cells."""
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


def normal_prior(pilots: Sequence[PilotEvidence], current_pilots: int) -> EffectPrior:
    """The hierarchical normal prior (no null share) fitted on ``pilots``."""
    estimates = np.array([p.estimate for p in pilots], dtype=float)
    ses = np.array([p.se for p in pilots], dtype=float)
    taus, probabilities = tau_posterior(estimates, ses)
    nodes = equal_mass_nodes(taus, probabilities, TAU_NODES)
    weights = 1.0 / (ses[None, :] ** 2 + nodes[:, None] ** 2)
    mu_variance = 1.0 / weights.sum(axis=1)
    mu_hat = (weights * estimates[None, :]).sum(axis=1) * mu_variance
    return EffectPrior(
        tau_nodes=nodes.tolist(),
        tau_weights=[1.0 / TAU_NODES] * TAU_NODES,
        mu_means=mu_hat.tolist(),
        mu_variances=mu_variance.tolist(),
        pilots=len(pilots),
        current_pilots=current_pilots,
    )


# -- the spike-and-slab prior --------------------------------------------------------------


@dataclass(frozen=True)
class HyperGrid:
    """The posterior of ``(pi, mu, tau)`` on a grid: a slice per null share, each with its
    own ``mu`` and ``tau`` cells. ``null_shares``: ``(P,)``; ``slab_means``: ``(P, M)``;
    ``slab_sds``: ``(P, T)``; ``probabilities``: ``(P, M, T)``, summing to 1."""

    null_shares: np.ndarray
    slab_means: np.ndarray
    slab_sds: np.ndarray
    probabilities: np.ndarray


def spike_and_slab_log_likelihood(
    estimates: np.ndarray,
    ses: np.ndarray,
    null_shares: np.ndarray,
    slab_means: np.ndarray,
    slab_sds: np.ndarray,
) -> np.ndarray:
    """``sum_i log(pi N(y_i; 0, s_i^2) + (1 - pi) N(y_i; mu, s_i^2 + tau^2))`` on the
    grid: ``null_shares`` ``(P,)``, each with its own ``slab_means`` ``(P, M)`` and
    ``slab_sds`` ``(P, T)``; returns ``(P, M, T)``."""
    total = np.zeros((len(null_shares), slab_means.shape[1], slab_sds.shape[1]))
    with np.errstate(divide="ignore"):  # pi = 0: the no-nulls slice, log(0) = -inf
        log_share = np.log(null_shares)[:, None, None, None]
    log_rest = np.log1p(-null_shares)[:, None, None, None]
    means = slab_means[:, :, None, None]
    sd2 = slab_sds[:, None, :, None] ** 2
    # Everything that does not vary along the slab means is computed once per (pi, tau),
    # so the (pi, mean, tau, pilot) array takes one multiply, one add and one logaddexp.
    for start in range(0, len(estimates), _CHUNK):
        y = estimates[start : start + _CHUNK]
        s2 = np.maximum(ses[start : start + _CHUNK] ** 2, 1e-300)
        log_null = log_share - 0.5 * (y**2 / s2 + np.log(s2) + _LOG_2PI)
        variances = s2 + sd2
        log_slab = (y - means) ** 2 * (-0.5 / variances)
        log_slab += log_rest - 0.5 * (np.log(variances) + _LOG_2PI)
        total += np.logaddexp(log_null, log_slab).sum(axis=3)
    return total


def _midpoints(low: np.ndarray, high: np.ndarray, points: int) -> np.ndarray:
    """``points`` cell midpoints between each ``low`` and ``high`` (arrays of boxes)."""
    fractions = (np.arange(points) + 0.5) / points
    return low[..., None] + fractions * (high - low)[..., None]


def _mass_span(
    low: np.ndarray, high: np.ndarray, marginals: np.ndarray, bounds: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per box (rows of ``marginals``): the cells holding all but ``ZOOM_TAIL`` of its mass
    at either end, one cell wider at each end, within ``bounds``."""
    points = marginals.shape[-1]
    width = (high - low) / points
    cumulative = np.cumsum(marginals, axis=-1)
    total = np.maximum(cumulative[..., -1:], 1e-300)
    first = (cumulative / total < ZOOM_TAIL).sum(axis=-1)
    last = points - 1 - (cumulative / total > 1 - ZOOM_TAIL).sum(axis=-1) + 1
    new_low = np.maximum(bounds[0], low + (first - 1) * width)
    new_high = np.minimum(bounds[1], low + (last + 2) * width)
    return new_low, new_high


def hyper_posterior(estimates: np.ndarray, ses: np.ndarray) -> HyperGrid:
    """The posterior of the null share, the slab's mean and its SD, on zoomed grids.

    The first slice is ``pi = 0`` exactly (no nulls: the normal prior), with prior
    mass ``NO_NULLS_PRIOR``; the rest share the remaining mass uniformly over (0, 1),
    in cells equal in ``u = arcsin(sqrt(pi))`` (so they narrow towards 0 and 1, where a
    posterior crowded against a bound needs them), within a box. Each slice has its own
    box of (mean, SD), cut into equal cells: when most effects may be nulls the slab's
    mean is barely known, otherwise it is known closely, and one grid for both would
    resolve neither. A pass computes every cell, then narrows each box to the cells
    that hold its mass (one cell wider at each end); passes go on while some box
    narrows by half, at most ``ZOOM_PASSES``. A cell's probability is the likelihood at
    its midpoint times its prior mass (the priors are uniform: its volume), so cells of
    different sizes weigh correctly.
    """
    tau_max = tau_upper_bound(estimates, ses)
    centre = float(np.median(estimates))
    angle_bounds = (0.0, np.pi / 2)
    mu_bounds, tau_bounds = (centre - tau_max, centre + tau_max), (0.0, tau_max)
    slices = NULL_SHARE_POINTS + 1
    angle_box = np.array(angle_bounds)
    mu_box = np.tile(mu_bounds, (slices, 1))
    tau_box = np.tile(tau_bounds, (slices, 1))
    for _ in range(ZOOM_PASSES):
        angle_edges = np.linspace(angle_box[0], angle_box[1], NULL_SHARE_POINTS + 1)
        pis = np.concatenate([[0.0], np.sin((angle_edges[1:] + angle_edges[:-1]) / 2) ** 2])
        share_mass = np.concatenate(
            [[NO_NULLS_PRIOR], (1 - NO_NULLS_PRIOR) * np.diff(np.sin(angle_edges) ** 2)]
        )
        mus = _midpoints(mu_box[:, 0], mu_box[:, 1], SLAB_MEAN_POINTS)
        taus = _midpoints(tau_box[:, 0], tau_box[:, 1], SLAB_SD_POINTS)
        volume = share_mass * (np.diff(mu_box, axis=1) * np.diff(tau_box, axis=1))[:, 0]
        log_posterior = (
            spike_and_slab_log_likelihood(estimates, ses, pis, mus, taus)
            + np.log(np.maximum(volume, 1e-300))[:, None, None]
        )
        probabilities = np.exp(log_posterior - log_posterior.max())
        probabilities /= probabilities.sum()

        new_angle_box = np.concatenate(
            _mass_span(
                angle_box[:1], angle_box[1:], probabilities[1:].sum(axis=(1, 2))[None],
                angle_bounds,
            )
        )  # fmt: skip
        new_mu_box = np.stack(
            _mass_span(mu_box[:, 0], mu_box[:, 1], probabilities.sum(axis=2), mu_bounds), axis=1
        )
        new_tau_box = np.stack(
            _mass_span(tau_box[:, 0], tau_box[:, 1], probabilities.sum(axis=1), tau_bounds), axis=1
        )
        narrowed = (
            np.diff(new_angle_box) < 0.5 * np.diff(angle_box),
            np.diff(new_mu_box, axis=1) < 0.5 * np.diff(mu_box, axis=1),
            np.diff(new_tau_box, axis=1) < 0.5 * np.diff(tau_box, axis=1),
        )
        if not any(flags.any() for flags in narrowed):
            break
        if narrowed[0].any():
            # new null shares: each starts from the union of the boxes of the slices with mass
            held = np.flatnonzero(probabilities[1:].sum(axis=(1, 2)) > ZOOM_TAIL) + 1
            if held.size:
                union_mu = [new_mu_box[held, 0].min(), new_mu_box[held, 1].max()]
                union_tau = [new_tau_box[held, 0].min(), new_tau_box[held, 1].max()]
                new_mu_box[1:] = union_mu
                new_tau_box[1:] = union_tau
            angle_box = new_angle_box
        mu_box, tau_box = new_mu_box, new_tau_box
    return HyperGrid(pis, mus, taus, probabilities)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each point's nearest centre (squared distance, without the points' norm)."""
    return ((centres**2).sum(axis=1)[None, :] - 2 * points @ centres.T).argmin(axis=1)


def quantised_nodes(
    points: np.ndarray, masses: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """``nodes`` points standing for a discrete distribution, and their masses.

    Weighted k-means (Lloyd's iterations, ``QUANTISER_STEPS`` of them) in coordinates
    scaled by each axis's SD, started from equal-mass strata of the points sorted by
    their first coordinate: each node is the centre of mass of the cells nearest it,
    a compact region of the posterior, so smooth functions of the parameters average
    over the nodes as over the grid. Deterministic.
    """
    kept = masses > QUANTISER_FLOOR * masses.max()
    points, masses = points[kept], masses[kept] / masses[kept].sum()
    centre = masses @ points
    scale = np.sqrt(masses @ (points - centre) ** 2)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = (points - centre) / scale
    order = np.lexsort(scaled.T[::-1])
    cumulative = np.cumsum(masses[order])
    levels = (np.arange(nodes) + 0.5) / nodes
    centres = scaled[order][np.minimum(np.searchsorted(cumulative, levels), len(order) - 1)]
    for _ in range(QUANTISER_STEPS):
        nearest = _nearest(scaled, centres)
        weights = np.bincount(nearest, weights=masses, minlength=nodes)
        sums = np.stack(
            [np.bincount(nearest, weights=masses * column, minlength=nodes) for column in scaled.T],
            axis=1,
        )
        centres = np.where(
            weights[:, None] > 0, sums / np.maximum(weights, 1e-300)[:, None], centres
        )
    weights = np.bincount(_nearest(scaled, centres), weights=masses, minlength=nodes)
    used = weights > 0
    return centres[used] * scale + centre, weights[used] / weights[used].sum()


def spike_and_slab_prior(pilots: Sequence[PilotEvidence], current_pilots: int) -> EffectPrior:
    """The spike-and-slab prior fitted on ``pilots``: the grid's posterior quantised to
    ``HYPER_NODES`` nodes (:func:`quantised_nodes`) of (slab mean, null share, slab SD)."""
    estimates = np.array([p.estimate for p in pilots], dtype=float)
    ses = np.array([p.se for p in pilots], dtype=float)
    grid = hyper_posterior(estimates, ses)
    nodes, weights = [], []
    # the normal prior (pi = 0) and the spike and slab are quantised apart, each with
    # nodes in proportion to its mass, so no node blurs "no nulls" into "a few"
    parts = (slice(0, 1), slice(1, None))
    masses = np.array([grid.probabilities[part].sum() for part in parts])
    counts = np.round(HYPER_NODES * masses).astype(int)
    counts = np.where(masses > QUANTISER_FLOOR, np.maximum(counts, 1), 0)
    for part, count, mass in zip(parts, counts, masses, strict=True):
        if count == 0:
            continue
        probabilities = grid.probabilities[part]
        shape = probabilities.shape
        cells = np.stack(
            [
                np.broadcast_to(grid.slab_means[part][:, :, None], shape).ravel(),
                np.broadcast_to(grid.null_shares[part][:, None, None], shape).ravel(),
                np.broadcast_to(grid.slab_sds[part][:, None, :], shape).ravel(),
            ],
            axis=1,
        )
        part_nodes, part_weights = quantised_nodes(cells, probabilities.ravel(), count)
        nodes.append(part_nodes)
        weights.append(part_weights * mass)
    nodes = np.concatenate(nodes)
    weights = np.concatenate(weights)
    weights /= weights.sum()
    return EffectPrior(
        tau_nodes=np.maximum(nodes[:, 2], 0.0).tolist(),
        tau_weights=weights.tolist(),
        mu_means=nodes[:, 0].tolist(),
        mu_variances=[0.0] * len(weights),
        pilots=len(pilots),
        current_pilots=current_pilots,
        null_shares=np.clip(nodes[:, 1], 0.0, 1.0 - 1e-12).tolist(),
    )


def fit_effect_prior(pilots: Sequence[PilotEvidence], current_pilots: int) -> EffectPrior:
    """The prior fitted on ``pilots``: flat with none, normal with fewer than ``FEW_PILOTS``,
    else the spike and slab."""
    if not pilots:
        return EffectPrior([], [], [], [], pilots=0, current_pilots=0)
    if len(pilots) < FEW_PILOTS:
        return normal_prior(pilots, current_pilots)
    return spike_and_slab_prior(pilots, current_pilots)


def point_prior(mu: float, tau: float, null_share: float = 0.0) -> EffectPrior:
    """A known prior: ``N(mu, tau^2)`` (the conjugate case), with a share of nulls if given."""
    return EffectPrior(
        [float(tau)], [1.0], [float(mu)], [0.0], pilots=0, current_pilots=0,
        null_shares=[float(null_share)],
    )  # fmt: skip


# -- a pilot's posterior ---------------------------------------------------------------------


@dataclass(frozen=True)
class PilotPosterior:
    """Each pilot's posterior of its true effect: a point mass at 0 and a normal mixture.

    ``null``: ``(pilots,)``, the probability that the effect is exactly 0;
    ``weights``, ``means``, ``variances``: ``(pilots, nodes)``, the slab's components
    (a pilot's weights sum to ``1 - null``); ``node_weights``: ``(nodes,)``, the
    prior's node weights (at node k a pilot's slab has weight ``weights[:, k]`` out of
    ``node_weights[k]``).
    """

    null: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    node_weights: np.ndarray

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Each pilot's posterior mean and variance (the point mass included)."""
        mean = (self.weights * self.means).sum(axis=1)
        second = (self.weights * (self.variances + self.means**2)).sum(axis=1)
        return mean, np.maximum(second - mean**2, 0.0)

    def slab_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean and variance of each pilot's slab part (its effect if it is not null)."""
        total = self.weights.sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        mean = (self.weights * self.means).sum(axis=1) / safe
        second = (self.weights * (self.variances + self.means**2)).sum(axis=1) / safe
        return np.where(total > 0, mean, 0.0), np.maximum(second - mean**2, 0.0)


def _node_arrays(prior: EffectPrior) -> tuple[np.ndarray, ...]:
    null_shares = np.asarray(prior.null_shares or [0.0] * len(prior.tau_nodes), dtype=float)
    return (
        np.asarray(prior.tau_weights, dtype=float),
        null_shares,
        np.asarray(prior.mu_means, dtype=float),
        np.asarray(prior.mu_variances, dtype=float),
        np.asarray(prior.tau_nodes, dtype=float),
    )


def effect_posterior(prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray) -> PilotPosterior:
    """Each pilot's posterior of its true effect under ``prior`` (``N(estimate, se^2)`` when
    the prior is flat)."""
    estimates = np.atleast_1d(np.asarray(estimates, dtype=float))
    ses = np.atleast_1d(np.asarray(ses, dtype=float))
    if prior.flat:
        return PilotPosterior(
            np.zeros(len(estimates)), np.ones((len(estimates), 1)),
            estimates[:, None].copy(), ses[:, None] ** 2, np.ones(1),
        )  # fmt: skip
    node_weights, null_shares, mu_means, mu_variances, taus = _node_arrays(prior)
    s2 = ses[:, None] ** 2
    shrink = s2 / np.maximum(s2 + taus[None, :] ** 2, 1e-300)
    means = shrink * mu_means[None, :] + (1 - shrink) * estimates[:, None]
    variances = (1 - shrink) * s2 + shrink**2 * mu_variances[None, :]
    slab = np.ones_like(means)
    has_nulls = null_shares > 0
    if has_nulls.any():
        y = estimates[:, None]
        with np.errstate(divide="ignore"):  # a node without nulls: log(0) = -inf
            log_share = np.log(null_shares[None, :])
        null_variance = np.maximum(s2, 1e-300)
        slab_variance = np.maximum(s2 + taus[None, :] ** 2 + mu_variances[None, :], 1e-300)
        log_null = log_share - 0.5 * (
            y**2 / null_variance + np.log(null_variance)
        )
        log_slab = np.log1p(-null_shares[None, :]) - 0.5 * (
            (y - mu_means[None, :]) ** 2 / slab_variance + np.log(slab_variance)
        )
        slab = np.where(has_nulls[None, :], expit(log_slab - log_null), 1.0)
    weights = node_weights[None, :] * slab
    null = np.clip(1.0 - weights.sum(axis=1), 0.0, 1.0)
    return PilotPosterior(null, weights, means, variances, node_weights)


def posterior_moments(
    prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each pilot's posterior mean and variance of its true effect."""
    return effect_posterior(prior, estimates, ses).moments()


def new_effect_moments(prior: EffectPrior) -> tuple[float, float]:
    """Mean and variance of a new initiative's effect under the prior (inf when flat)."""
    if prior.flat:
        return 0.0, float("inf")
    weights, null_shares, means, mu_variances, taus = _node_arrays(prior)
    slab = 1 - null_shares
    mean = float(weights @ (slab * means))
    second = float(weights @ (slab * (taus**2 + mu_variances + means**2)))
    return mean, max(second - mean**2, 0.0)


def pilot_weight(prior: EffectPrior, estimates: np.ndarray, ses: np.ndarray) -> np.ndarray:
    """The weight each pilot's evidence receives against the prior's slab, in [0, 1].

    ``E[tau^2 / (tau^2 + s_i^2) | data]``: the coefficient of the pilot's own estimate
    in its posterior mean if its effect is real (not null), the rest going to the
    slab's mean; averaged over the prior's nodes. In the conjugate case it is
    ``tau^2 / (tau^2 + s_i^2)``, the pilot's share of the posterior precision. It
    depends on the pilot's precision only: a more precise pilot never weighs less; 1
    under a flat prior.
    """
    ses = np.atleast_1d(np.asarray(ses, dtype=float))
    if prior.flat:
        return np.ones_like(ses)
    taus = np.asarray(prior.tau_nodes)
    shares = taus[None, :] ** 2 / np.maximum(taus[None, :] ** 2 + ses[:, None] ** 2, 1e-300)
    return np.clip(shares @ np.asarray(prior.tau_weights), 0.0, 1.0)
