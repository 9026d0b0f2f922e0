"""Each estimator against an independent computation on the same data, and its refusals.

Independent means written here from the textbook formulas with numpy (full
dummy-variable regressions, explicit sandwiches, a hand-rolled Cochrane-Orcutt
and Newton-Raphson), not by calling the estimator's own code path. Tolerances:
1e-8 for closed forms (OLS, two-way FE), 1e-5 for iterative fits (REML, Logit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from impact_assets.components.measure.estimators import (
    estimate_difference_in_differences,
    estimate_experiment,
    estimate_interrupted_time_series,
    estimate_observational,
)

CLOSED_FORM = 1e-8
ITERATIVE = 1e-5


def t_interval(estimate: float, se: float, df: float) -> tuple[float, float, float]:
    critical = stats.t.ppf(0.975, df)
    return (
        estimate - critical * se,
        estimate + critical * se,
        2 * stats.t.sf(abs(estimate / se), df),
    )


def assert_result(result: dict, estimate: float, lower: float, upper: float, p: float, tol: float):
    assert result["estimate"] == pytest.approx(estimate, abs=tol, rel=tol)
    assert result["ci_lower"] == pytest.approx(lower, abs=tol, rel=tol)
    assert result["ci_upper"] == pytest.approx(upper, abs=tol, rel=tol)
    assert result["p_value"] == pytest.approx(p, abs=tol, rel=tol)


# --- experiment -------------------------------------------------------------


def experiment_frame(n: int = 250, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.integers(0, 2, n)
    age = rng.normal(40, 10, n)
    member = rng.integers(0, 2, n)
    # heteroskedastic noise, so HC1 differs from the classical SE
    noise = rng.normal(size=n) * (0.5 + treated + 0.02 * np.abs(age - 40))
    spend = 2 + 0.4 * treated + 0.03 * age + 0.5 * member + noise
    return pd.DataFrame({"spend": spend, "treated": treated, "age": age, "member": member})


def test_experiment_matches_hc1_closed_form():
    frame = experiment_frame()
    result = estimate_experiment(
        frame, outcome="spend", treatment="treated", covariates=["age", "member"]
    )
    y = frame["spend"].to_numpy()
    x = np.column_stack([np.ones(len(frame)), frame[["treated", "age", "member"]].to_numpy()])
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    residuals = y - x @ beta
    meat = x.T @ (x * residuals[:, None] ** 2)
    cov = n / (n - k) * bread @ meat @ bread
    lower, upper, p = t_interval(beta[1], np.sqrt(cov[1, 1]), n - k)
    assert_result(result, beta[1], lower, upper, p, CLOSED_FORM)
    r_squared = 1 - (residuals**2).sum() / ((y - y.mean()) ** 2).sum()
    assert result["diagnostics"]["r_squared"] == pytest.approx(r_squared, abs=CLOSED_FORM)
    assert result["sample_size"] == n


def test_experiment_without_covariates_is_the_difference_in_means():
    frame = experiment_frame(seed=2)
    result = estimate_experiment(frame, outcome="spend", treatment="treated")
    groups = frame.groupby("treated")["spend"]
    difference = groups.mean()[1] - groups.mean()[0]
    assert result["estimate"] == pytest.approx(difference, abs=CLOSED_FORM)


def hc1_variance(y: np.ndarray, x: np.ndarray, column: int) -> float:
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    residuals = y - x @ (bread @ x.T @ y)
    meat = x.T @ (x * residuals[:, None] ** 2)
    return float((n / (n - k) * bread @ meat @ bread)[column, column])


def test_experiment_reports_variance_reduction_cuped():
    """With the pre-period outcome as the covariate (CUPED), the treatment coefficient's
    variance shrinks by about rho^2, rho the pre/post correlation; exactly, by the
    ratio of the two HC1 variances."""
    rng = np.random.default_rng(12)
    n, rho = 20_000, 0.8
    pre_period = rng.normal(size=n)
    treated = rng.integers(0, 2, n)
    noise = rng.normal(size=n)
    spend = 1 + 0.2 * treated + rho * pre_period + np.sqrt(1 - rho**2) * noise
    frame = pd.DataFrame({"spend": spend, "treated": treated, "pre_spend": pre_period})
    result = estimate_experiment(
        frame, outcome="spend", treatment="treated", covariates=["pre_spend"]
    )
    ones = np.ones(n)
    adjusted = hc1_variance(spend, np.column_stack([ones, treated, pre_period]), 1)
    unadjusted = hc1_variance(spend, np.column_stack([ones, treated]), 1)
    reduction = result["diagnostics"]["variance_reduction"]
    assert reduction == pytest.approx(1 - adjusted / unadjusted, abs=CLOSED_FORM)
    assert reduction == pytest.approx(rho**2, abs=0.02)
    assert result["diagnostics"]["inference"] == "ols_hc1_t(n-k)"
    plain = estimate_experiment(frame, outcome="spend", treatment="treated")
    assert "variance_reduction" not in plain["diagnostics"]  # nothing adjusted, nothing reduced


def statsmodels_experiment(frame: pd.DataFrame, covariates: list[str]) -> dict:
    """The experiment's numbers as statsmodels computes them (the estimator's former code)."""
    import statsmodels.api as sm

    y = frame["spend"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(frame)), frame[["treated", *covariates]].to_numpy(float)])
    fit = sm.OLS(y, x).fit(cov_type="HC1", use_t=True)
    lower, upper = fit.conf_int(alpha=0.05)[1]
    expected = {
        "estimate": fit.params[1],
        "ci_lower": lower,
        "ci_upper": upper,
        "p_value": fit.pvalues[1],
        "r_squared": fit.rsquared,
    }
    if covariates:
        unadjusted = sm.OLS(y, x[:, :2]).fit(cov_type="HC1")
        expected["variance_reduction"] = 1.0 - fit.bse[1] ** 2 / unadjusted.bse[1] ** 2
    return expected


@pytest.mark.parametrize("n", [30, 57, 250, 5_000])
@pytest.mark.parametrize("covariates", [[], ["age"], ["age", "member"]])
def test_experiment_equals_statsmodels_hc1_to_1e10(n, covariates):
    """The closed-form OLS with HC1 gives statsmodels' numbers to 1e-10 on the same data."""
    for seed in range(3):
        frame = experiment_frame(n=n, seed=100 + seed)
        result = estimate_experiment(
            frame, outcome="spend", treatment="treated", covariates=covariates
        )
        got = {**result, **result["diagnostics"]}
        for name, value in statsmodels_experiment(frame, covariates).items():
            assert got[name] == pytest.approx(value, rel=1e-10, abs=1e-10), (name, n, seed)


