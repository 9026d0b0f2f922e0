"""Coverage of the 95% intervals where pilots are small, by simulation with a known effect.

Each test draws ``R`` independent samples from a fixed seed and counts how often
the interval contains the true effect. The Monte Carlo standard deviation of a
coverage ``c`` estimated from ``R`` samples is ``sqrt(c (1 - c) / R)``; the
acceptance bands are the claims, and ``R`` is chosen so that each band lies at
least ~2.5 Monte Carlo SDs from the coverage expected of a correct method (0.95,
or the band's own level for the conservative wild bootstrap) while a method
making the mistake the test is about lands several SDs outside it:

| design | R | band | MC SD at 0.95 | the mistake it catches |
| --- | --- | --- | --- | --- |
| DiD 24 units, 3 treated (WCR) | 1000 | 0.91-0.99 | 0.0069 | CRVE t(G-1), few treated |
| DiD 33 units, 30 treated (WCR) | 1000 | at least 0.91 | 0.0069 | CRVE t(G-1), few controls |
| DiD 30 units, 13 treated (CRVE t(G-1)) | 1000 | 0.93-0.97 | 0.0069 | ignoring the clustering |
| DiD 30 units, 2 treated (RI) | 1000 | 0.93-0.99 | 0.0069 | CRVE with 2 treated (~0.70) |
| ITS T = 30 and T = 50, AR(1) 0.5 | 1500 | 0.93-0.97 | 0.0056 | plugging in rho (0.886 at T = 30) |
| ITS level and slope, T = 50 | 500 | 0.93-0.99 | 0.0097 | |
| synthetic control, 40 units, T = 40 | 400 | 0.92-0.99 | 0.0109 | |

For each DiD design the same samples are also analysed with plain (not
clustered) OLS standard errors, which must miss the band: the simulated errors
are AR(1) within units (rho 0.7), so the test would fail if the clustering were
dropped. With 3 units in the smaller group the wild bootstrap is conservative
(0.986 with 3 treated of 24, 0.991 with 3 controls of 33: relabelling the groups
negates the estimate and the cluster scores, so the two are the same design up to
size). The 3-controls design is checked for its lower end only: it was added to show
that few controls, like few treated, need the bootstrap, and over-coverage of a
conservative method is not what it tests.
Bias: ``|mean estimate - truth| <= 3`` Monte Carlo SEs of the mean.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from impact_assets.components.measure.cluster_inference import fit_panel
from impact_assets.components.measure.estimators import estimate
from impact_assets.components.measure.inputs import t_interval
from impact_assets.components.measure.panel import TwoWayPanel
from impact_assets.components.measure.simulate import did_panel, simulate, simulated_columns
from impact_assets.config.models import SimulatedData
from impact_assets.contracts.types import Method, Stage

pytestmark = pytest.mark.slow

SEED = 20260415
TRUE_EFFECT = 0.3
DID_COLUMNS = {"outcome": "outcome", "unit": "unit", "time": "period", "treated": "treated"}


def mc_sd(coverage: float, reps: int) -> float:
    return math.sqrt(coverage * (1 - coverage) / reps)


def report(label: str, covered: list[bool], band: tuple[float, float]) -> float:
    coverage = float(np.mean(covered))
    print(
        f"\n{label}: coverage {coverage:.3f} over {len(covered)} samples "
        f"(MC SD {mc_sd(max(min(coverage, 0.999), 0.001), len(covered)):.4f}; band {band})"
    )
    return coverage


def cluster_robust_covers(frame, truth: float) -> bool:
    """The same TWFE fit with CRVE t(G-1), whatever the design (what was used before)."""
    units, periods = frame["unit"].to_numpy(), frame["period"].to_numpy()
    treated = (np.bincount(units, weights=frame["treated"].to_numpy()) > 0).astype(float)
    fit = fit_panel(
        TwoWayPanel(units, periods), frame["outcome"].to_numpy(), treated, periods >= 4.0
    )
    lower, upper, _ = t_interval(fit.estimate, fit.se, fit.df)
    return lower <= truth <= upper


def naive_ols_covers(frame, truth: float) -> bool:
    """The textbook mistake: OLS with unit and period dummies and iid standard errors."""
    units, periods = frame["unit"].to_numpy(), frame["period"].to_numpy()
    exposure = frame["treated"].to_numpy() * (periods >= 4)
    x = np.column_stack(
        [exposure, np.eye(units.max() + 1)[units], np.eye(periods.max() + 1)[periods][:, 1:]]
    )
    y = frame["outcome"].to_numpy()
    coefficients, residual_ss, _, _ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    se = math.sqrt(residual_ss[0] / df * np.linalg.inv(x.T @ x)[0, 0])
    half_width = stats.t.ppf(0.975, df) * se
    return abs(coefficients[0] - truth) <= half_width


@pytest.mark.parametrize(
    ("units", "treated", "method", "band"),
    [
        (24, 3, "wild_cluster_bootstrap_webb", (0.91, 0.99)),
        (33, 30, "wild_cluster_bootstrap_webb", (0.91, 1.0)),
        (30, 13, "cluster_robust_t(G-1)", (0.93, 0.97)),
        (30, 2, "randomization_inference", (0.93, 0.99)),
    ],
    ids=["24-units-3-treated", "33-units-30-treated", "30-units-13-treated",
         "30-units-2-treated"],
)
def test_did_intervals_cover_and_ignoring_the_clustering_does_not(units, treated, method, band):
    reps = 1000
    rng = np.random.default_rng([SEED, units, treated])
    covered, naive, cluster_robust, estimates = [], [], [], []
    for _ in range(reps):
        frame = did_panel(rng, units, treated, TRUE_EFFECT, 1.0)
        result = estimate(
            Method.DIFFERENCE_IN_DIFFERENCES, frame, {**DID_COLUMNS, "treatment_start": 4}
        )
        assert result["diagnostics"]["inference"] == method
        # the intervals below cover: a diagnostic failing here would penalise a sound one
        assert result["diagnostics"]["few_treated_clusters"]["passed"] is True
        covered.append(result["ci_lower"] <= TRUE_EFFECT <= result["ci_upper"])
        naive.append(naive_ols_covers(frame, TRUE_EFFECT))
        cluster_robust.append(cluster_robust_covers(frame, TRUE_EFFECT))
        estimates.append(result["estimate"])
    coverage = report(f"DiD {units} units, {treated} treated, {method}", covered, band)
    naive_coverage = report("  same samples, plain OLS SEs", naive, band)
    report("  same samples, CRVE t(G-1) whatever the design", cluster_robust, band)
    low, high = band
    assert low <= coverage <= high
    assert naive_coverage < low - 2.5 * mc_sd(low, reps)
    if method != "cluster_robust_t(G-1)":  # why the design, not habit, picks the method
        assert np.mean(cluster_robust) < low - 2.5 * mc_sd(low, reps)
    spread = np.std(estimates, ddof=1) / math.sqrt(reps)
    assert abs(np.mean(estimates) - TRUE_EFFECT) <= 3 * spread


def simulated_samples(method: Method, size: int, reps: int, noise_sd: float = 1.0):
    spec = SimulatedData(source="simulated", true_effect=TRUE_EFFECT, noise_sd=noise_sd)
    for rep in range(reps):
        frame = simulate(
            method, spec, root_seed=SEED, initiative_id=f"cover-{rep}", stage=Stage.PILOT,
            sample_size=size,
        )  # fmt: skip
        yield frame, simulated_columns(method, size)


@pytest.mark.parametrize(
    ("points", "its_model", "reps", "band"),
    [(30, "level", 1500, (0.93, 0.97)), (50, "level", 1500, (0.93, 0.97)),
     (50, "level_and_slope", 500, (0.93, 0.99))],
)  # fmt: skip
def test_its_intervals_cover_in_short_series(points, its_model, reps, band):
    """The simulated series has a level shift only, so under ``level_and_slope`` the mean
    post-period effect is the level shift too."""
    covered = []
    for frame, columns in simulated_samples(Method.INTERRUPTED_TIME_SERIES, points, reps):
        result = estimate(Method.INTERRUPTED_TIME_SERIES, frame, columns, {"its_model": its_model})
        covered.append(result["ci_lower"] <= TRUE_EFFECT <= result["ci_upper"])
    coverage = report(f"ITS T = {points}, {its_model}", covered, band)
    assert band[0] <= coverage <= band[1]


def test_synthetic_control_is_unbiased_and_its_placebo_interval_covers():
    reps, band = 400, (0.92, 0.99)
    covered, estimates = [], []
    for frame, columns in simulated_samples(Method.SYNTHETIC_CONTROL, 40, reps):
        result = estimate(Method.SYNTHETIC_CONTROL, frame, columns)
        covered.append(result["ci_lower"] <= TRUE_EFFECT <= result["ci_upper"])
        estimates.append(result["estimate"])
    coverage = report("synthetic control, 40 units, T = 40", covered, band)
    spread = np.std(estimates, ddof=1) / math.sqrt(reps)
    print(f"  bias {np.mean(estimates) - TRUE_EFFECT:+.4f} (MC SE {spread:.4f})")
    assert band[0] <= coverage <= band[1]
    assert abs(np.mean(estimates) - TRUE_EFFECT) <= 3 * spread


def test_doubly_robust_estimate_is_unbiased_where_regression_adjustment_is_not():
    """The simulated outcome is non-linear in x1 (exp(x1)) and the treated are tilted to
    high x1: linear regression adjustment (one linear model per arm, averaged over every
    unit) extrapolates the treated arm's line and is biased, the naive difference is
    confounded, and AIPW, whose propensity model is right, is not biased."""
    reps, size = 200, 3000
    aipw, adjusted, naive = [], [], []
    for frame, columns in simulated_samples(Method.OBSERVATIONAL, size, reps):
        aipw.append(estimate(Method.OBSERVATIONAL, frame, columns)["estimate"])
        y, t = frame["outcome"].to_numpy(), frame["treatment"].to_numpy()
        x = np.column_stack([np.ones(size), frame[columns["covariates"]].to_numpy()])
        treated_fit = np.linalg.lstsq(x[t == 1], y[t == 1], rcond=None)[0]
        control_fit = np.linalg.lstsq(x[t == 0], y[t == 0], rcond=None)[0]
        adjusted.append(float(np.mean(x @ treated_fit - x @ control_fit)))
        naive.append(y[t == 1].mean() - y[t == 0].mean())
    z_scores = {}
    for name, values in (("AIPW", aipw), ("regression adjustment", adjusted), ("naive", naive)):
        values = np.asarray(values)
        mc_se = values.std(ddof=1) / math.sqrt(reps)
        z_scores[name] = (values.mean() - TRUE_EFFECT) / mc_se
        print(f"\n{name}: bias {values.mean() - TRUE_EFFECT:+.4f} (MC SE {mc_se:.4f})")
    assert abs(z_scores["AIPW"]) <= 3
    assert abs(z_scores["regression adjustment"]) > 6
    assert abs(z_scores["naive"]) > 6
