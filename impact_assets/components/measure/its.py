"""Interrupted time series: segmented regression with AR(1) errors, honest for short series.

The model (``t`` the position in the time-ordered series, ``t0`` the first point
at or after the intervention, ``post = 1[t >= t0]``)::

    level            outcome = b0 + b1 t + b2 post                      + u_t
    level_and_slope  outcome = b0 + b1 t + b2 post + b3 post (t - t0)   + u_t
    u_t = rho u_{t-1} + e_t,  e_t ~ N(0, s^2),  |rho| < 1 (stationary start)

The effect is ``b2`` (``level``), or the mean effect over the post-period
``b2 + b3 * mean(t - t0 over the post points)`` (``level_and_slope``).

Given rho, generalised least squares (the Prais-Winsten transform, first point
kept) gives exact t inference. Rho is not known, and plugging in an estimate
under-covers in short series (88.6% at T = 30 with the Cochrane-Orcutt
estimate). Here rho is integrated out: with flat priors on the coefficients and
``log s`` and Jeffreys' prior ``(1 - rho^2)^(-1/2)`` on rho, the effect's
distribution given the data is a mixture, over rho, of the GLS t distributions
(T - k df) weighted by the restricted (REML) likelihood of rho times the prior.
The 95% interval is its 2.5% and 97.5% quantiles; the p-value is twice the
smaller tail beyond zero (so p < 0.05 exactly when the interval excludes 0). The
point estimate is the GLS estimate at the REML estimate of rho.

All of it is computed from the cross-products of ``[X, y]`` and of their lags:
the transformed cross-products are quadratic in rho, so a grid of rho values
costs O(grid x k^3), whatever the length of the series.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from statsmodels.stats.diagnostic import acorr_ljungbox

from impact_assets.components.measure.data import ITS_MIN_POINTS_PER_SIDE
from impact_assets.components.measure.inputs import (
    ALPHA,
    after,
    numeric,
    r_squared,
    require_columns,
    require_count,
    require_full_rank,
    result,
)

LEVEL = "level"
LEVEL_AND_SLOPE = "level_and_slope"
ITS_MODELS = (LEVEL, LEVEL_AND_SLOPE)
INFERENCE = "gls_ar1_integrated_rho"
LJUNG_BOX_MIN_P = 0.05
MAX_ABS_RHO = 0.995  # the grid's edge: beyond it the series is taken as non-stationary
_COARSE_GRID = np.linspace(-MAX_ABS_RHO, MAX_ABS_RHO, 1991)
_FINE_POINTS = 801
_NEGLIGIBLE_LOG_WEIGHT = 30.0  # grid points this far below the peak weigh < 1e-13


def estimate_interrupted_time_series(
    frame: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    intervention_time: Any,
    its_model: str | None = LEVEL,
) -> dict[str, Any]:
    """Segmented regression with AR(1) errors; the interval integrates over rho."""
    its_model = its_model or LEVEL
    if its_model not in ITS_MODELS:
        raise ValueError(f"its_model: must be one of {', '.join(ITS_MODELS)}, got {its_model!r}")
    require_columns(frame, {"time": time})
    if frame[time].isna().any():
        raise ValueError(f"time: column {time!r} has missing values")
    if frame[time].duplicated().any():
        raise ValueError(
            f"time: column {time!r} has repeated values; a time series needs one row per point"
        )
    ordered = frame.sort_values(time, kind="stable")
    n_points = require_count(len(ordered), "time points")
    y = numeric(ordered, outcome, "outcome")
    post = after(ordered[time], intervention_time, "intervention_time").astype(float)
    after_count = int(post.sum())
    if min(after_count, n_points - after_count) < ITS_MIN_POINTS_PER_SIDE:
        raise ValueError(
            f"intervention_time: {intervention_time!r} leaves {n_points - after_count} time "
            f"points before and {after_count} from it; at least {ITS_MIN_POINTS_PER_SIDE} are "
            "needed on each side"
        )
    design, contrast, names = segmented_design(post, its_model)
    require_full_rank(design, names, "the segmented regression")
    fit = ar1_fit(y, design, contrast)
    lags = min(10, n_points // 5)
    ljung_box = acorr_ljungbox(fit["whitened_residuals"], lags=[lags], model_df=1)
    ljung_box_p = float(ljung_box["lb_pvalue"].iloc[0])
    diagnostics = {
        "r_squared": r_squared(y, y - design @ fit["coefficients"]),
        "inference": INFERENCE,
        "its_model": its_model,
        "ar1_coefficient": fit["rho"],
        "residual_autocorrelation": {
            "value": ljung_box_p,
            "passed": ljung_box_p >= LJUNG_BOX_MIN_P,
        },
    }
    return result(
        fit["estimate"], fit["ci_lower"], fit["ci_upper"], fit["p_value"], n_points, diagnostics
    )


def segmented_design(post: np.ndarray, its_model: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The design matrix, the effect's contrast vector and the column names."""
    n_points = post.size
    position = np.arange(n_points, dtype=float)
    columns = [np.ones(n_points), position, post]
    names = ["intercept", "time", "post"]
    contrast = [0.0, 0.0, 1.0]
    if its_model == LEVEL_AND_SLOPE:
        since = post * (position - position[post > 0].min())
        columns.append(since)
        names.append("post_slope")
        contrast.append(float(since[post > 0].mean()))
    return np.column_stack(columns), np.array(contrast), names


