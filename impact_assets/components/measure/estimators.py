"""Causal effect estimators, one function per method (statsmodels/scipy; no Dagster).

Each takes a DataFrame and the names of its columns, and returns a dict shaped
like a MeasureResult: ``estimate``, ``ci_lower``, ``ci_upper`` (95%),
``p_value``, ``sample_size`` and ``diagnostics`` (``r_squared`` plus each
diagnostic as ``{"value": float, "passed": bool}``). Degenerate input (too few
units, no treated or no control units, a singular design, missing values)
raises ValueError naming the problem; nothing is silently dropped or imputed.

- experiment: OLS of the outcome on treatment (+ covariates) with HC1
  heteroskedasticity-robust SEs; t distribution with n - k df.
- difference_in_differences: two-way fixed effects. Unit effects are absorbed
  by the within-unit transformation (exact for balanced and unbalanced panels:
  Frisch-Waugh-Lovell), period effects enter as dummies. SEs are clustered by
  unit with the small-sample factor ``G/(G-1) * (N-1)/(N-K)``, where K counts
  the regressors left after absorbing the unit effects (treatment + period
  dummies): the unit effects are nested within the clusters, so they are not
  counted (Cameron & Miller 2015, sec. 3.4; Stata ``xtreg, fe vce(cluster)``).
  CI and p-value use a t distribution with G - 1 df.
  Diagnostics: ``pre_trend`` (p-value of a treated-specific linear trend in
  the pre-treatment periods, same FE and clustering; passes if p >= 0.05;
  omitted with fewer than two pre-treatment periods) and
  ``few_treated_clusters`` (number of treated units; passes if >= 10).
- interrupted_time_series: segmented regression ``outcome ~ 1 + t + post``
  (``t`` the position in the time-ordered series, so observations are taken
  as equally spaced) with AR(1) errors by feasible GLS: statsmodels GLSAR,
  iterated (Cochrane-Orcutt with Yule-Walker rho) to convergence; the first
  observation is dropped by the whitening; t distribution with T - 4 df.
  Diagnostic ``residual_autocorrelation``: Ljung-Box p-value on the whitened
  residuals (lags ``min(10, T // 5)``, one AR df); passes if p >= 0.05.
- observational: augmented inverse-propensity weighting (AIPW, doubly robust)
  of the average treatment effect: a logistic propensity (statsmodels Logit on
  the covariates) and a linear outcome model per arm; SE from the empirical
  influence function, t distribution with n - 1 df. Diagnostics:
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
from pandas.api import types as ptypes
from scipy import stats
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from impact_assets.components.measure.data import (
    ITS_MIN_POINTS_PER_SIDE,
    at_or_after,
    binary_values,
    describe_values,
    unit_membership,
)
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE
from impact_assets.contracts.types import Method

ALPHA = 0.05  # 95% intervals
MIN_TREATED_CLUSTERS = 10
PRE_TREND_MIN_P = 0.05
LJUNG_BOX_MIN_P = 0.05
MAX_ABS_SMD = 0.1
PROPENSITY_BOUNDS = (0.05, 0.95)
GLSAR_MAX_ITER = 200
GLSAR_RTOL = 1e-10


def estimate_experiment(
    frame: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str] | None = ()
) -> dict[str, Any]:
    """OLS of ``outcome`` on ``treatment`` (+ ``covariates``) with HC1 robust SEs."""
    covariates = list(covariates or ())
    n = _require_count(len(frame), "units (rows)")
    y = _numeric(frame, outcome, "outcome")
    t = _binary(frame, treatment, "treatment")
    covariate_values = [_numeric(frame, name, "covariates") for name in covariates]
    design = np.column_stack([np.ones(n), t, *covariate_values])
    _require_full_rank(design, ["intercept", treatment, *covariates], "the experiment's design")
    _require_residual_df(n, design.shape[1])
    fit = sm.OLS(y, design).fit(cov_type="HC1", use_t=True)
    lower, upper = fit.conf_int(alpha=ALPHA)[1]
    return _result(
        fit.params[1], lower, upper, fit.pvalues[1], n, {"r_squared": float(fit.rsquared)}
    )


def estimate_difference_in_differences(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment_start: Any,
    treated: str | None = None,
    treated_units: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Two-way fixed-effects DiD with unit-clustered SEs (t with G - 1 df)."""
    if (treated is None) == (treated_units is None):
        raise ValueError(
            "difference_in_differences needs exactly one of treated (0/1 column) or "
            "treated_units (list of unit values)"
        )
    _require_columns(frame, {"unit": unit, "time": time})
    y = _numeric(frame, outcome, "outcome")
    unit_codes, unit_values = pd.factorize(frame[unit])
    n_units = _require_count(len(unit_values), "units")
    if frame.duplicated([unit, time]).any():
        raise ValueError(
            f"time: repeated ({unit}, {time}) pairs; a panel needs one row per unit and period"
        )
    treated_rows = _treated_rows(frame, unit, unit_codes, treated, treated_units)
    treated_unit = np.bincount(unit_codes, weights=treated_rows, minlength=n_units) > 0
    n_treated = int(treated_unit.sum())
    if n_treated == 0:
        raise ValueError("difference_in_differences: no treated units; DiD needs treated units")
    if n_treated == n_units:
        raise ValueError("difference_in_differences: every unit is treated; DiD needs controls")
    post = _after(frame[time], treatment_start, "treatment_start")
    if post.all() or not post.any():
        side = "pre" if post.all() else "post"
        raise ValueError(
            f"treatment_start: {treatment_start!r} leaves no {side}-treatment periods in "
            f"column {time!r}"
        )
    period_codes, _ = pd.factorize(frame[time], sort=True)
    exposure = treated_rows * post
    fit = _twfe_fit(y, exposure, period_codes, unit_codes, "the DiD design")
    lower, upper = fit.conf_int(alpha=ALPHA)[0]
    diagnostics: dict[str, Any] = {
        "r_squared": _r_squared(y, fit.resid),
        "few_treated_clusters": {
            "value": float(n_treated),
            "passed": n_treated >= MIN_TREATED_CLUSTERS,
        },
    }
    pre_trend = _pre_trend_p_value(y, treated_rows, period_codes, unit_codes, ~post)
    if pre_trend is not None:
        diagnostics["pre_trend"] = {"value": pre_trend, "passed": pre_trend >= PRE_TREND_MIN_P}
    return _result(fit.params[0], lower, upper, fit.pvalues[0], n_units, diagnostics)


