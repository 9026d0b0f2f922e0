"""Causal effect estimators, one function per method, and the registry that picks one.

Each takes a DataFrame and the names of its columns, and returns a dict shaped
like a MeasureResult (see :mod:`impact_assets.components.measure.inputs`):
``estimate``, ``ci_lower``, ``ci_upper`` (95%), ``p_value``, ``sample_size`` and
``diagnostics``: ``r_squared``, ``inference`` (the interval method's name), plain
descriptive values, and each diagnostic as ``{"value": float, "passed": bool}``.
Degenerate input raises ValueError naming the problem.

- experiment: OLS of the outcome on treatment (+ covariates) with HC1
  heteroskedasticity-robust SEs (closed form, :mod:`~impact_assets.components.measure.ols`);
  t distribution with n - k df. With covariates,
  ``variance_reduction`` = 1 - (HC1 variance of the treatment coefficient with
  the covariates) / (without them); with the pre-period outcome as the covariate
  this is CUPED.
- difference_in_differences: :mod:`impact_assets.components.measure.did`.
- interrupted_time_series: :mod:`impact_assets.components.measure.its`.
- synthetic_control: :mod:`impact_assets.components.measure.synthetic_control`.
- observational: augmented inverse-propensity weighting (AIPW, doubly robust)
  of the average treatment effect: a logistic propensity (statsmodels Logit on
  the covariates) and a linear outcome model per arm; SE from the empirical
  influence function, t distribution with n - 1 df. Consistent if either the
  propensity or the outcome model is right. Diagnostics:
  ``covariate_balance`` (largest |standardised mean difference| after inverse
  propensity weighting, pooled unweighted SD; passes if < 0.1) and
  ``propensity_overlap`` (``min(min e, 1 - max e)``, with ``min`` and ``max``;
  passes if every propensity is within [0.05, 0.95]).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from impact_assets.components.measure.did import estimate_difference_in_differences
from impact_assets.components.measure.inputs import (
    binary,
    numeric,
    r_squared,
    require_count,
    require_full_rank,
    require_residual_df,
    result,
    t_interval,
)
from impact_assets.components.measure.its import estimate_interrupted_time_series
from impact_assets.components.measure.ols import ols_hc1
from impact_assets.components.measure.synthetic_control import estimate_synthetic_control
from impact_assets.contracts.types import Method

EXPERIMENT_INFERENCE = "ols_hc1_t(n-k)"
OBSERVATIONAL_INFERENCE = "aipw_influence_function_t(n-1)"
MAX_ABS_SMD = 0.1
PROPENSITY_BOUNDS = (0.05, 0.95)


def estimate_experiment(
    frame: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str] | None = ()
) -> dict[str, Any]:
    """OLS of ``outcome`` on ``treatment`` (+ ``covariates``) with HC1 robust SEs."""
    covariates = list(covariates or ())
    n = require_count(len(frame), "units (rows)")
    y = numeric(frame, outcome, "outcome")
    t = binary(frame, treatment, "treatment")
    covariate_values = [numeric(frame, name, "covariates") for name in covariates]
    design = np.column_stack([np.ones(n), t, *covariate_values])
    require_full_rank(design, ["intercept", treatment, *covariates], "the experiment's design")
    require_residual_df(n, design.shape[1])
    fit = ols_hc1(y, design)  # statsmodels' OLS(...).fit(cov_type="HC1"), in closed form
    lower, upper, p_value = t_interval(fit.params[1], fit.bse[1], fit.df_resid)
    diagnostics: dict[str, Any] = {
        "r_squared": fit.rsquared,
        "inference": EXPERIMENT_INFERENCE,
    }
    if covariates:
        unadjusted = ols_hc1(y, design[:, :2])
        diagnostics["variance_reduction"] = float(1.0 - fit.bse[1] ** 2 / unadjusted.bse[1] ** 2)
    return result(fit.params[1], lower, upper, p_value, n, diagnostics)


def estimate_observational(
    frame: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str] | None
) -> dict[str, Any]:
    """AIPW estimate of the average treatment effect (logistic propensity, linear outcomes)."""
    covariates = list(covariates or ())
    if not covariates:
        raise ValueError("covariates: the observational estimator needs covariates to adjust for")
    n = require_count(len(frame), "units (rows)")
    y = numeric(frame, outcome, "outcome")
    t = binary(frame, treatment, "treatment")
    x = np.column_stack([numeric(frame, name, "covariates") for name in covariates])
    design = np.column_stack([np.ones(n), x])
    require_full_rank(design, ["intercept", *covariates], "the covariates")
    k = design.shape[1]
    for arm, label in ((1, "treated"), (0, "control")):
        count = int((t == arm).sum())
        if count <= k:
            raise ValueError(
                f"treatment: {count} {label} units; the outcome model of each arm needs more "
                f"than {k} (one per covariate plus the intercept)"
            )
        require_full_rank(design[t == arm], ["intercept", *covariates], f"the {label} arm")
    propensity = _propensity(t, design)
    mu1 = design @ np.linalg.lstsq(design[t == 1], y[t == 1], rcond=None)[0]
    mu0 = design @ np.linalg.lstsq(design[t == 0], y[t == 0], rcond=None)[0]
    influence = mu1 - mu0 + t * (y - mu1) / propensity - (1 - t) * (y - mu0) / (1 - propensity)
    estimate = float(influence.mean())
    se = float(influence.std(ddof=1) / np.sqrt(n))
    if not se > 0:
        raise ValueError("observational: the influence-function SE is zero; no CI is possible")
    lower, upper, p_value = t_interval(estimate, se, n - 1)
    fitted = np.where(t == 1, mu1, mu0)
    e_min, e_max = float(propensity.min()), float(propensity.max())
    smd = _weighted_smd(x, t, propensity)
    diagnostics = {
        "r_squared": r_squared(y, y - fitted),
        "inference": OBSERVATIONAL_INFERENCE,
        "covariate_balance": {"value": smd, "passed": smd < MAX_ABS_SMD},
        "propensity_overlap": {
            "value": min(e_min, 1.0 - e_max),
            "passed": PROPENSITY_BOUNDS[0] <= e_min and e_max <= PROPENSITY_BOUNDS[1],
            "min": e_min,
            "max": e_max,
        },
    }
    return result(estimate, lower, upper, p_value, n, diagnostics)


@dataclass(frozen=True)
class Estimator:
    """An estimator, the config keys (FileData fields) it takes as column arguments, and the
    initiative settings (such as ``its_model``) it takes as options."""

    fit: Callable[..., dict[str, Any]]
    keys: tuple[str, ...]
    options: tuple[str, ...] = ()


PANEL_KEYS = ("outcome", "unit", "time", "treatment_start", "treated", "treated_units")


ESTIMATORS: dict[Method, Estimator] = {
    Method.EXPERIMENT: Estimator(estimate_experiment, ("outcome", "treatment", "covariates")),
    Method.DIFFERENCE_IN_DIFFERENCES: Estimator(estimate_difference_in_differences, PANEL_KEYS),
    Method.INTERRUPTED_TIME_SERIES: Estimator(
        estimate_interrupted_time_series,
        ("outcome", "time", "intervention_time"),
        options=("its_model",),
    ),
    Method.SYNTHETIC_CONTROL: Estimator(estimate_synthetic_control, PANEL_KEYS),
    Method.OBSERVATIONAL: Estimator(estimate_observational, ("outcome", "treatment", "covariates")),
}


def estimate(
    method: Method | str,
    frame: pd.DataFrame,
    columns: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``method``'s estimator on ``frame``; ``columns`` and ``options`` may hold extra
    keys (ignored), and an option that is None keeps the estimator's default."""
    estimator = ESTIMATORS[Method(method)]
    arguments = {key: columns.get(key) for key in estimator.keys}
    for name in estimator.options:
        if (options or {}).get(name) is not None:
            arguments[name] = options[name]
    return estimator.fit(frame, **arguments)