def ar1_fit(y: np.ndarray, design: np.ndarray, contrast: np.ndarray) -> dict[str, Any]:
    """GLS with AR(1) errors: REML rho, its estimate, and the rho-integrated interval."""
    n_points, k = design.shape
    df = n_points - k
    moments = _lagged_moments(np.column_stack([design, y]))

    coarse = _profile(moments, _COARSE_GRID, k, df)
    peak = int(np.argmax(coarse["log_posterior"]))
    keep = coarse["log_posterior"] > coarse["log_posterior"][peak] - _NEGLIGIBLE_LOG_WEIGHT
    low = max(int(np.flatnonzero(keep)[0]) - 1, 0)
    high = min(int(np.flatnonzero(keep)[-1]) + 1, _COARSE_GRID.size - 1)
    grid = np.linspace(_COARSE_GRID[low], _COARSE_GRID[high], _FINE_POINTS)
    fine = _profile(moments, grid, k, df)

    best = int(np.argmax(fine["log_reml"]))
    bracket = (grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)])
    refined = optimize.minimize_scalar(
        lambda rho: -_profile(moments, np.array([rho]), k, df)["log_reml"][0],
        bounds=bracket,
        method="bounded",
        options={"xatol": 1e-10},
    )
    rho = float(refined.x)
    at_rho = _profile(moments, np.array([rho]), k, df)
    coefficients = at_rho["coefficients"][0]
    estimate = float(contrast @ coefficients)

    weights = np.exp(fine["log_posterior"] - fine["log_posterior"].max())
    weights[[0, -1]] *= 0.5  # the trapezoid rule: the posterior may peak at the grid's edge
    used = weights > 1e-12
    weights = weights[used] / weights[used].sum()
    means = fine["coefficients"][used] @ contrast
    scales = np.sqrt(
        np.einsum("i,mij,j->m", contrast, fine["inverse"][used], contrast)
        * fine["residual_ss"][used]
        / df
    )

    def cdf(x: float) -> float:
        return float(weights @ special.stdtr(df, (x - means) / scales))

    span = 50.0 * scales.max()
    low_edge, high_edge = means.min() - span, means.max() + span
    tolerance = 1e-9 * scales.min()
    lower = optimize.brentq(lambda x: cdf(x) - ALPHA / 2, low_edge, high_edge, xtol=tolerance)
    upper = optimize.brentq(lambda x: cdf(x) - 1 + ALPHA / 2, low_edge, high_edge, xtol=tolerance)
    at_zero = cdf(0.0)
    p_value = min(1.0, 2.0 * min(at_zero, 1.0 - at_zero))
    if not lower <= estimate <= upper:  # a lopsided posterior of rho; widen, never exclude
        lower, upper = min(lower, estimate), max(upper, estimate)

    residuals = y - design @ coefficients
    whitened = residuals[1:] - rho * residuals[:-1]
    return {
        "estimate": estimate,
        "ci_lower": float(lower),
        "ci_upper": float(upper),
        "p_value": float(p_value),
        "rho": rho,
        "coefficients": coefficients,
        "whitened_residuals": whitened,
    }


def _lagged_moments(z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cross-products whose combination gives the Prais-Winsten transformed ones for any rho."""
    current, previous = z[1:], z[:-1]
    cross = current.T @ previous
    return np.outer(z[0], z[0]), current.T @ current, cross + cross.T, previous.T @ previous


def _profile(moments: tuple[np.ndarray, ...], rhos: np.ndarray, k: int, df: int) -> dict:
    """GLS at each rho: coefficients, residual SS, inverse Gram, and the log weights of rho.

    ``Z_w'Z_w = (1 - rho^2) z_0 z_0' + C0 - rho (C1 + C1') + rho^2 C2`` for ``Z = [X, y]``.
    """
    first, current, cross, previous = moments
    r = rhos[:, None, None]
    gram = (1 - r**2) * first + current - r * cross + r**2 * previous
    xtx, xty, yty = gram[:, :k, :k], gram[:, :k, k], gram[:, k, k]
    inverse = np.linalg.inv(xtx)
    coefficients = np.einsum("mij,mj->mi", inverse, xty)
    residual_ss = yty - np.einsum("mi,mi->m", xty, coefficients)
    residual_ss = np.maximum(residual_ss, 1e-300)
    _, log_det = np.linalg.slogdet(xtx)
    log_posterior = -0.5 * log_det - 0.5 * df * np.log(residual_ss)  # Jeffreys' prior
    log_reml = log_posterior + 0.5 * np.log1p(-(rhos**2))
    return {
        "coefficients": coefficients,
        "residual_ss": residual_ss,
        "inverse": inverse,
        "log_posterior": log_posterior,
        "log_reml": log_reml,
    }