def test_ols_hc1_equals_statsmodels_on_the_simulated_experiments():
    """On the loop's own samples (pilots of 50-500 units, scale samples of 5,000)."""
    import statsmodels.api as sm

    from impact_assets.components.measure.ols import ols_hc1
    from impact_assets.components.measure.simulate import simulate
    from impact_assets.config.models import SimulatedData

    spec = SimulatedData(source="simulated")
    for index, size in enumerate([50, 137, 500, 5_000]):
        frame = simulate(
            "experiment", spec, root_seed=42, initiative_id=f"i-{index}", stage="pilot",
            sample_size=size,
        )  # fmt: skip
        y = frame["outcome"].to_numpy(float)
        x = np.column_stack([np.ones(size), frame[["treatment", "x1", "x2"]].to_numpy(float)])
        fit, expected = ols_hc1(y, x), sm.OLS(y, x).fit(cov_type="HC1")
        np.testing.assert_allclose(fit.params, expected.params, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(fit.bse, expected.bse, rtol=1e-10, atol=1e-10)
        assert fit.rsquared == pytest.approx(expected.rsquared, rel=1e-10, abs=1e-10)
        assert fit.df_resid == expected.df_resid


# --- difference in differences ----------------------------------------------


def panel_frame(n_units: int = 40, n_periods: int = 6, seed: int = 3, drop: float = 0.0):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(2018, 2018 + n_periods), n_units)
    treated = (np.arange(n_units) < n_units // 3).astype(int)[unit]
    post = period >= 2021
    outcome = (
        rng.normal(size=n_units)[unit]
        + rng.normal(size=n_periods)[period - 2018]
        + 0.05 * treated * (period - 2018)  # a small pre-existing trend difference
        + 0.7 * treated * post
        + rng.normal(size=unit.size) * (1 + treated)
        + np.repeat(rng.normal(scale=0.5, size=n_units), n_periods)
        * rng.normal(size=unit.size)  # within-unit correlated shocks
    )
    frame = pd.DataFrame(
        {"store": [f"s{u:02d}" for u in unit], "year": period, "treated": treated, "sales": outcome}
    )
    if drop:
        frame = frame.sample(frac=1 - drop, random_state=seed).reset_index(drop=True)
    return frame


def twfe_by_dummies(frame: pd.DataFrame, regressor: np.ndarray):
    """Full dummy regression y ~ regressor + unit dummies + period dummies, CRVE by unit.

    Small-sample factor G/(G-1)*(N-1)/(N-K) with K = 1 + (periods - 1): the unit
    dummies are nested in the clusters and not counted.
    """
    units, unit_codes = np.unique(frame["store"], return_inverse=True)
    periods, period_codes = np.unique(frame["year"], return_inverse=True)
    x = np.column_stack(
        [regressor, np.eye(len(units))[unit_codes], np.eye(len(periods))[period_codes][:, 1:]]
    )
    y = frame["sales"].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    residuals = y - x @ beta
    scores = np.zeros((len(units), x.shape[1]))
    np.add.at(scores, unit_codes, x * residuals[:, None])
    n, g, k_within = len(y), len(units), 1 + len(periods) - 1
    cov = bread @ (scores.T @ scores) @ bread * g / (g - 1) * (n - 1) / (n - k_within)
    return beta[0], np.sqrt(cov[0, 0]), g, residuals


@pytest.mark.parametrize("drop", [0.0, 0.15], ids=["balanced", "unbalanced"])
def test_did_matches_dummy_regression_with_clustered_ses(drop):
    frame = panel_frame(drop=drop)
    result = estimate_difference_in_differences(
        frame, outcome="sales", unit="store", time="year", treated="treated", treatment_start=2021
    )
    exposure = frame["treated"].to_numpy() * (frame["year"].to_numpy() >= 2021)
    beta, se, g, residuals = twfe_by_dummies(frame, exposure)
    lower, upper, p = t_interval(beta, se, g - 1)
    assert_result(result, beta, lower, upper, p, CLOSED_FORM)
    y = frame["sales"].to_numpy()
    r_squared = 1 - (residuals**2).sum() / ((y - y.mean()) ** 2).sum()
    assert result["diagnostics"]["r_squared"] == pytest.approx(r_squared, abs=CLOSED_FORM)
    assert g == 40
    assert result["sample_size"] == len(frame)  # unit-period observations
    diagnostics = result["diagnostics"]
    assert diagnostics["few_treated_clusters"] == {
        "value": 13.0,
        "passed": True,
        "smaller_group": "treated",
        "minimum": 10,
    }
    assert diagnostics["inference"] == "cluster_robust_t(G-1)"
    assert (diagnostics["units"], diagnostics["treated_units"], diagnostics["control_units"]) == (
        40,
        13,
        27,
    )
    assert (diagnostics["pre_periods"], diagnostics["post_periods"]) == (3, 3)


def test_did_estimate_and_clustered_se_match_statsmodels():
    """statsmodels counts the unit dummies in K (N - K in the small-sample factor); the
    estimator does not (they are nested in the clusters): the SEs differ by exactly that."""
    import statsmodels.api as sm

    frame = panel_frame(drop=0.15)
    result = estimate_difference_in_differences(
        frame, outcome="sales", unit="store", time="year", treated="treated", treatment_start=2021
    )
    units, unit_codes = np.unique(frame["store"], return_inverse=True)
    periods, period_codes = np.unique(frame["year"], return_inverse=True)
    exposure = frame["treated"].to_numpy() * (frame["year"].to_numpy() >= 2021)
    x = np.column_stack(
        [exposure, np.eye(len(units))[unit_codes], np.eye(len(periods))[period_codes][:, 1:]]
    )
    fit = sm.OLS(frame["sales"].to_numpy(), x).fit(
        cov_type="cluster", cov_kwds={"groups": unit_codes}, use_t=True
    )
    n, k_statsmodels, k_within = len(frame), x.shape[1], len(periods)
    se = fit.bse[0] * np.sqrt((n - k_statsmodels) / (n - k_within))
    lower, upper, p = t_interval(fit.params[0], se, len(units) - 1)
    assert_result(result, fit.params[0], lower, upper, p, CLOSED_FORM)


def test_did_pre_trend_matches_dummy_regression():
    frame = panel_frame()
    result = estimate_difference_in_differences(
        frame, outcome="sales", unit="store", time="year", treated="treated", treatment_start=2021
    )
    pre = frame[frame["year"] < 2021].reset_index(drop=True)
    trend = pre["treated"].to_numpy() * (pre["year"].to_numpy() - 2018)
    beta, se, g, _ = twfe_by_dummies(pre, trend)
    p = 2 * stats.t.sf(abs(beta / se), g - 1)
    pre_trend = result["diagnostics"]["pre_trend"]
    assert pre_trend["value"] == pytest.approx(p, abs=CLOSED_FORM)
    assert pre_trend["passed"] is bool(p >= 0.05)


def test_did_treated_units_list_equals_treated_column():
    frame = panel_frame()
    by_column = estimate_difference_in_differences(
        frame, outcome="sales", unit="store", time="year", treated="treated", treatment_start=2021
    )
    listed = sorted(frame.loc[frame["treated"] == 1, "store"].unique())
    by_list = estimate_difference_in_differences(
        frame.drop(columns="treated"),
        outcome="sales",
        unit="store",
        time="year",
        treated_units=listed,
        treatment_start=2021,
    )
    assert by_list == by_column


def test_did_flags_few_treated_clusters_without_failing_the_bootstrap_built_for_them():
    frame = panel_frame(n_units=60)
    few = sorted(frame["store"].unique())[:6]
    result = estimate_difference_in_differences(
        frame, outcome="sales", unit="store", time="year", treated_units=few, treatment_start=2021
    )
    assert result["diagnostics"]["inference"] == "wild_cluster_bootstrap_webb"
    assert result["diagnostics"]["few_treated_clusters"] == {
        "value": 6.0,
        "passed": True,
        "smaller_group": "treated",
        "minimum": 10,
        "note": "6 treated units, fewer than 10: wild_cluster_bootstrap_webb is designed for "
        "few clusters",
    }


# --- interrupted time series --------------------------------------------------


def series_frame(n: int = 150, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.6 * noise[t - 1] + rng.normal()
    values = 5 + 0.02 * np.arange(n) + 0.8 * (np.arange(n) >= 90) + noise
    days = pd.date_range("2023-01-02", periods=n, freq="W-MON").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"week": days, "visits": values})
    return frame.sample(frac=1.0, random_state=seed)  # the estimator must sort by time


