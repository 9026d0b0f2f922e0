"""Few clusters in a DiD: judged on the smaller group, and information when inference allows.

- ``few_treated_clusters`` counts ``min(treated units, control units)``: 30 treated
  units and 3 controls are few (counting treated units only passed them), and
  cluster-robust t(G-1) intervals on such panels under-cover;
- with the wild cluster bootstrap or randomization inference, built for few clusters,
  it does not fail, so neither the evidence EVALUATE's confidence nor the calibrated
  EVALUATE's pilot variance is penalised (tested through the components' ``execute``);
- randomization inference reports how many assignments it ranked the estimate among,
  checked against ``comb(units, treated)``, and the p-value's floor ``1 / assignments``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from impact_assets.calibration.assumptions import FAILED_DIAGNOSTIC_VARIANCE_FACTOR, PILOT_CI_Z
from impact_assets.calibration.pilots import failed_diagnostics
from impact_assets.calibration.prior import point_prior
from impact_assets.components.evaluate.calibrated import CalibratedEvaluate
from impact_assets.components.evaluate.evidence import EvidenceEvaluate
from impact_assets.components.measure import cluster_inference as inference
from impact_assets.components.measure.did import estimate_difference_in_differences
from impact_assets.components.measure.inputs import t_interval
from impact_assets.components.measure.panel import TwoWayPanel
from impact_assets.components.measure.simulate import did_panel
from impact_assets.components.measure.statistical import StatisticalMeasure
from impact_assets.contracts import Calibration, MethodRatio
from impact_assets.contracts.types import CONFIDENCE_RANGES, ModelType

COLUMNS = {"outcome": "outcome", "unit": "unit", "time": "period", "treatment_start": 4}
MINIMUM = inference.MIN_GROUP_FOR_CLUSTER_ROBUST
DID = "difference_in_differences"


def old_rule(diagnostics: dict) -> dict:
    """What the diagnostic said before: the number of treated units, passing from 10."""
    treated = diagnostics["treated_units"]
    return {"value": float(treated), "passed": treated >= MINIMUM}


def fitted(frame) -> inference.PanelFit:
    """The panel's TWFE fit with CRVE, whatever the design."""
    units, periods = frame["unit"].to_numpy(), frame["period"].to_numpy()
    treated = (np.bincount(units, weights=frame["treated"].to_numpy()) > 0).astype(float)
    return inference.fit_panel(
        TwoWayPanel(units, periods), frame["outcome"].to_numpy(), treated, periods >= 4.0
    )


def measured(n_units: int, n_treated: int, seed: int, effect: float = 1.0) -> dict:
    frame = did_panel(np.random.default_rng(seed), n_units, n_treated, effect, 1.0)
    return estimate_difference_in_differences(frame, treated="treated", **COLUMNS)


# --- the rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("treated", "controls", "method", "passed"),
    [
        (30, 3, inference.CLUSTER_ROBUST, False),  # few controls: the old rule passed it
        (30, 3, inference.WILD_BOOTSTRAP, True),
        (4, 40, inference.WILD_BOOTSTRAP, True),
        (2, 40, inference.RANDOMIZATION, True),
        (4, 40, inference.CLUSTER_ROBUST, False),
        (MINIMUM - 1, 50, inference.CLUSTER_ROBUST, False),
        (MINIMUM, 50, inference.CLUSTER_ROBUST, True),
        (50, MINIMUM, inference.CLUSTER_ROBUST, True),
    ],
)
def test_the_smaller_group_is_judged_with_the_inference_used(treated, controls, method, passed):
    entry = inference.few_clusters_diagnostic(treated, controls, method)
    smaller = min(treated, controls)
    assert entry["value"] == float(smaller)
    assert entry["passed"] is passed
    assert entry["smaller_group"] == ("treated" if treated <= controls else "control")
    assert entry["minimum"] == MINIMUM
    assert ("note" in entry) is (smaller < MINIMUM)  # few clusters are always said


def test_the_design_never_picks_an_inference_that_fails_its_own_cluster_count():
    """One threshold for both: few clusters get an inference built for them."""
    for treated in range(1, 25):
        for controls in range(1, 25):
            chosen = inference.choose_inference(treated, controls)
            entry = inference.few_clusters_diagnostic(treated, controls, chosen)
            assert entry["passed"], (treated, controls, chosen)
            assert (chosen == inference.CLUSTER_ROBUST) is (min(treated, controls) >= MINIMUM)