# --- helpers ----------------------------------------------------------------


def _propensity(t: np.ndarray, design: np.ndarray) -> np.ndarray:
    model = sm.Logit(t, design)
    model.raise_on_perfect_prediction = True
    try:
        fit = model.fit(disp=0, method="newton", maxiter=100, warn_convergence=False)
    except (PerfectSeparationError, np.linalg.LinAlgError) as error:
        raise ValueError(
            f"propensity model: the covariates separate treated from control units ({error}); "
            "there is no overlap to compare them on"
        ) from None
    if not fit.mle_retvals["converged"]:
        raise ValueError("propensity model: the logistic regression did not converge")
    propensity = fit.predict()
    if propensity.min() <= 1e-6 or propensity.max() >= 1 - 1e-6:
        raise ValueError(
            "propensity model: some propensities are 0 or 1 (near-perfect separation); "
            "there is no overlap to compare treated and control units on"
        )
    return propensity


def _weighted_smd(x: np.ndarray, t: np.ndarray, propensity: np.ndarray) -> float:
    """Largest |standardised mean difference| of the covariates after IPW weighting."""
    weights = np.where(t == 1, 1 / propensity, 1 / (1 - propensity))
    largest = 0.0
    for column in x.T:
        treated, control = t == 1, t == 0
        mean1 = np.average(column[treated], weights=weights[treated])
        mean0 = np.average(column[control], weights=weights[control])
        pooled = np.sqrt((column[treated].var(ddof=1) + column[control].var(ddof=1)) / 2)
        if pooled > 0:
            largest = max(largest, abs(mean1 - mean0) / pooled)
    return float(largest)
