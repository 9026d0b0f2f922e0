"""Edge cases of the MILP rules: each ends with a clear status, never a crash."""

from __future__ import annotations

import pytest

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.expected_return import ExpectedReturnAllocate
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate
from impact_assets.contracts import AllocateResult

RULES = [MinimaxRegretAllocate, BayesianAllocate]


def _candidate(initiative_id: str, cost: float, med: float, confidence: float = 0.9) -> dict:
    return {
        "initiative_id": initiative_id,
        "confidence": confidence,
        "cost": cost,
        "R_best": med * 1.5,
        "R_med": med,
        "R_worst": med * 0.5,
        "model_type": "experiment",
        "sample_size": 200,
    }


PORTFOLIO = [_candidate("a", 10, 8), _candidate("b", 20, 30), _candidate("c", 15, 12, 0.3)]


def _run(rule, **event) -> dict:
    result = rule().execute({"initiatives": PORTFOLIO, "budget": 30, **event})
    AllocateResult.from_dict(result)  # the output is a valid contract
    return result


@pytest.mark.parametrize("rule", RULES)
def test_zero_budget_selects_nothing_optimally(rule):
    result = _run(rule, budget=0)
    assert result["status"] == "optimal"
    assert result["selected_initiatives"] == []
    assert result["objective"] == 0.0
    assert result["budget"] == 0.0


@pytest.mark.parametrize("rule", RULES)
def test_everything_below_min_confidence_is_no_eligible(rule):
    result = _run(rule, min_confidence=0.95)
    assert result["status"] == "no_eligible"
    assert result["selected_initiatives"] == []
    assert result["objective"] is None
    assert sorted(result["excluded"]) == ["a", "b", "c"]
    assert "below min_confidence" in result["excluded"]["a"]


@pytest.mark.parametrize("rule", RULES)
def test_min_confidence_excludes_with_a_reason(rule):
    result = _run(rule, min_confidence=0.5)
    assert list(result["excluded"]) == ["c"]
    assert "c" not in result["selected_initiatives"]


@pytest.mark.parametrize("rule", RULES)
def test_a_floor_no_portfolio_can_meet_is_infeasible(rule):
    # the best worst-case return within 30 is a + b: 4 + 15 = 19
    result = _run(rule, min_portfolio_worst_return=19.5)
    assert result["status"] == "infeasible"
    assert result["selected_initiatives"] == []
    assert result["objective"] is None
    exactly_met = _run(rule, min_portfolio_worst_return=19)
    assert exactly_met["status"] == "optimal"
    assert exactly_met["selected_initiatives"] == ["a", "b"]


@pytest.mark.parametrize("rule", [*RULES, ExpectedReturnAllocate])
def test_a_floor_only_fractions_of_portfolios_could_meet_is_infeasible(rule):
    # As an LP the floor is met (all of "a", 0.6 of "b"); no whole portfolio within the
    # budget meets it. CBC 2.10.3, with its preprocessing off, crashed on this model.
    def candidate(initiative_id, cost, worst, med):
        return {**_candidate(initiative_id, cost, med), "R_worst": worst, "R_best": med + 1}

    portfolio = [candidate("a", 0.5, 1.0, 1.0), candidate("b", 0.75, 0.8, 0.9)]
    portfolio.append(candidate("c", 1.0, 0.0, 0.01))
    result = rule().execute(
        {"initiatives": portfolio, "budget": 1.0108, "min_portfolio_worst_return": 1.481}
    )
    assert result["status"] == "infeasible" and result["selected_initiatives"] == []


@pytest.mark.parametrize("rule", RULES)
def test_a_floor_that_binds_changes_the_choice(rule):
    candidates = [
        {**_candidate("safe", 10, 10), "R_best": 11, "R_worst": 9},
        {**_candidate("risky", 10, 20), "R_best": 60, "R_worst": -20},
    ]
    result = rule().execute(
        {"initiatives": candidates, "budget": 10, "min_portfolio_worst_return": 0}
    )
    assert result["status"] == "optimal"
    assert result["selected_initiatives"] == ["safe"]


@pytest.mark.parametrize("rule", RULES)
def test_one_candidate_that_fits_is_selected(rule):
    result = rule().execute({"initiatives": [_candidate("only", 5, 3)], "budget": 5})
    assert result["status"] == "optimal"
    assert result["selected_initiatives"] == ["only"]
    assert result["budget_allocated"] == {"only": 5.0}


@pytest.mark.parametrize("rule", RULES)
def test_one_candidate_that_loses_money_is_not_selected(rule):
    losing = {**_candidate("loser", 5, -3), "R_best": -1.0, "R_worst": -5.0}
    result = rule().execute({"initiatives": [losing], "budget": 50})
    assert result["status"] == "optimal"
    assert result["selected_initiatives"] == []


@pytest.mark.parametrize("rule", RULES)
def test_costs_above_the_budget_are_never_chosen(rule):
    result = _run(rule, budget=9)
    assert result["status"] == "optimal"
    assert result["selected_initiatives"] == []
    assert result["excluded"] == {}


@pytest.mark.parametrize("rule", RULES)
def test_no_initiatives_at_all_is_no_eligible(rule):
    result = rule().execute({"initiatives": [], "budget": 100})
    assert result["status"] == "no_eligible"
    assert result["selected_initiatives"] == []


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"budget": -1}, "budget"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"min_portfolio_worst_return": float("nan")}, "min_portfolio_worst_return"),
        ({"initiatives": PORTFOLIO + PORTFOLIO[:1]}, "unique"),
    ],
)
def test_bad_events_name_the_field(rule, event, field):
    with pytest.raises(ValueError, match=field):
        rule().execute({"initiatives": PORTFOLIO, "budget": 30, **event})


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ({"best": 0.5, "med": 0.5, "worst": 0.5}, "sum to 1"),
        ({"best": -0.5, "med": 1.0, "worst": 0.5}, "weights.best"),
        ({"best": 1.0, "med": 0.0}, "best, med, worst"),
    ],
)
def test_bad_weights_name_the_problem(weights, field):
    with pytest.raises(ValueError, match=field):
        BayesianAllocate().execute({"initiatives": PORTFOLIO, "budget": 30, "weights": weights})


def test_bayesian_weights_steer_the_choice():
    candidates = [
        {**_candidate("steady", 10, 10), "R_best": 12, "R_worst": 8},
        {**_candidate("gamble", 10, 9), "R_best": 40, "R_worst": -20},
    ]
    event = {"initiatives": candidates, "budget": 10}
    optimist = BayesianAllocate().execute(
        {**event, "weights": {"best": 1.0, "med": 0.0, "worst": 0.0}}
    )
    pessimist = BayesianAllocate().execute(
        {**event, "weights": {"best": 0.0, "med": 0.0, "worst": 1.0}}
    )
    assert optimist["selected_initiatives"] == ["gamble"]
    assert pessimist["selected_initiatives"] == ["steady"]
    assert optimist["scenarios"]["best"]["weight"] == 1.0