def estimate_interrupted_time_series(
    frame: pd.DataFrame, *, outcome: str, time: str, intervention_time: Any
) -> dict[str, Any]:
    """Segmented regression (level shift at the intervention) with AR(1) errors (GLSAR)."""
    _require_columns(frame, {"time": time})
    if frame[time].isna().any():
        raise ValueError(f"time: column {time!r} has missing values")
    if frame[time].duplicated().any():
        raise ValueError(
            f"time: column {time!r} has repeated values; a time series needs one row per point"
        )
    ordered = frame.sort_values(time, kind="stable")
    n_points = _require_count(len(ordered), "time points")
    y = _numeric(ordered, outcome, "outcome")
    post = _after(ordered[time], intervention_time, "intervention_time").astype(float)
    after = int(post.sum())
    if min(after, n_points - after) < ITS_MIN_POINTS_PER_SIDE:
        raise ValueError(
            f"intervention_time: {intervention_time!r} leaves {n_points - after} time points "
            f"before and {after} from it; at least {ITS_MIN_POINTS_PER_SIDE} are needed on "
            "each side"
        )
    design = np.column_stack([np.ones(n_points), np.arange(n_points, dtype=float), post])
    _require_full_rank(design, ["intercept", "time", "post"], "the segmented regression")
    model = sm.GLSAR(y, design, rho=1)
    fit = model.iterative_fit(maxiter=GLSAR_MAX_ITER, rtol=GLSAR_RTOL)
    rho = float(np.asarray(model.rho).ravel()[0])
    if not fit.converged:
        raise ValueError(
            f"interrupted_time_series: the AR(1) fit did not converge in {GLSAR_MAX_ITER} "
            f"iterations (last rho {rho:.4f})"
        )
    if not abs(rho) < 1:
        raise ValueError(
            f"interrupted_time_series: the residual AR(1) coefficient is {rho:.4f}; the "
            "model needs stationary errors (|rho| < 1): is the series trending beyond a line?"
        )
    lower, upper = fit.conf_int(alpha=ALPHA)[2]
    lags = min(10, n_points // 5)
    ljung_box = acorr_ljungbox(fit.wresid, lags=[lags], model_df=1)
    ljung_box_p = float(ljung_box["lb_pvalue"].iloc[0])
    diagnostics = {
        "r_squared": _r_squared(y, y - design @ fit.params),
        "residual_autocorrelation": {
            "value": ljung_box_p,
            "passed": ljung_box_p >= LJUNG_BOX_MIN_P,
        },
    }
    return _result(fit.params[2], lower, upper, fit.pvalues[2], n_points, diagnostics)


def estimate_observational(
    frame: pd.DataFrame, *, outcome: str, treatment: str, covariates: Sequence[str] | None
) -> dict[str, Any]:
    """AIPW estimate of the average treatment effect (logistic propensity, linear outcomes)."""
    covariates = list(covariates or ())
    if not covariates:
        raise ValueError("covariates: the observational estimator needs covariates to adjust for")
    n = _require_count(len(frame), "units (rows)")
    y = _numeric(frame, outcome, "outcome")
    t = _binary(frame, treatment, "treatment")
    x = np.column_stack([_numeric(frame, name, "covariates") for name in covariates])
    design = np.column_stack([np.ones(n), x])
    _require_full_rank(design, ["intercept", *covariates], "the covariates")
    k = design.shape[1]
    for arm, label in ((1, "treated"), (0, "control")):
        count = int((t == arm).sum())
        if count <= k:
            raise ValueError(
                f"treatment: {count} {label} units; the outcome model of each arm needs more "
                f"than {k} (one per covariate plus the intercept)"
            )
        _require_full_rank(design[t == arm], ["intercept", *covariates], f"the {label} arm")
    propensity = _propensity(t, design)
    mu1 = design @ np.linalg.lstsq(design[t == 1], y[t == 1], rcond=None)[0]
    mu0 = design @ np.linalg.lstsq(design[t == 0], y[t == 0], rcond=None)[0]
    influence = mu1 - mu0 + t * (y - mu1) / propensity - (1 - t) * (y - mu0) / (1 - propensity)
    estimate = float(influence.mean())
    se = float(influence.std(ddof=1) / np.sqrt(n))
    if not se > 0:
        raise ValueError("observational: the influence-function SE is zero; no CI is possible")
    lower, upper, p_value = _t_interval(estimate, se, n - 1)
    fitted = np.where(t == 1, mu1, mu0)
    e_min, e_max = float(propensity.min()), float(propensity.max())
    smd = _weighted_smd(x, t, propensity)
    diagnostics = {
        "r_squared": _r_squared(y, y - fitted),
        "covariate_balance": {"value": smd, "passed": smd < MAX_ABS_SMD},
        "propensity_overlap": {
            "value": min(e_min, 1.0 - e_max),
            "passed": PROPENSITY_BOUNDS[0] <= e_min and e_max <= PROPENSITY_BOUNDS[1],
            "min": e_min,
            "max": e_max,
        },
    }
    return _result(estimate, lower, upper, p_value, n, diagnostics)


@dataclass(frozen=True)
class Estimator:
    """An estimator and the config keys (FileData fields) it takes as column arguments."""

    fit: Callable[..., dict[str, Any]]
    keys: tuple[str, ...]


ESTIMATORS: dict[Method, Estimator] = {
    Method.EXPERIMENT: Estimator(estimate_experiment, ("outcome", "treatment", "covariates")),
    Method.DIFFERENCE_IN_DIFFERENCES: Estimator(
        estimate_difference_in_differences,
        ("outcome", "unit", "time", "treatment_start", "treated", "treated_units"),
    ),
    Method.INTERRUPTED_TIME_SERIES: Estimator(
        estimate_interrupted_time_series, ("outcome", "time", "intervention_time")
    ),
    Method.OBSERVATIONAL: Estimator(estimate_observational, ("outcome", "treatment", "covariates")),
}


def estimate(method: Method | str, frame: pd.DataFrame, columns: dict[str, Any]) -> dict[str, Any]:
    """Run ``method``'s estimator on ``frame``; ``columns`` may hold extra keys (ignored)."""
    estimator = ESTIMATORS[Method(method)]
    return estimator.fit(frame, **{key: columns.get(key) for key in estimator.keys})


# --- helpers ----------------------------------------------------------------


def _result(
    estimate: float,
    lower: float,
    upper: float,
    p_value: float | None,
    sample_size: int,
    diagnostics: dict[str, Any],
) -> dict[str, Any]:
    values = {"estimate": estimate, "ci_lower": lower, "ci_upper": upper}
    for name, value in values.items():
        if not np.isfinite(value):
            raise ValueError(f"{name}: the fit produced a non-finite value ({value})")
    return {
        "estimate": float(estimate),
        "ci_lower": float(lower),
        "ci_upper": float(upper),
        "p_value": None if p_value is None else float(p_value),
        "sample_size": int(sample_size),
        "diagnostics": diagnostics,
    }


def _require_count(count: int, what: str) -> int:
    if count < MIN_SAMPLE_SIZE:
        raise ValueError(f"too few {what}: {count}; the estimator needs at least {MIN_SAMPLE_SIZE}")
    return count


def _require_columns(frame: pd.DataFrame, names: dict[str, str]) -> None:
    for role, name in names.items():
        if name not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise ValueError(f"{role}: column {name!r} not in the data (columns: {columns})")


def _numeric(frame: pd.DataFrame, name: str, role: str) -> np.ndarray:
    _require_columns(frame, {role: name})
    column = frame[name]
    if not (ptypes.is_numeric_dtype(column) or ptypes.is_bool_dtype(column)):
        raise ValueError(f"{role}: column {name!r} must be numeric, got {column.dtype}")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ValueError(f"{role}: column {name!r} has {bad} missing or infinite values")
    return values


def _binary(frame: pd.DataFrame, name: str, role: str) -> np.ndarray:
    _require_columns(frame, {role: name})
    values = binary_values(frame[name])
    if values is None:
        raise ValueError(
            f"{role}: column {name!r} must be 0/1 (found values: {describe_values(frame[name])})"
        )
    if values.min() == values.max():
        which = "treated" if values[0] == 1 else "control"
        raise ValueError(
            f"{role}: column {name!r} holds only {which} units; the effect needs both treated "
            "and control units"
        )
    return values.astype(float)


def _after(series: pd.Series, threshold: Any, role: str) -> np.ndarray:
    try:
        return at_or_after(series, threshold)
    except ValueError as error:
        raise ValueError(f"{role}: {error}") from None


def _require_full_rank(design: np.ndarray, names: Sequence[str], what: str) -> None:
    """Raise unless the columns are linearly independent (condition number < 1e6 when scaled)."""
    norms = np.sqrt((design**2).sum(axis=0))
    empty = [str(name) for name, norm in zip(names, norms, strict=True) if not norm > 0]
    if empty:
        raise ValueError(
            f"singular design in {what}: column(s) {', '.join(empty)} carry no variation"
        )
    scaled = design / norms
    eigenvalues = np.linalg.eigvalsh(scaled.T @ scaled)  # squared singular values, ascending
    if eigenvalues[0] <= eigenvalues[-1] * 1e-12:
        raise ValueError(
            f"singular design in {what}: the columns ({', '.join(map(str, names))}) are "
            "collinear; drop a redundant column"
        )


def _require_residual_df(n: int, k: int) -> None:
    if n <= k:
        raise ValueError(f"too few observations ({n}) for {k} parameters")


def _r_squared(y: np.ndarray, residuals: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        raise ValueError("outcome: the outcome is constant; there is no effect to estimate")
    return float(1.0 - (residuals**2).sum() / total)


def _t_interval(estimate: float, se: float, df: float) -> tuple[float, float, float]:
    critical = stats.t.ppf(1 - ALPHA / 2, df)
    p_value = 2 * stats.t.sf(abs(estimate / se), df)
    return estimate - critical * se, estimate + critical * se, float(p_value)


def _treated_rows(
    frame: pd.DataFrame,
    unit: str,
    unit_codes: np.ndarray,
    treated: str | None,
    treated_units: Sequence[Any] | None,
) -> np.ndarray:
    if treated is not None:
        _require_columns(frame, {"treated": treated})
        values = binary_values(frame[treated])
        if values is None:
            raise ValueError(
                f"treated: column {treated!r} must be 0/1 "
                f"(found values: {describe_values(frame[treated])})"
            )
        per_unit_min = np.full(unit_codes.max() + 1, 2)
        per_unit_max = np.full(unit_codes.max() + 1, -1)
        np.minimum.at(per_unit_min, unit_codes, values)
        np.maximum.at(per_unit_max, unit_codes, values)
        varying = int((per_unit_min != per_unit_max).sum())
        if varying:
            raise ValueError(
                f"treated: column {treated!r} must be constant within each unit "
                f"(it varies for {varying} units)"
            )
        return values.astype(float)
    mask, missing = unit_membership(frame[unit], list(treated_units or []))
    if missing:
        shown = ", ".join(repr(u) for u in missing[:6])
        raise ValueError(f"treated_units: not in column {unit!r}: {shown}")
    return mask.astype(float)


def _demean_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Subtract each group's mean (the exact within transformation)."""
    counts = np.bincount(groups)
    if values.ndim == 1:
        return values - (np.bincount(groups, weights=values) / counts)[groups]
    columns = [values[:, j] for j in range(values.shape[1])]
    return np.column_stack([_demean_within(column, groups) for column in columns])


def _twfe_fit(
    y: np.ndarray,
    regressor: np.ndarray,
    period_codes: np.ndarray,
    unit_codes: np.ndarray,
    what: str,
):
    """OLS of y on the regressor + period dummies, unit effects absorbed, clustered by unit."""
    n_periods = int(period_codes.max()) + 1
    period_dummies = np.eye(n_periods)[period_codes][:, 1:]
    design = _demean_within(np.column_stack([regressor, period_dummies]), unit_codes)
    names = ["treatment", *(f"period[{p}]" for p in range(1, n_periods))]
    _require_full_rank(design, names, what)
    return sm.OLS(_demean_within(y, unit_codes), design, hasconst=False).fit(
        cov_type="cluster",
        cov_kwds={"groups": unit_codes, "use_correction": True, "df_correction": True},
        use_t=True,
    )


def _pre_trend_p_value(
    y: np.ndarray,
    treated_rows: np.ndarray,
    period_codes: np.ndarray,
    unit_codes: np.ndarray,
    pre: np.ndarray,
) -> float | None:
    """p-value of a treated-specific linear trend in the pre-periods (None if untestable)."""
    pre_periods = np.unique(period_codes[pre])
    if pre_periods.size < 2:
        return None
    pre_units, units = pd.factorize(unit_codes[pre])
    periods = np.searchsorted(pre_periods, period_codes[pre])
    trend = treated_rows[pre] * periods
    if len(units) < 2:
        return None
    try:
        fit = _twfe_fit(y[pre], trend, periods, pre_units, "the pre-trend test")
    except ValueError:
        return None  # e.g. no treated unit observed in two pre-periods: nothing to test
    return float(fit.pvalues[0])


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
