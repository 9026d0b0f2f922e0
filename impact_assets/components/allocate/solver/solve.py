"""The solver's entry points and its order of work: reduce, find an incumbent, settle it.

The steps and why they are exact are in docs/decision.md, "Solving, and how fast".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from impact_assets.components.allocate.solver import searches
from impact_assets.components.allocate.solver.model import Model
from impact_assets.components.allocate.solver.problem import Portfolio, Problem
from impact_assets.components.allocate.solver.reduction import Reduction

# Cores CBC solves for an incumbent, in turn, each started from the last one's optimum.
CORE_SIZES = (16, 32)


def best_portfolio(
    values: Sequence[float],
    costs: Sequence[float],
    budget: float,
    *,
    floor_values: Sequence[float] | None = None,
    floor: float | None = None,
    break_ties: bool = True,
) -> Portfolio | None:
    """The 0/1 knapsack optimum: the selection maximising ``sum values`` within the budget.

    With ``floor`` set, the selection must also have ``sum floor_values >= floor``.
    ``objective`` is the selection's total value. Returns ``None`` when no selection
    meets the floor. Without ``break_ties`` only the objective is certain to be
    the documented one (enough for ``V*``).
    """
    problem = Problem.build([values], [0.0], costs, budget, floor_values, floor)
    found = solve(problem, break_ties)
    if found is None:
        return None
    selected, theta = found
    return Portfolio(selected, -theta)


def min_max_regret_portfolio(
    scenario_values: Sequence[Sequence[float]],
    best_values: Sequence[float],
    costs: Sequence[float],
    budget: float,
    *,
    floor_values: Sequence[float] | None = None,
    floor: float | None = None,
    break_ties: bool = True,
) -> Portfolio | None:
    """The selection minimising the largest regret ``best_values[j] - sum_i x_i values[j][i]``.

    ``scenario_values`` has one row per scenario, one entry per candidate;
    ``best_values`` holds each scenario's ``V*``. ``objective`` is the max regret.
    Returns ``None`` when no selection meets the floor.
    """
    problem = Problem.build(scenario_values, best_values, costs, budget, floor_values, floor)
    return solve(problem, break_ties)


def solve(problem: Problem, ties: bool = True) -> Portfolio | None:
    """The selection minimising ``theta`` (under the tie rule if ``ties``), or None if infeasible.

    ``objective`` is ``theta``.
    """
    return solve_fixed(problem, initial_fixing(problem), ties)


def initial_fixing(problem: Problem) -> np.ndarray:
    """-1 free, 0 or 1 fixed: a candidate dearer than the whole budget is never selected."""
    fixed = np.full(problem.size, -1, dtype=np.int8)
    fixed[problem.costs > problem.budget] = 0
    return fixed


def solve_fixed(problem: Problem, fixed: np.ndarray, ties: bool = True) -> Portfolio | None:
    """:func:`solve` among the selections that agree with ``fixed`` (-1 free, 0 or 1 held)."""
    if not np.any(fixed < 0):
        selected = fixed == 1
        return problem.portfolio(selected) if problem.feasible(selected) else None
    reduction = Reduction.relax(problem, fixed)
    if reduction is None:
        return None  # the LP relaxation is infeasible, so is the MILP
    model, incumbent = incumbent_on_cores(reduction)
    return finish(reduction, model, incumbent, ties)


def incumbent_on_cores(reduction: Reduction) -> tuple[Model | None, np.ndarray | None]:
    """A feasible selection from cores of the most promising candidates, and the core it came
    from; ``(None, None)`` when the free candidates are too few for a core or no core is
    feasible.

    A small core, then a larger one started from its optimum: a better incumbent leaves
    fewer candidates free below.
    """
    model, incumbent = None, None
    free_count = int(np.count_nonzero(reduction.fixed < 0))
    for core_size in CORE_SIZES:
        if free_count <= core_size:
            break
        core = Model(reduction.problem, reduction.core(core_size), reduction.ambiguity)
        found = searches.optimise(core, start=incumbent)
        if found is not None:
            model, incumbent = core, found
    return model, incumbent


def finish(
    reduction: Reduction, model: Model | None, incumbent: np.ndarray | None, ties: bool
) -> Portfolio | None:
    """The optimum (under the tie rule if ``ties``) from the incumbent the cores found."""
    problem = reduction.problem
    fixing = reduction.fixing(incumbent)
    if not ties:
        # A core that holds fixed only candidates the reduction fixes alike contains every
        # optimal and tied solution: its optimum is the optimum.
        if model is None or not model.covers(fixing):
            whole = Model(problem, fixing, reduction.ambiguity)
            incumbent = searches.optimise(whole, start=incumbent)
    else:
        model = model if model is not None and model.covers(fixing) else None
        incumbent = settle(narrowest(reduction, incumbent, model), incumbent, reduction)
    if incumbent is None:
        return None
    return problem.portfolio(incumbent)


def narrowest(reduction: Reduction, incumbent: np.ndarray | None, current: Model | None) -> Model:
    """The smaller of ``current`` and the model the reduction leaves given ``incumbent``.

    Each contains every optimal and tied solution, so the searches run on the smaller.
    """
    fixing = reduction.fixing(incumbent)
    if current is not None and current.size <= np.count_nonzero(fixing < 0):
        return current
    return Model(reduction.problem, fixing, reduction.ambiguity)


def settle(model: Model, candidate: np.ndarray | None, reduction: Reduction) -> np.ndarray | None:
    """The optimum under the tie rule, starting from a feasible ``candidate`` (or None).

    One search for the best solution other than ``candidate`` within the tie
    tolerance proves, when it finds none, that ``candidate`` is optimal and unique:
    the proof of optimality and the check for ties in one. A better solution becomes
    the candidate, and the reduction is redone around it.
    """
    problem = model.problem
    if candidate is None:
        candidate = searches.optimise(model)
        if candidate is None:
            return None
        model = narrowest(reduction, candidate, model)
    while model.size:
        other = searches.find(model, problem.theta(candidate) + problem.objective_tol, candidate)
        if other is None:
            return candidate
        if problem.theta(other) < problem.theta(candidate) - problem.objective_tol:
            candidate = other  # better: the best solution except the old candidate
            model = narrowest(reduction, candidate, model)
            continue
        # Tied; ``other`` is the best solution but ``candidate``: the optimum is one of them.
        optimum = min((candidate, other), key=problem.theta)
        return searches.break_ties(model, optimum)
    return candidate