def ar1_covariance(rho: float, n: int) -> np.ndarray:
    """Covariance of a stationary AR(1) with unit innovation variance, built densely."""
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return rho**lags / (1 - rho**2)


def dense_gls(y: np.ndarray, x: np.ndarray, rho: float):
    """GLS by statsmodels with the full AR(1) covariance: coefficients, their (X'S^-1X)^-1
    and the residual sum of squares in the whitened metric."""
    import statsmodels.api as sm

    sigma = ar1_covariance(rho, len(y))
    fit = sm.GLS(y, x, sigma=sigma).fit()
    residuals = y - x @ fit.params
    return fit.params, fit.normalized_cov_params, residuals @ np.linalg.solve(sigma, residuals)


def dense_log_reml(y: np.ndarray, x: np.ndarray, rho: float) -> float:
    """Restricted log-likelihood of rho (s^2 profiled out), from the textbook dense formula."""
    sigma = ar1_covariance(rho, len(y))
    _, log_det_sigma = np.linalg.slogdet(sigma)
    _, bread, rss = dense_gls(y, x, rho)
    _, log_det_bread = np.linalg.slogdet(bread)
    n, k = x.shape
    return -0.5 * log_det_sigma + 0.5 * log_det_bread - 0.5 * (n - k) * np.log(rss)


