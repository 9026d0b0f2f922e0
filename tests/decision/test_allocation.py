"""The MILP rules against brute force over all 2^n portfolios, order independence and ties.

Every test here runs twice: with each CBC search as one process, and split into
subproblems solved by concurrent CBC processes (forced on for these small models).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.expected_return import ExpectedReturnAllocate
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate

SEEDS = range(40)
RULES = [MinimaxRegretAllocate, BayesianAllocate, ExpectedReturnAllocate]


# each CBC search as one process, and split into concurrent subproblems (conftest.py)
pytestmark = pytest.mark.usefixtures("cbc_searches")


def _event(candidates: list[dict], settings: dict, weights=None) -> dict:
    return {"initiatives": candidates, "weights": weights, **settings}


def _assert_matches(result: dict, expected, scale: float) -> None:
    assert result["status"] == expected.status
    if expected.status != "optimal":
        assert result["selected_initiatives"] == []
        return
    assert math.isclose(result["objective"], expected.objective, rel_tol=1e-9, abs_tol=1e-6 * scale)
    assert sorted(result["selected_initiatives"]) == expected.selected


def _scale(candidates: list[dict]) -> float:
    return max([abs(c[f"R_{j}"]) for c in candidates for j in ("best", "med", "worst")] + [1.0])


@pytest.mark.parametrize("seed", SEEDS)
def test_minimax_regret_is_the_brute_force_optimum(seed, brute_force, make_portfolio):
    candidates, settings = make_portfolio(seed)
    result = MinimaxRegretAllocate().execute(_event(candidates, settings))
    expected = brute_force(
        candidates,
        settings["budget"],
        settings["min_confidence"],
        settings["min_portfolio_worst_return"],
    ).minimax_regret()
    _assert_matches(result, expected, _scale(candidates))
    if result["status"] == "optimal":
        regrets = [detail["regret"] for detail in result["scenarios"].values()]
        assert math.isclose(result["objective"], max(regrets))


@pytest.mark.parametrize("seed", SEEDS)
def test_bayesian_is_the_brute_force_optimum(seed, brute_force, make_portfolio):
    candidates, settings = make_portfolio(seed)
    rng = np.random.default_rng(1000 + seed)
    weights = None
    if seed % 2:
        raw = rng.dirichlet([1.0, 1.0, 1.0])
        weights = {"best": float(raw[0]), "med": float(raw[1])}
        weights["worst"] = 1.0 - weights["best"] - weights["med"]
    result = BayesianAllocate().execute(_event(candidates, settings, weights))
    expected = brute_force(
        candidates,
        settings["budget"],
        settings["min_confidence"],
        settings["min_portfolio_worst_return"],
    ).bayesian(weights or {"best": 1 / 3, "med": 1 / 3, "worst": 1 / 3})
    _assert_matches(result, expected, _scale(candidates))


@pytest.mark.parametrize("seed", SEEDS)
def test_expected_return_is_the_brute_force_optimum(seed, brute_force, make_portfolio):
    candidates, settings = make_portfolio(seed)
    result = ExpectedReturnAllocate().execute(_event(candidates, settings))
    expected = brute_force(
        candidates,
        settings["budget"],
        settings["min_confidence"],
        settings["min_portfolio_worst_return"],
    ).expected_return()
    _assert_matches(result, expected, _scale(candidates))


def test_expected_return_applies_no_confidence_penalty():
    # "sure" is certain but small; "likely" is worth more on average: the mean decides.
    candidates = [
        _candidate("sure", 10, 11, 10, 9, conf=1.0),
        _candidate("likely", 10, 60, 15, -30, 0.1),
    ]
    result = ExpectedReturnAllocate().execute({"initiatives": candidates, "budget": 10})
    assert result["selected_initiatives"] == ["likely"]
    assert result["objective"] == 15.0
    assert result["scenarios"]["worst"] == {"portfolio_value": -30.0}
    penalised = MinimaxRegretAllocate().execute({"initiatives": candidates, "budget": 10})
    assert penalised["selected_initiatives"] == ["sure"]


@pytest.mark.parametrize("rule", [MinimaxRegretAllocate, BayesianAllocate])
def test_a_predictive_interval_is_not_penalised_again(rule):
    """The same two candidates: as pilot intervals, 1 - confidence pulls "likely" to its
    worst case and "sure" wins; as predictive intervals (the calibrated EVALUATE, whose
    R_worst and R_best already price the uncertainty and whose confidence is P(> 0)),
    the rules weigh the returns as given and "likely" wins."""
    pilot = [
        _candidate("sure", 10, 11, 10, 9, conf=1.0),
        _candidate("likely", 10, 60, 15, -30, 0.1),
    ]
    assert rule().execute({"initiatives": pilot, "budget": 10})["selected_initiatives"] == ["sure"]
    predictive = [{**c, "interval_kind": "predictive"} for c in pilot]
    result = rule().execute({"initiatives": predictive, "budget": 10})
    assert result["selected_initiatives"] == ["likely"]
    if rule is BayesianAllocate:
        assert result["objective"] == pytest.approx((60 + 15 - 30) / 3)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", [3, 7, 11])
def test_the_order_candidates_arrive_in_does_not_matter(rule, seed, make_portfolio):
    candidates, settings = make_portfolio(seed)
    first = rule().execute(_event(candidates, settings))
    shuffled = list(candidates)
    random.Random(seed).shuffle(shuffled)
    second = rule().execute(_event(list(reversed(shuffled)), settings))
    assert first == second


def _candidate(initiative_id: str, cost: float, best: float, med: float, worst: float, conf=1.0):
    return {
        "initiative_id": initiative_id,
        "confidence": conf,
        "cost": cost,
        "R_best": best,
        "R_med": med,
        "R_worst": worst,
        "model_type": "experiment",
        "sample_size": 100,
    }


@pytest.mark.parametrize("rule", RULES)
def test_identical_candidates_tie_to_the_earliest_id(rule):
    candidates = [_candidate(i, 10, 5, 4, 3) for i in ("delta", "bravo", "charlie", "alpha")]
    result = rule().execute({"initiatives": candidates, "budget": 20})
    assert result["selected_initiatives"] == ["alpha", "bravo"]


@pytest.mark.parametrize("rule", RULES)
def test_equal_returns_tie_to_the_lower_cost(rule):
    # "a" and "b" return the same in every scenario; "b" is cheaper, so it wins despite its id.
    candidates = [_candidate("a", 10, 6, 5, 4), _candidate("b", 8, 6, 5, 4)]
    result = rule().execute({"initiatives": candidates, "budget": 12})
    assert result["selected_initiatives"] == ["b"]


@pytest.mark.parametrize("rule", RULES)
def test_equal_return_and_cost_tie_to_the_smallest_sorted_ids(rule):
    # {a, d} and {b, c} return and cost the same in every scenario; [a, d] < [b, c].
    candidates = [
        _candidate("b", 2, 3, 2, 1),
        _candidate("c", 2, 3, 2, 1),
        _candidate("a", 1, 2, 1, 0),
        _candidate("d", 3, 4, 3, 2),
    ]
    result = rule().execute({"initiatives": candidates, "budget": 4})
    assert result["selected_initiatives"] == ["a", "d"]


def test_a_zero_return_candidate_is_not_bought():
    # Adding "free-ride" changes no scenario's value but costs money: never chosen.
    candidates = [_candidate("a", 5, 3, 2, 1), _candidate("free-ride", 1, 0, 0, 0)]
    for rule in RULES:
        result = rule().execute({"initiatives": candidates, "budget": 100})
        assert result["selected_initiatives"] == ["a"]


def test_predicted_returns_are_the_raw_pilot_estimate_not_the_penalised_one():
    candidates = [_candidate("a", 5, 30, 20, 10, conf=0.5)]
    result = MinimaxRegretAllocate().execute({"initiatives": candidates, "budget": 10})
    assert result["predicted_returns"] == {"a": 20.0}
    assert result["budget_allocated"] == {"a": 5.0}
    # R_eff_best = 0.5 * 30 + 0.5 * 10
    assert result["scenarios"]["best"]["v_star"] == pytest.approx(20.0)