# --- 30 treated units and 3 controls ----------------------------------------------------


def test_30_treated_and_3_controls_are_flagged_where_counting_treated_units_passed():
    result = measured(33, 30, seed=1)
    diagnostics = result["diagnostics"]
    assert (diagnostics["treated_units"], diagnostics["control_units"]) == (30, 3)
    assert old_rule(diagnostics)["passed"] is True  # the mistake: 30 treated looked plenty
    few = diagnostics["few_treated_clusters"]
    assert (few["value"], few["smaller_group"]) == (3.0, "control")
    assert few["value"] < few["minimum"]
    assert few["note"] == (
        "3 control units, fewer than 10: wild_cluster_bootstrap_webb is designed for few "
        "clusters"
    )
    assert diagnostics["inference"] == "wild_cluster_bootstrap_webb"
    assert few["passed"] is True  # the bootstrap is built for it
    entry = inference.few_clusters_diagnostic(30, 3, inference.CLUSTER_ROBUST)
    assert entry["passed"] is False  # had the panel been analysed by CRVE, it would fail


def test_cluster_robust_intervals_under_cover_with_3_controls():
    """Why 3 controls are few: CRVE t(G-1) on 30 treated and 3 controls, 1,000 panels with
    AR(1) errors, covers well below 95% (0.80 at seed 5). The bound is 4 Monte Carlo SDs
    of a correct 95% coverage below 0.95."""
    reps, truth = 1000, 0.3
    rng = np.random.default_rng(5)
    covered = []
    for _ in range(reps):
        fit = fitted(did_panel(rng, 33, 30, truth, 1.0))
        lower, upper, _ = t_interval(fit.estimate, fit.se, fit.df)
        covered.append(lower <= truth <= upper)
    coverage = float(np.mean(covered))
    assert coverage < 0.95 - 4 * math.sqrt(0.95 * 0.05 / reps), coverage


# --- EVALUATE does not penalise a few-cluster pilot measured by the right inference -------


def measure_pilot(tmp_path: Path, make_event, n_units: int, n_treated: int, seed: int) -> dict:
    frame = did_panel(np.random.default_rng(seed), n_units, n_treated, 1.0, 1.0)
    frame.to_csv(tmp_path / "panel.csv", index=False)
    data = {"source": "file", "path": "panel.csv", "treated": "treated", **COLUMNS}
    event = make_event(DID, data, config_dir=tmp_path)
    return StatisticalMeasure().execute(event)


def with_diagnostic(result: dict, entry: dict, **extra) -> dict:
    diagnostics = {**result["diagnostics"], "few_treated_clusters": entry}
    return {**result, "diagnostics": diagnostics, **extra}