def ljung_box_p(residuals: np.ndarray, lags: int, model_df: int) -> float:
    e = residuals - residuals.mean()
    n = len(e)
    r = np.array([e[:-k] @ e[k:] for k in range(1, lags + 1)]) / (e @ e)
    q = n * (n + 2) * np.sum(r**2 / (n - np.arange(1, lags + 1)))
    return float(stats.chi2.sf(q, lags - model_df))


@pytest.mark.parametrize("its_model", ["level", "level_and_slope"])
def test_its_matches_dense_reml_gls_and_numerical_integration_over_rho(its_model):
    """The estimate is GLS at the REML rho; the interval integrates the GLS t over rho.

    Reference: the dense AR(1) covariance (statsmodels GLS, slogdet), REML maximised by
    scipy, and the interval's tails by adaptive quadrature over rho (scipy.integrate.quad)
    with Jeffreys' prior ``(1 - rho^2)^(-1/2)``: none of the estimator's grid algebra.
    """
    from scipy import integrate, optimize

    frame = series_frame(n=60, seed=8)
    result = estimate_interrupted_time_series(
        frame, outcome="visits", time="week", intervention_time="2023-08-07", its_model=its_model
    )
    ordered = frame.sort_values("week")
    y = ordered["visits"].to_numpy()
    n = len(y)
    post = (ordered["week"] >= "2023-08-07").to_numpy(dtype=float)
    assert post.sum() == 29
    position = np.arange(n, dtype=float)
    columns = [np.ones(n), position, post]
    contrast = np.array([0.0, 0.0, 1.0])
    if its_model == "level_and_slope":
        since = post * (position - position[post > 0].min())
        columns.append(since)
        contrast = np.append(contrast, since[post > 0].mean())  # the mean effect after t0
    x = np.column_stack(columns)
    k = x.shape[1]

    best = optimize.minimize_scalar(
        lambda rho: -dense_log_reml(y, x, rho),
        bounds=(-0.99, 0.99),
        method="bounded",
        options={"xatol": 1e-9},
    )
    beta, _, _ = dense_gls(y, x, best.x)
    assert result["diagnostics"]["ar1_coefficient"] == pytest.approx(best.x, abs=1e-5)
    assert result["estimate"] == pytest.approx(contrast @ beta, abs=1e-6)

    def log_posterior(rho: float) -> float:
        return dense_log_reml(y, x, rho) - 0.5 * np.log(1 - rho**2)

    peak = log_posterior(best.x)

    def tail(value: float) -> float:
        def integrand(rho: float, cdf: bool) -> float:
            weight = np.exp(log_posterior(rho) - peak)
            if not cdf:
                return weight
            coefficients, bread, rss = dense_gls(y, x, rho)
            scale = np.sqrt(contrast @ bread @ contrast * rss / (n - k))
            return weight * stats.t.cdf((value - contrast @ coefficients) / scale, n - k)

        edges = (-0.995, 0.995)
        total = integrate.quad(integrand, *edges, args=(False,), points=[best.x], limit=200)[0]
        mass = integrate.quad(integrand, *edges, args=(True,), points=[best.x], limit=200)[0]
        return mass / total

    guess = result["ci_upper"] - result["ci_lower"]
    lower = optimize.brentq(
        lambda v: tail(v) - 0.025, result["ci_lower"] - guess, result["ci_lower"] + guess, xtol=1e-8
    )
    upper = optimize.brentq(
        lambda v: tail(v) - 0.975, result["ci_upper"] - guess, result["ci_upper"] + guess, xtol=1e-8
    )
    assert result["ci_lower"] == pytest.approx(lower, abs=1e-4 * guess)
    assert result["ci_upper"] == pytest.approx(upper, abs=1e-4 * guess)
    at_zero = tail(0.0)
    assert result["p_value"] == pytest.approx(2 * min(at_zero, 1 - at_zero), abs=1e-4)

    residuals = y - x @ beta
    whitened = residuals[1:] - best.x * residuals[:-1]
    autocorrelation = result["diagnostics"]["residual_autocorrelation"]
    assert autocorrelation["value"] == pytest.approx(
        ljung_box_p(whitened, min(10, n // 5), 1), abs=1e-4
    )
    assert result["diagnostics"]["its_model"] == its_model
    assert result["sample_size"] == n


def test_its_long_series_agrees_with_exact_ml_sarimax():
    """With T = 400, rho is known well: the interval is SARIMAX's exact-ML one, nearly."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(9)
    n = 400
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + rng.normal()
    post = (np.arange(n) >= 250).astype(float)
    y = 3 + 0.01 * np.arange(n) + 0.4 * post + noise
    result = estimate_interrupted_time_series(
        pd.DataFrame({"t": np.arange(n), "y": y}), outcome="y", time="t", intervention_time=250
    )
    exog = np.column_stack([np.ones(n), np.arange(n) / n, post])  # scaled: the optimiser
    fit = SARIMAX(y, exog=exog, order=(1, 0, 0), trend="n").fit(disp=False)
    lower, upper = fit.conf_int()[2]
    width = upper - lower
    assert result["estimate"] == pytest.approx(fit.params[2], abs=0.02 * width)
    assert result["ci_upper"] - result["ci_lower"] == pytest.approx(width, rel=0.05)
    assert result["diagnostics"]["ar1_coefficient"] == pytest.approx(fit.params[3], abs=0.02)


def test_its_accepts_numeric_time_and_a_date_threshold():
    import datetime as dt

    frame = series_frame().sort_values("week")
    as_text = estimate_interrupted_time_series(
        frame, outcome="visits", time="week", intervention_time="2024-09-23"
    )
    as_date = estimate_interrupted_time_series(
        frame, outcome="visits", time="week", intervention_time=dt.date(2024, 9, 23)
    )
    numbered = frame.assign(week=np.arange(len(frame)))
    as_number = estimate_interrupted_time_series(
        numbered, outcome="visits", time="week", intervention_time=90
    )
    assert as_text == as_date == as_number


# --- observational ------------------------------------------------------------


def observational_frame(n: int = 600, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n)
    income = rng.normal(size=n)
    urban = rng.integers(0, 2, n)
    propensity = 1 / (1 + np.exp(-(0.7 * age - 0.5 * income + 0.3 * urban)))
    member = (rng.uniform(size=n) < propensity).astype(int)
    spend = 1 + age + 0.5 * income + 0.4 * urban + 0.3 * member + rng.normal(size=n)
    return pd.DataFrame(
        {"spend": spend, "member": member, "age": age, "income": income, "urban": urban}
    )


def newton_logit(t: np.ndarray, z: np.ndarray) -> np.ndarray:
    beta = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ beta))
        step = np.linalg.solve(z.T @ (z * (p * (1 - p))[:, None]), z.T @ (t - p))
        beta += step
        if np.abs(step).max() < 1e-13:
            break
    return 1 / (1 + np.exp(-z @ beta))


def test_observational_matches_hand_rolled_aipw():
    frame = observational_frame()
    covariates = ["age", "income", "urban"]
    result = estimate_observational(
        frame, outcome="spend", treatment="member", covariates=covariates
    )
    y, t = frame["spend"].to_numpy(), frame["member"].to_numpy()
    z = np.column_stack([np.ones(len(frame)), frame[covariates].to_numpy()])
    e = newton_logit(t, z)
    fit1 = np.linalg.solve(z[t == 1].T @ z[t == 1], z[t == 1].T @ y[t == 1])
    fit0 = np.linalg.solve(z[t == 0].T @ z[t == 0], z[t == 0].T @ y[t == 0])
    mu1, mu0 = z @ fit1, z @ fit0
    psi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    n = len(y)
    lower, upper, p = t_interval(psi.mean(), psi.std(ddof=1) / np.sqrt(n), n - 1)
    assert_result(result, psi.mean(), lower, upper, p, ITERATIVE)

    weights = np.where(t == 1, 1 / e, 1 / (1 - e))
    smds = []
    for name in covariates:
        x = frame[name].to_numpy(dtype=float)
        diff = np.average(x[t == 1], weights=weights[t == 1]) - np.average(
            x[t == 0], weights=weights[t == 0]
        )
        smds.append(abs(diff) / np.sqrt((x[t == 1].var(ddof=1) + x[t == 0].var(ddof=1)) / 2))
    diagnostics = result["diagnostics"]
    assert diagnostics["covariate_balance"]["value"] == pytest.approx(max(smds), abs=ITERATIVE)
    overlap = diagnostics["propensity_overlap"]
    assert overlap["min"] == pytest.approx(e.min(), abs=ITERATIVE)
    assert overlap["max"] == pytest.approx(e.max(), abs=ITERATIVE)
    assert overlap["value"] == pytest.approx(min(e.min(), 1 - e.max()), abs=ITERATIVE)
    assert overlap["passed"] is bool(e.min() >= 0.05 and e.max() <= 0.95)


def test_every_diagnostic_is_value_and_passed_or_a_plain_value():
    results = [
        estimate_experiment(experiment_frame(), outcome="spend", treatment="treated"),
        estimate_difference_in_differences(
            panel_frame(),
            outcome="sales",
            unit="store",
            time="year",
            treated="treated",
            treatment_start=2021,
        ),
        estimate_interrupted_time_series(
            series_frame(), outcome="visits", time="week", intervention_time="2024-09-23"
        ),
        estimate_observational(
            observational_frame(), outcome="spend", treatment="member", covariates=["age"]
        ),
    ]
    for result in results:
        diagnostics = result["diagnostics"]
        assert isinstance(diagnostics.pop("r_squared"), float)
        assert isinstance(diagnostics.pop("inference"), str)
        for name, diagnostic in diagnostics.items():
            if isinstance(diagnostic, dict):
                assert isinstance(diagnostic["value"], float), name
                assert isinstance(diagnostic["passed"], bool), name
            else:  # descriptive: counts, the AR coefficient, the model variant
                assert isinstance(diagnostic, (int, float, str)), name
        assert result["ci_lower"] < result["estimate"] < result["ci_upper"]


# --- degenerate input -----------------------------------------------------------


def test_experiment_refuses_degenerate_input():
    frame = experiment_frame(n=100)
    with pytest.raises(ValueError, match="treatment: column 'treated' holds only treated units"):
        estimate_experiment(frame.assign(treated=1), outcome="spend", treatment="treated")
    with pytest.raises(ValueError, match="too few units .*: 20; .* at least 30"):
        estimate_experiment(frame.head(20), outcome="spend", treatment="treated")
    with pytest.raises(ValueError, match=r"treatment: column 'treated' must be 0/1 .*2"):
        estimate_experiment(
            frame.assign(treated=frame["treated"] * 2), outcome="spend", treatment="treated"
        )
    with pytest.raises(ValueError, match="singular design .*age, age2"):
        estimate_experiment(
            frame.assign(age2=2 * frame["age"]),
            outcome="spend",
            treatment="treated",
            covariates=["age", "age2"],
        )
    with pytest.raises(ValueError, match="outcome: column 'spend' has 1 missing"):
        estimate_experiment(
            frame.assign(spend=frame["spend"].where(frame.index != 3)),
            outcome="spend",
            treatment="treated",
        )
    with pytest.raises(ValueError, match="outcome: column 'nope' not in the data"):
        estimate_experiment(frame, outcome="nope", treatment="treated")


def test_did_refuses_degenerate_input():
    frame = panel_frame()
    common = {"outcome": "sales", "unit": "store", "time": "year"}
    every_store = sorted(frame["store"].unique())
    with pytest.raises(ValueError, match="treated_units: 0 control unit.*at least 2"):
        estimate_difference_in_differences(
            frame, **common, treated_units=every_store, treatment_start=2021
        )
    with pytest.raises(ValueError, match="treated: 0 treated unit.*at least 1"):
        estimate_difference_in_differences(
            frame.assign(treated=0), **common, treated="treated", treatment_start=2021
        )
    with pytest.raises(ValueError, match="treated_units: not in column 'store': 'zz'"):
        estimate_difference_in_differences(
            frame, **common, treated_units=["s01", "zz"], treatment_start=2021
        )
    with pytest.raises(ValueError, match="treatment_start: 0 post-treatment period.*at least 1"):
        estimate_difference_in_differences(frame, **common, treated="treated", treatment_start=2099)
    with pytest.raises(ValueError, match="exactly one of treated"):
        estimate_difference_in_differences(
            frame, **common, treated="treated", treated_units=["s01"], treatment_start=2021
        )
    varying = frame.assign(treated=(frame["year"] >= 2021).astype(int))
    with pytest.raises(ValueError, match="constant within each unit"):
        estimate_difference_in_differences(
            varying, **common, treated="treated", treatment_start=2021
        )
    few_rows = frame[frame["store"].isin(every_store[:4])]
    with pytest.raises(ValueError, match="too few observations .*: 24; .* at least 30"):
        estimate_difference_in_differences(
            few_rows, **common, treated="treated", treatment_start=2021
        )
    with pytest.raises(ValueError, match="treatment_start: 1 pre-treatment period.*at least 2"):
        estimate_difference_in_differences(frame, **common, treated="treated", treatment_start=2019)
    one_control = frame[frame["treated"].eq(1) | frame["store"].eq(every_store[-1])]
    with pytest.raises(ValueError, match="treated: 1 control unit.*at least 2"):
        estimate_difference_in_differences(
            one_control, **common, treated="treated", treatment_start=2021
        )


def test_its_refuses_degenerate_input():
    frame = series_frame()
    with pytest.raises(ValueError, match="intervention_time: '2099-01-01' leaves 150 .* and 0"):
        estimate_interrupted_time_series(
            frame, outcome="visits", time="week", intervention_time="2099-01-01"
        )
    with pytest.raises(ValueError, match="time: column 'week' has repeated values"):
        estimate_interrupted_time_series(
            pd.concat([frame, frame.head(1)]),
            outcome="visits",
            time="week",
            intervention_time="2024-09-23",
        )
    with pytest.raises(ValueError, match="too few time points: 25"):
        estimate_interrupted_time_series(
            frame.sort_values("week").head(25),
            outcome="visits",
            time="week",
            intervention_time="2023-04-03",
        )


def test_observational_refuses_degenerate_input():
    frame = observational_frame(n=200)
    with pytest.raises(ValueError, match="covariates: .* needs covariates"):
        estimate_observational(frame, outcome="spend", treatment="member", covariates=[])
    separated = frame.assign(age=np.where(frame["member"] == 1, 1.0, -1.0) + 0.01 * frame["age"])
    with pytest.raises(ValueError, match="propensity model: .*separate"):
        estimate_observational(separated, outcome="spend", treatment="member", covariates=["age"])
