"""Why each initiative was left out, against brute force over all 2^n portfolios, every rule.

For every initiative a rule left out, the reason it reports must be what enumerating
every portfolio finds: the best portfolio that includes it (its value under the rule
and its members), or the constraint that excludes it, shown to hold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import wide_intervals

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.expected_return import ExpectedReturnAllocate
from impact_assets.components.allocate.left_out import (
    BELOW_MIN_CONFIDENCE,
    MISSES_FLOOR,
    NOT_COMPUTED,
    NOT_POSITIVE,
    OVER_BUDGET,
    PASSED_OVER,
    TIED,
    WORSE,
)
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate
from impact_assets.components.allocate.mock import MockAllocate
from impact_assets.components.allocate.scenarios import SCENARIOS, AllocationRequest
from impact_assets.components.allocate.solver import (
    TIE_RTOL,
    best_portfolio,
    including,
    min_max_regret_portfolio,
)
from impact_assets.contracts import AllocateResult

# each CBC search as one process, and split into concurrent subproblems (conftest.py)
pytestmark = pytest.mark.usefixtures("cbc_searches")

SEEDS = range(60)
RULES = {
    "expected_return": ExpectedReturnAllocate,
    "bayesian": BayesianAllocate,
    "minimax_regret": MinimaxRegretAllocate,
}


def _weights(rule: str, seed: int) -> dict[str, float] | None:
    """Random scenario weights for the bayesian rule on odd seeds (equal thirds otherwise)."""
    if rule != "bayesian" or seed % 2 == 0:
        return None
    raw = np.random.default_rng(5000 + seed).dirichlet([1.0, 1.0, 1.0])
    return {"best": float(raw[0]), "med": float(raw[1]), "worst": float(1 - raw[0] - raw[1])}


def _decide(rule: str, seed: int, make_portfolio, brute_force, limit=None, most: int = 10):
    """A random portfolio, the rule's decision and its reasons, and the brute force over it."""
    candidates, settings = make_portfolio(seed, most)
    event = {"initiatives": candidates, "weights": _weights(rule, seed), **settings}
    component = RULES[rule]()
    result = AllocateResult.from_dict(component.execute(event))
    report = component.left_out(event, result, limit)
    brute = brute_force(
        candidates,
        settings["budget"],
        settings["min_confidence"],
        settings["min_portfolio_worst_return"],
    )
    return candidates, settings, event["weights"], result, report, brute


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_left_out_initiative_gets_the_reason_brute_force_finds(
    rule, seed, make_portfolio, brute_force
):
    candidates, settings, weights, result, report, brute = _decide(
        rule, seed, make_portfolio, brute_force
    )
    by_id = {c["initiative_id"]: c for c in candidates}
    tolerance = 4 * TIE_RTOL * brute.value_unit + 1e-9
    if result.status.value != "optimal":
        # no portfolio at all (the status says why): only the confidence filter is named
        assert all(r.kind == BELOW_MIN_CONFIDENCE for r in report.left_out.values())
        assert report.chosen_value is None
        return
    assert set(report.left_out) == set(by_id) - set(result.selected_initiatives)
    assert math.isclose(report.chosen_value, result.objective, abs_tol=tolerance)
    kinds = set()
    for initiative_id, reason in report.left_out.items():
        candidate = by_id[initiative_id]
        kinds.add(reason.kind)
        if reason.kind == BELOW_MIN_CONFIDENCE:
            assert candidate["confidence"] < settings["min_confidence"] == reason.threshold
            continue
        assert candidate["confidence"] >= settings["min_confidence"]
        if reason.kind == OVER_BUDGET:
            assert candidate["cost"] > settings["budget"]
            continue
        assert candidate["cost"] <= settings["budget"]
        best_with_it = brute.including(rule, initiative_id, weights)
        if reason.kind == NOT_POSITIVE:
            assert reason.own_value <= 0
            assert brute.never_better_with(rule, initiative_id, weights)
            continue
        if reason.kind == MISSES_FLOOR:
            assert best_with_it.status == "infeasible"
            assert reason.threshold == settings["min_portfolio_worst_return"] is not None
            continue
        assert reason.kind in (TIED, WORSE), reason
        assert best_with_it.status == "optimal"
        assert math.isclose(reason.value_with_it, best_with_it.objective, abs_tol=tolerance)
        members = set(result.selected_initiatives) - set(reason.displaces)
        assert sorted(members | set(reason.adds) | {initiative_id}) == best_with_it.selected
        assert set(reason.displaces) <= set(result.selected_initiatives)
        assert not set(reason.adds) & set(result.selected_initiatives)
        # the difference is in the rule's own objective: a rise in regret, or a loss of value
        difference = (
            best_with_it.objective - result.objective
            if rule == "minimax_regret"
            else result.objective - best_with_it.objective
        )
        assert math.isclose(reason.value_difference, difference, abs_tol=tolerance)
        tie_unit = TIE_RTOL * brute.value_unit
        if reason.kind == TIED:
            assert difference <= 2 * tie_unit + 1e-9
            cheaper = sum(by_id[i]["cost"] for i in result.selected_initiatives)
            by_cost = best_with_it.cost > cheaper + TIE_RTOL * brute.cost_unit
            assert reason.tie_broken_by == ("cost" if by_cost else "ids")
        else:
            assert difference > 0
    assert NOT_COMPUTED not in kinds and PASSED_OVER not in kinds


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_beyond_the_limit_the_lp_bound_never_exceeds_the_true_difference(
    rule, seed, make_portfolio, brute_force
):
    candidates, settings, weights, result, report, brute = _decide(
        rule, seed, make_portfolio, brute_force, limit=2, most=12
    )
    tolerance = 4 * TIE_RTOL * brute.value_unit + 1e-9
    ranked = sorted(
        (r.miss_rank, i, r) for i, r in report.left_out.items() if r.miss_rank is not None
    )
    assert [rank for rank, *_ in ranked] == list(range(1, len(ranked) + 1))
    computed = [(i, r) for _, i, r in ranked if r.kind != NOT_COMPUTED]
    rest = [(i, r) for _, i, r in ranked if r.kind == NOT_COMPUTED]
    assert len(computed) <= 2 and report.not_computed == len(rest)
    differences = [r.value_difference for _, r in computed if r.kind in (TIED, WORSE)]
    assert differences == sorted(differences)
    true_differences = {}
    for initiative_id, reason in rest:
        best_with_it = brute.including(rule, initiative_id, weights)
        if best_with_it.status != "optimal":
            continue  # no portfolio with it meets the floor: no bound is too high
        true_differences[initiative_id] = (
            best_with_it.objective - result.objective
            if rule == "minimax_regret"
            else result.objective - best_with_it.objective
        )
        assert 0 <= reason.value_difference_bound <= true_differences[initiative_id] + tolerance
    # the closest misses said to be proven are no further than any not computed
    for _, reason in computed[: report.proven_closest]:
        assert all(reason.value_difference <= d + tolerance for d in true_differences.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_the_greedy_rule_says_where_it_ranked_each_one_and_what_was_left(seed, make_portfolio):
    candidates, settings = make_portfolio(seed, 10)
    event = {"initiatives": candidates, **settings, "min_portfolio_worst_return": None}
    component = MockAllocate()
    result = AllocateResult.from_dict(component.execute(event))
    report = component.left_out(event, result)

    # the seed's greedy, written out again: rank by confidence x R_med (ties by id), take
    # whatever still fits
    eligible = sorted(
        (c for c in candidates if c["confidence"] >= settings["min_confidence"]),
        key=lambda c: (-c["confidence"] * c["R_med"], c["initiative_id"]),
    )
    left = settings["budget"]
    for rank, candidate in enumerate(eligible, start=1):
        initiative_id = candidate["initiative_id"]
        if candidate["cost"] <= left:
            left -= candidate["cost"]
            assert initiative_id in result.selected_initiatives
            continue
        reason = report.left_out[initiative_id]
        if candidate["cost"] > settings["budget"]:
            assert reason.kind == OVER_BUDGET
            continue
        assert reason.kind == PASSED_OVER
        assert reason.rank == rank
        assert math.isclose(reason.budget_left, left, rel_tol=1e-12, abs_tol=1e-9)
        assert reason.score == candidate["confidence"] * candidate["R_med"]
    excluded = {c["initiative_id"] for c in candidates} - {c["initiative_id"] for c in eligible}
    assert {i for i, r in report.left_out.items() if r.kind == BELOW_MIN_CONFIDENCE} == excluded
    passed = sorted(
        (r.rank, r.miss_rank) for r in report.left_out.values() if r.kind == PASSED_OVER
    )
    assert [miss for _, miss in passed] == list(range(1, len(passed) + 1))


def _large_event(n: int, floor: bool, seed: int) -> dict:
    """Wide intervals (many cross zero) and a budget of 20% of the total cost."""
    initiatives = wide_intervals(n, seed)
    return {
        "initiatives": initiatives,
        "budget": 0.2 * sum(c["cost"] for c in initiatives),
        "min_portfolio_worst_return": 0.0 if floor else None,
    }


def _without_it(rule: str, event: dict, result: AllocateResult, initiative_id: str):
    """The best portfolio that includes ``initiative_id``, by the rule's own entry point on the
    others, with its cost taken from the budget (and its terms from the floor and the
    offsets): (value under the rule, members)."""
    request = AllocationRequest.from_event(event)
    candidates = request.candidates
    index = candidates.ids.index(initiative_id)
    others = [k for k in range(len(candidates.ids)) if k != index]
    floor = None if request.floor is None else request.floor - candidates.R_worst[index]
    space = {
        "costs": candidates.costs[others],
        "budget": request.budget - candidates.costs[index],
    }
    floor_args = {"floor_values": candidates.R_worst[others], "floor": floor}
    if rule == "minimax_regret":
        v_star = np.array([result.scenarios[j]["v_star"] for j in SCENARIOS])
        found = min_max_regret_portfolio(
            candidates.R_eff[:, others],
            v_star - candidates.R_eff[:, index],
            space["costs"],
            space["budget"],
            **floor_args,
        )
        value = None if found is None else found.objective
    else:
        values = RULES[rule]().objective(request, result).values[0]
        found = best_portfolio(values[others], space["costs"], space["budget"], **floor_args)
        value = None if found is None else found.objective + values[index]
    if found is None:
        return None, None
    members = sorted([candidates.ids[others[k]] for k in found.selected] + [initiative_id])
    return value, members


def _assert_each_solve_matches_the_rule_run_on_the_others(rule, event, result, report) -> int:
    """Every initiative solved again against :func:`_without_it`; how many were solved."""
    tolerance = 1e-9 * max(abs(report.chosen_value), 1.0)
    solved = [(i, r) for i, r in report.left_out.items() if r.kind in (TIED, WORSE, MISSES_FLOOR)]
    for initiative_id, reason in solved:
        value, members = _without_it(rule, event, result, initiative_id)
        if reason.kind == MISSES_FLOOR:
            assert value is None
            continue
        assert math.isclose(reason.value_with_it, value, rel_tol=1e-9, abs_tol=tolerance)
        chosen = set(result.selected_initiatives) - set(reason.displaces)
        assert sorted(chosen | set(reason.adds) | {initiative_id}) == members
    return len(solved)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("floor", [False, True], ids=["no_floor", "floor"])
def test_in_large_portfolios_each_solve_matches_the_rule_run_on_the_others(rule, floor):
    # n = 300: the cores, the reduced-cost fixing and the split searches all take part, and
    # each candidate is solved from the whole problem's LP relaxation, never its own
    event = _large_event(300, floor, seed=1)
    component = RULES[rule]()
    result = AllocateResult.from_dict(component.execute(event))
    report = component.left_out(event, result, limit=6)
    assert _assert_each_solve_matches_the_rule_run_on_the_others(rule, event, result, report) == 6
    assert report.not_computed > 0


@pytest.mark.parametrize("rule", RULES)
def test_under_a_tight_floor_each_solve_matches_the_rule_run_on_the_others(rule, monkeypatch):
    # A floor just below the best summed R_worst the budget allows: holding many candidates
    # in breaks it, their cores are infeasible, and the LP is solved again with them in
    event = _large_event(120, False, seed=1)
    worst = [c["R_worst"] for c in event["initiatives"]]
    costs = [c["cost"] for c in event["initiatives"]]
    highest = best_portfolio(worst, costs, event["budget"], break_ties=False).objective
    event["min_portfolio_worst_return"] = 0.97 * highest
    relaxed_again = []
    solve_fixed = including.solve_fixed
    monkeypatch.setattr(
        including, "solve_fixed", lambda *a: relaxed_again.append(1) or solve_fixed(*a)
    )
    component = RULES[rule]()
    result = AllocateResult.from_dict(component.execute(event))
    report = component.left_out(event, result, limit=120)
    kinds = [reason.kind for reason in report.left_out.values()]
    assert kinds.count(MISSES_FLOOR) and kinds.count(WORSE) and relaxed_again
    assert NOT_COMPUTED not in kinds
    _assert_each_solve_matches_the_rule_run_on_the_others(rule, event, result, report)
