"""Synthetic control against known results and independent computations.

- A treated unit that is an exact convex combination of donors: the weights are
  recovered, and the effect with them.
- The simplex weights against scipy's SLSQP and the ``pysyncon`` package (the
  classic Abadie-Diamond-Hainmueller solver with the pre-period outcomes as the
  predictors and V = I).
- The placebo p-value and interval against a hand-rolled placebo loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from impact_assets.components.measure.synthetic_control import (
    estimate_synthetic_control,
    simplex_weights,
)

COLUMNS = {"outcome": "sales", "unit": "region", "time": "week"}
DONORS, PERIODS, START = 24, 30, 18


def donor_panel(seed: int) -> np.ndarray:
    """Donor outcomes (donors x periods) from a two-factor model with noise."""
    rng = np.random.default_rng(seed)
    factors = np.cumsum(rng.normal(size=(2, PERIODS)), axis=1)
    loadings = rng.normal(size=(DONORS, 2))
    levels = rng.normal(scale=3.0, size=DONORS)
    return levels[:, None] + loadings @ factors + rng.normal(scale=0.5, size=(DONORS, PERIODS))


def as_frame(treated: np.ndarray, donors: np.ndarray) -> pd.DataFrame:
    series = np.vstack([treated[None, :], donors])
    names = ["treated-region"] + [f"donor-{j:02d}" for j in range(len(donors))]
    return pd.DataFrame(
        {
            "region": np.repeat(names, PERIODS),
            "week": np.tile(np.arange(PERIODS), len(names)),
            "sales": series.ravel(),
        }
    )


TRUE_WEIGHTS = {3: 0.5, 7: 0.3, 19: 0.2}


def test_exact_convex_combination_recovers_the_weights_and_the_effect():
    donors = donor_panel(seed=1)
    weights = np.zeros(DONORS)
    for donor, weight in TRUE_WEIGHTS.items():
        weights[donor] = weight
    treated = weights @ donors
    found = simplex_weights(donors[:, :START].T, treated[:START])
    np.testing.assert_allclose(found, weights, atol=1e-6)

    effect = 1.5
    noise = np.random.default_rng(2).normal(scale=0.05, size=PERIODS)
    observed = treated + noise + effect * (np.arange(PERIODS) >= START)
    result = estimate_synthetic_control(
        as_frame(observed, donors),
        **COLUMNS,
        treatment_start=START,
        treated_units=["treated-region"],
    )
    assert result["estimate"] == pytest.approx(effect, abs=0.1)
    assert result["ci_lower"] < effect < result["ci_upper"]
    diagnostics = result["diagnostics"]
    assert list(diagnostics["largest_donor_weights"])[:3] == ["donor-03", "donor-07", "donor-19"]
    assert diagnostics["largest_donor_weights"]["donor-03"] == pytest.approx(0.5, abs=0.05)
    assert diagnostics["inference"] == "placebo_in_space_rmspe_ratio"
    assert diagnostics["pre_rmspe"]["passed"] is True
    assert diagnostics["pre_rmspe"]["value"] < 0.1
    assert diagnostics["donors"] == DONORS
    assert result["sample_size"] == (DONORS + 1) * PERIODS
    assert result["p_value"] == pytest.approx(1 / (DONORS + 1))  # no placebo looks like it


def slsqp_weights(donors: np.ndarray, target: np.ndarray) -> np.ndarray:
    count = donors.shape[1]
    solution = optimize.minimize(
        lambda w: np.sum((target - donors @ w) ** 2),
        np.full(count, 1 / count),
        jac=lambda w: -2 * donors.T @ (target - donors @ w),
        bounds=[(0, 1)] * count,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    return solution.x


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_simplex_weights_match_slsqp(seed):
    donors = donor_panel(seed)
    rng = np.random.default_rng(seed + 100)
    target = donors[:, :START].T @ rng.dirichlet(np.ones(DONORS)) + rng.normal(size=START)
    ours = simplex_weights(donors[:, :START].T, target)
    reference = slsqp_weights(donors[:, :START].T, target)
    loss = lambda w: np.sum((target - donors[:, :START].T @ w) ** 2)  # noqa: E731
    assert ours.min() >= 0 and ours.sum() == pytest.approx(1.0, abs=1e-12)
    assert loss(ours) <= loss(reference) + 1e-8
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_simplex_weights_match_pysyncon():
    pysyncon = pytest.importorskip("pysyncon")
    donors = donor_panel(seed=6)
    rng = np.random.default_rng(7)
    target = donors[:, :START].T @ rng.dirichlet(np.ones(DONORS) / 4) + rng.normal(size=START)
    periods = [f"w{t}" for t in range(START)]
    x0 = pd.DataFrame(donors[:, :START].T, index=periods, columns=[f"d{j}" for j in range(DONORS)])
    x1 = pd.Series(target, index=periods, name="treated")
    # pysyncon divides each predictor by its SD across units; V = diag(SD^2) undoes that,
    # so its objective is the plain squared pre-period gap, as ours.
    spread = pd.concat([x0, x1], axis=1).std(axis=1).to_numpy()
    synth = pysyncon.Synth()
    synth.fit(X0=x0, X1=x1, Z0=x0, Z1=x1, custom_V=spread**2)
    reference = np.asarray(synth.W)
    ours = simplex_weights(donors[:, :START].T, target)
    loss = lambda w: np.sum((target - donors[:, :START].T @ w) ** 2)  # noqa: E731
    assert loss(ours) <= loss(reference) * (1 + 1e-6) + 1e-9
    np.testing.assert_allclose(ours, reference, atol=2e-3)


def test_placebo_p_value_and_interval_match_a_hand_rolled_placebo_loop():
    donors = donor_panel(seed=8)
    rng = np.random.default_rng(9)
    treated = rng.dirichlet(np.ones(DONORS)) @ donors + rng.normal(scale=0.5, size=PERIODS)
    treated[START:] += 0.8
    result = estimate_synthetic_control(
        as_frame(treated, donors),
        **COLUMNS,
        treatment_start=START,
        treated_units=["treated-region"],
    )
    pre = np.arange(PERIODS) < START

    def gap(series: np.ndarray, pool: np.ndarray) -> np.ndarray:
        return series - slsqp_weights(pool[:, pre].T, series[pre]) @ pool

    def rmspe(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean(values**2)))

    treated_gap = gap(treated, donors)
    placebo_gaps = [gap(donors[j], np.delete(donors, j, axis=0)) for j in range(DONORS)]
    ratio = rmspe(treated_gap[~pre]) / rmspe(treated_gap[pre])
    ratios = [rmspe(g[~pre]) / rmspe(g[pre]) for g in placebo_gaps]
    assert result["p_value"] == pytest.approx((1 + sum(r >= ratio for r in ratios)) / 25)

    def accepted(tau: float) -> bool:
        score = abs(treated_gap[~pre].mean() - tau) / rmspe(treated_gap[pre])
        scores = [abs(g[~pre].mean()) / rmspe(g[pre]) for g in placebo_gaps]
        return (1 + sum(s >= score for s in scores)) / 25 > 0.05

    width = result["ci_upper"] - result["ci_lower"]
    assert result["estimate"] == pytest.approx(treated_gap[~pre].mean(), abs=1e-3)
    for edge, outward in ((result["ci_lower"], -1), (result["ci_upper"], 1)):
        assert accepted(edge - outward * 0.01 * width)
        assert not accepted(edge + outward * 0.01 * width)


def test_refuses_what_it_cannot_estimate():
    donors = donor_panel(seed=10)
    frame = as_frame(donors.mean(axis=0) + 0.3, donors)
    few = frame[frame["region"].isin(["treated-region"] + [f"donor-{j:02d}" for j in range(10)])]
    with pytest.raises(ValueError, match="10 donor .* at least 19"):
        estimate_synthetic_control(
            few, **COLUMNS, treatment_start=START, treated_units=["treated-region"]
        )
    with pytest.raises(ValueError, match="unbalanced .*1 unit-period rows missing"):
        estimate_synthetic_control(
            frame.iloc[1:], **COLUMNS, treatment_start=START, treated_units=["treated-region"]
        )
    with pytest.raises(ValueError, match="treatment_start: 1 pre-treatment period"):
        estimate_synthetic_control(
            frame, **COLUMNS, treatment_start=1, treated_units=["treated-region"]
        )


def test_several_treated_units_are_compared_as_their_mean():
    donors = donor_panel(seed=11)
    first = 0.6 * donors[2] + 0.4 * donors[5]
    second = 0.5 * donors[9] + 0.5 * donors[12]
    rng = np.random.default_rng(12)
    lift = 0.9 * (np.arange(PERIODS) >= START)
    series = np.vstack([first + lift, second + lift]) + rng.normal(scale=0.05, size=(2, PERIODS))
    frame = pd.concat(
        [
            as_frame(series[0], donors),
            as_frame(series[1], donors[:0]).replace("treated-region", "treated-region-2"),
        ]
    )
    result = estimate_synthetic_control(
        frame,
        **COLUMNS,
        treatment_start=START,
        treated_units=["treated-region", "treated-region-2"],
    )
    assert result["diagnostics"]["treated_units"] == 2
    assert result["diagnostics"]["donors"] == DONORS
    assert result["estimate"] == pytest.approx(0.9, abs=0.1)
    assert set(list(result["diagnostics"]["largest_donor_weights"])[:4]) == {
        "donor-02", "donor-05", "donor-09", "donor-12",
    }  # fmt: skip