@pytest.mark.parametrize(
    ("n_units", "n_treated", "seed", "method"),
    [(44, 4, 3, "wild_cluster_bootstrap_webb"), (42, 2, 1, "randomization_inference")],
    ids=["4-treated-40-controls-bootstrap", "2-treated-40-controls-randomization"],
)
def test_few_treated_units_under_few_cluster_inference_cost_no_confidence(
    tmp_path, make_event, n_units, n_treated, seed, method
):
    result = measure_pilot(tmp_path, make_event, n_units, n_treated, seed)
    diagnostics = result["diagnostics"]
    assert diagnostics["inference"] == method
    few = diagnostics["few_treated_clusters"]
    assert (few["value"], few["passed"]) == (float(n_treated), True)
    assert few["note"].startswith(f"{n_treated} treated units, fewer than 10")
    assert diagnostics["pre_trend"]["passed"] is True  # this seed: nothing else fails
    assert failed_diagnostics(diagnostics) == 0
    old = old_rule(diagnostics)
    assert old["passed"] is False  # what the old rule said of the same pilot

    evidence = EvidenceEvaluate()
    cost = {"cost_to_scale": 1000.0, "value_per_unit": 2.0}
    confidence = evidence.execute({**result, **cost})["confidence"]
    # the same pilot had its smaller group reached the threshold: the same confidence
    enough = {"value": float(MINIMUM), "passed": True}
    assert confidence == evidence.execute(with_diagnostic(result, enough, **cost))["confidence"]
    penalised = evidence.execute(with_diagnostic(result, old, **cost))["confidence"]
    low, high = CONFIDENCE_RANGES[ModelType.QUASI_EXPERIMENT]
    # one of two diagnostics failing costs D = 1/2, i.e. 0.2 x 1/2 of the range
    assert confidence - penalised == pytest.approx(0.1 * (high - low), abs=1e-12)

    mu, tau, value_per_unit = 1.0, 1.5, 2.0  # prior in currency
    ratio = MethodRatio(DID, 50, 1.0, 0.0, 1.0, 1.0, [1.0], 0.0)
    calibration = Calibration("L1", point_prior(mu, tau), {DID: ratio}, ratio)
    calibrated = {**cost, "method": DID, "calibration": calibration}
    weight = CalibratedEvaluate().execute({**result, **calibrated})["pilot_weight"]
    se = (result["ci_upper"] - result["ci_lower"]) / (2 * PILOT_CI_Z) * value_per_unit
    assert weight == pytest.approx(tau**2 / (tau**2 + se**2), rel=1e-9)  # variance as stated
    widened = CalibratedEvaluate().execute(with_diagnostic(result, old, **calibrated))
    doubled = FAILED_DIAGNOSTIC_VARIANCE_FACTOR * se**2
    assert widened["pilot_weight"] == pytest.approx(tau**2 / (tau**2 + doubled), rel=1e-9)
    assert widened["pilot_weight"] < weight


# --- randomization inference: its assignments and the p-value's floor ---------------------


@pytest.mark.parametrize(
    ("n_units", "n_treated"), [(30, 2), (24, 22), (24, 1)],
    ids=["2-treated", "2-controls", "1-treated"],
)  # fmt: skip
def test_randomization_inference_counts_every_assignment(n_units, n_treated):
    result = measured(n_units, n_treated, seed=2, effect=0.0)
    diagnostics = result["diagnostics"]
    assert diagnostics["inference"] == "randomization_inference"
    every = math.comb(n_units, n_treated)  # reassigning either group: the same count
    assert diagnostics["assignments"] == diagnostics["possible_assignments"] == every
    assert diagnostics["p_value_floor"] == pytest.approx(1 / every, rel=1e-12)
    ranked = result["p_value"] * every  # the p-value is a count over the assignments
    assert ranked == pytest.approx(round(ranked), abs=1e-9) and round(ranked) >= 1
    assert result["p_value"] > diagnostics["p_value_floor"]  # no effect: not at the floor
    assert "p_value_note" not in diagnostics


def test_a_p_value_at_its_floor_is_said_so():
    result = measured(24, 1, seed=0, effect=5.0)  # the treated unit stands out
    diagnostics = result["diagnostics"]
    assert diagnostics["assignments"] == math.comb(24, 1)
    assert result["p_value"] == pytest.approx(1 / 24, rel=1e-12)
    assert diagnostics["p_value_note"] == (
        "the p-value is at its floor 1/24: none of the other 23 assignments gives an estimate "
        "as extreme, and no p-value from these units can be smaller"
    )


def test_sampled_assignments_are_counted_as_ranked():
    """250 units, 2 treated: 31,125 assignments exist, 20,000 are ranked (the actual one
    and 19,999 drawn), so the p-value is a count over 20,000."""
    frame = did_panel(np.random.default_rng(0), 250, 2, 1.0, 1.0)
    result = estimate_difference_in_differences(frame, treated="treated", **COLUMNS)
    diagnostics = result["diagnostics"]
    assert diagnostics["possible_assignments"] == math.comb(250, 2) == 31_125
    assert diagnostics["assignments"] == inference.MAX_ASSIGNMENTS == 20_000
    assert diagnostics["p_value_floor"] == pytest.approx(1 / 20_000, rel=1e-12)
    ranked = result["p_value"] * 20_000
    assert ranked == pytest.approx(round(ranked), abs=1e-6) and round(ranked) >= 1
    fit = fitted(frame)
    sets = inference._assignments(250, 2, np.flatnonzero(fit.treated), fit)
    assert sets.shape == (20_000, 2)  # what the test ranked among: the reported count
