"""DiD inference chosen by the design, each method against an independent reference.

- the restricted wild cluster bootstrap against the ``wildboottest`` package on the
  full dummy regression, with the same Webb draws;
- randomization inference against refitting the dummy regression for every
  assignment of the treated units;
- the choice of method, the small-panel gates and the diagnostics' shape.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from impact_assets.components.evaluate.evidence import diagnostics_score
from impact_assets.components.measure import cluster_inference as inference
from impact_assets.components.measure.did import estimate_difference_in_differences
from impact_assets.components.measure.panel import TwoWayPanel
from impact_assets.components.measure.simulate import did_panel

COLUMNS = {"outcome": "outcome", "unit": "unit", "time": "period", "treatment_start": 4}


def panel(n_units: int, n_treated: int, seed: int, effect: float = 0.0, drop: float = 0.0):
    frame = did_panel(np.random.default_rng(seed), n_units, n_treated, effect, 2.0)
    if drop:
        frame = frame.sample(frac=1 - drop, random_state=seed)
        frame = frame.sort_values(["unit", "period"]).reset_index(drop=True)
    return frame


def fitted(frame: pd.DataFrame, pattern: np.ndarray | None = None) -> inference.PanelFit:
    units, periods = frame["unit"].to_numpy(), frame["period"].to_numpy()
    treated = (np.bincount(units, weights=frame["treated"].to_numpy()) > 0).astype(float)
    post = (periods >= 4).astype(float) if pattern is None else pattern
    return inference.fit_panel(
        TwoWayPanel(units, periods), frame["outcome"].to_numpy(), treated, post
    )


def dummy_design(frame: pd.DataFrame, treated_units: np.ndarray) -> np.ndarray:
    """[exposure, unit dummies, period dummies but the first]: the textbook TWFE design."""
    units, periods = frame["unit"].to_numpy(), frame["period"].to_numpy()
    exposure = np.isin(units, treated_units) * (periods >= 4)
    n_units, n_periods = units.max() + 1, periods.max() + 1
    return np.column_stack(
        [exposure, np.eye(n_units)[units], np.eye(n_periods)[periods][:, 1:]]
    ).astype(float)


def test_the_design_chooses_the_interval_method():
    assert inference.choose_inference(13, 17) == "cluster_robust_t(G-1)"
    assert inference.choose_inference(10, 10) == "cluster_robust_t(G-1)"
    assert inference.choose_inference(9, 40) == "wild_cluster_bootstrap_webb"
    assert inference.choose_inference(3, 21) == "wild_cluster_bootstrap_webb"
    assert inference.choose_inference(25, 3) == "wild_cluster_bootstrap_webb"
    assert inference.choose_inference(2, 28) == "randomization_inference"
    assert inference.choose_inference(1, 29) == "randomization_inference"
    assert inference.choose_inference(28, 2) == "randomization_inference"


def test_wild_cluster_bootstrap_matches_wildboottest():
    """Same data (unbalanced), same Webb draws: the same p-value at every tested effect."""
    wildboottest = pytest.importorskip("wildboottest.wildboottest")
    from wildboottest.weights import draw_weights

    frame = panel(12, 4, seed=5, drop=0.1)
    fit = fitted(frame)
    treated_units = np.flatnonzero(fit.treated)
    x = dummy_design(frame, treated_units)
    y = frame["outcome"].to_numpy()
    units = frame["unit"].to_numpy()
    draws, seed = 999, 11
    weights, _ = draw_weights("webb", False, fit.panel.n_units, draws, np.random.default_rng(seed))
    p_value_at = inference.wild_bootstrap_p_values(fit, weights)
    p_values = []
    for tau in [0.0] + [fit.estimate + k * fit.se for k in (-3, -2, -1, 0.5, 1.5, 2.5)]:
        reference = wildboottest.WildboottestCL(
            X=x, Y=y - tau * x[:, 0], cluster=units, R=np.eye(x.shape[1])[0], B=draws,
            seed=seed, parallel=False,
        )  # fmt: skip
        reference.get_scores(bootstrap_type="11", impose_null=True)
        reference.get_weights(weights_type="webb")
        assert np.array_equal(reference.v, weights)
        reference.get_numer()
        reference.get_denom()
        reference.get_tboot()
        reference.get_vcov()
        reference.get_tstat()
        reference.get_pvalue()
        assert p_value_at(tau) == pytest.approx(reference.pvalue, abs=1e-12)
        p_values.append(reference.pvalue)
    assert min(p_values) < 0.05 < max(p_values)  # the comparison spans the interval's edges


def refitted_estimate(frame: pd.DataFrame, treated_units, y: np.ndarray) -> float:
    x = dummy_design(frame, np.asarray(treated_units))
    return float(np.linalg.lstsq(x, y, rcond=None)[0][0])


@pytest.mark.parametrize(
    ("n_units", "n_treated"), [(9, 2), (9, 7)], ids=["2 treated", "2 controls"]
)
def test_randomization_inference_matches_refitting_every_assignment(n_units, n_treated):
    frame = panel(n_units, n_treated, seed=2, effect=1.0, drop=0.05)
    fit = fitted(frame)
    p_value_at = inference.randomization_p_values(fit)
    actual = np.flatnonzero(fit.treated)
    y = frame["outcome"].to_numpy()
    exposure = dummy_design(frame, actual)[:, 0]
    assignments = list(combinations(range(n_units), n_treated))
    assert len(assignments) == 36

    def brute_force_p(tau: float) -> float:
        adjusted = y - tau * exposure  # the sharp null: no effect left
        observed = abs(refitted_estimate(frame, actual, adjusted))
        placebo = [abs(refitted_estimate(frame, a, adjusted)) for a in assignments]
        return float(np.mean(np.array(placebo) >= observed - 1e-9))

    for tau in (0.0, fit.estimate - 2 * fit.se, fit.estimate + 0.7 * fit.se, 5.0):
        assert p_value_at(tau) == pytest.approx(brute_force_p(tau), abs=1e-12)
    lower, upper, p_value = inference.infer(fit, "randomization_inference")
    assert p_value == pytest.approx(brute_force_p(0.0))
    width = upper - lower
    for edge, outward in ((lower, -1), (upper, 1)):
        assert brute_force_p(edge - outward * 1e-4 * width) > 0.05  # just inside: accepted
        assert brute_force_p(edge + outward * 1e-4 * width) <= 0.05  # just outside: rejected


def test_randomization_inference_refuses_too_few_assignments():
    frame = panel(6, 1, seed=3)
    with pytest.raises(ValueError, match="allow only 6 assignments.*at least 20"):
        estimate_difference_in_differences(frame, treated="treated", **COLUMNS)


def test_a_27_state_6_quarter_panel_is_measured():
    """The textbook policy panel the old 30-unit rule refused: 27 units, 162 observations."""
    rng = np.random.default_rng(27)
    frame = did_panel(rng, 27, 9, 0.5, 1.0, periods=6, treatment_start=3)
    result = estimate_difference_in_differences(
        frame, treated="treated", **{**COLUMNS, "treatment_start": 3}
    )
    diagnostics = result["diagnostics"]
    assert result["sample_size"] == 162
    assert diagnostics["inference"] == "wild_cluster_bootstrap_webb"
    assert (diagnostics["units"], diagnostics["treated_units"], diagnostics["control_units"]) == (
        27,
        9,
        18,
    )
    assert (diagnostics["pre_periods"], diagnostics["post_periods"]) == (3, 3)
    few = diagnostics["few_treated_clusters"]
    assert (few["value"], few["passed"], few["smaller_group"]) == (9.0, True, "treated")
    assert few["note"].startswith("9 treated units, fewer than 10")
    assert 0.0 <= diagnostics["pre_trend"]["value"] <= 1.0
    assert result["ci_lower"] < result["estimate"] < result["ci_upper"]


@pytest.mark.parametrize(
    ("n_units", "n_treated", "method"),
    [(30, 13, "cluster_robust_t(G-1)"), (24, 3, "wild_cluster_bootstrap_webb"),
     (30, 2, "randomization_inference")],
)  # fmt: skip
def test_each_design_reports_its_method_and_only_pass_fail_entries_score(
    n_units, n_treated, method
):
    frame = panel(n_units, n_treated, seed=4, effect=0.3)
    result = estimate_difference_in_differences(frame, treated="treated", **COLUMNS)
    diagnostics = result["diagnostics"]
    assert diagnostics["inference"] == method
    assert result["sample_size"] == n_units * 8
    verdicts = [entry["passed"] for entry in diagnostics.values() if isinstance(entry, dict)]
    assert len(verdicts) == 2  # few_treated_clusters and pre_trend; the rest are plain values
    assert diagnostics_score(diagnostics) == sum(verdicts) / 2
    again = estimate_difference_in_differences(frame, treated="treated", **COLUMNS)
    assert again == result  # seeded by the data: the same draws every time


def test_the_wild_bootstrap_interval_is_the_set_its_test_accepts():
    frame = panel(24, 3, seed=6, effect=0.3)
    fit = fitted(frame)
    weights = inference.webb_weights(fit)
    lower, upper, _ = inference.infer(fit, "wild_cluster_bootstrap_webb", weights=weights)
    p_value_at = inference.wild_bootstrap_p_values(fit, weights)
    width = upper - lower
    for edge, outward in ((lower, -1), (upper, 1)):
        assert p_value_at(edge - outward * 1e-3 * width) > 0.05
        assert p_value_at(edge + outward * 1e-3 * width) <= 0.05


def test_a_balanced_panel_uses_the_closed_form_inverse_of_the_period_gram_matrix():
    units, periods = np.repeat(np.arange(7), 5), np.tile(np.arange(5), 7)
    balanced = TwoWayPanel(units, periods)
    assert balanced.balanced
    np.testing.assert_allclose(
        balanced.period_gram_inv, balanced._inverse_period_gram(), atol=1e-12
    )
    values = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(
        balanced.solve_period_gram(values), balanced._inverse_period_gram() @ values, atol=1e-12
    )


def test_the_low_rank_bootstrap_path_for_many_units_equals_the_explicit_one(monkeypatch):
    fit = fitted(panel(30, 5, seed=7, drop=0.05))
    weights = inference.webb_weights(fit)
    taus = [0.0, fit.estimate + fit.se, fit.estimate - 2 * fit.se]
    explicit = [inference.wild_bootstrap_p_values(fit, weights)(tau) for tau in taus]
    monkeypatch.setattr(inference, "_EXPLICIT_H_UNITS", 0)
    low_rank = [inference.wild_bootstrap_p_values(fit, weights)(tau) for tau in taus]
    assert low_rank == pytest.approx(explicit, abs=1e-12)


def test_randomization_inference_samples_assignments_when_there_are_many(monkeypatch):
    fit = fitted(panel(9, 2, seed=2, effect=1.0))
    everything = inference.randomization_p_values(fit)(0.0)
    monkeypatch.setattr(inference, "MAX_ASSIGNMENTS", 30)  # 36 exist: draw 29 plus the actual
    sampled = inference._assignments(9, 2, np.flatnonzero(fit.treated), fit)
    assert sampled.shape == (30, 2)
    assert sampled[0].tolist() == np.flatnonzero(fit.treated).tolist()
    assert (np.diff(sampled, axis=1) > 0).all()  # distinct units within each assignment
    assert inference.randomization_p_values(fit)(0.0) == pytest.approx(everything, abs=0.15)
