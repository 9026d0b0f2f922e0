"""Exact 0/1 portfolio selection with PuLP and CBC: the knapsack and the minimax-regret MILP.

Both problems are one shape: choose binary ``x`` (one entry per candidate, in the
order given: callers sort candidates by id first) to minimise

    theta(x) = max_j (offset_j - sum_i x_i values_ji)

subject to ``sum_i x_i costs_i <= budget`` and, when a floor is set,
``sum_i x_i floor_values_i >= floor``. The knapsack is one scenario with offset 0
(``value = -theta``); minimax regret has one row per scenario with ``offset_j = V*_j``.

Proven optimality. CBC runs with a zero relative and absolute gap, each process
serially (no ``threads`` option: this CBC build's ``-threads 1`` starts a worker thread
beside the main one and was slower; the serial default is deterministic). Every CBC answer must
be "Optimal" (or "Infeasible", which returns ``None``) or :class:`SolverError` is
raised, and every selection is re-checked in Python (budget, floor, tie conditions).
CBC sees values, costs and floor values divided by their largest magnitude, with
primal and integer tolerances of 1e-9: far below the tie tolerance.

Speed (exact). Before CBC sees the whole problem it is reduced by Lagrangian
reduced-cost fixing. The LP relaxation (HiGHS, through scipy) yields multipliers
``lambda`` (a point of the simplex, one per scenario), ``mu >= 0`` (budget) and
``sigma >= 0`` (floor); for every feasible ``x``

    theta(x) >= bound + sum_{d_i > 0} d_i x_i + sum_{d_i < 0} |d_i| (1 - x_i),
    d_i = -sum_j lambda_j values_ji + mu costs_i - sigma floor_values_i,

where ``bound`` is computed from those multipliers (so it is valid however
accurately the LP was solved). CBC solves small cores of the candidates with the
smallest ``|d_i|`` (16, then 32; the rest held at their LP side) for an incumbent
``theta_inc``. Every candidate with ``|d_i| > theta_inc - bound`` (plus the tie
tolerance and a round-off margin) takes its LP side in every optimal or tied
solution and is fixed; CBC then solves what is left (about a hundred candidates out
of 10,000), started from the incumbent. A better solution found there narrows
``theta_inc - bound``, so the fixing is redone and the searches that prove it optimal
and break its ties run on the smaller model.

Cores. A search on a model of at least ``_SPLIT_MIN_SIZE`` free candidates is split
on its two free candidates with the smallest ``|d_i|`` into four subproblems (each
pair of 0/1 values), solved by concurrent CBC processes, one per core, with the same
cutoff (and the start's objective as a cutoff for the branches that cannot hold the
start). Their best optimum is the model's optimum; an exact tie goes to the first
branch, so the answer never depends on timing, and the tie rule below is applied to
it as to any other. With one core, or below the size, a search is one process.

Ties. Solutions whose objective is within ``TIE_RTOL`` times the largest |value| of
the optimum are tied. Among them:

1. the lowest total cost (within ``TIE_RTOL`` times the largest cost);
2. then the earliest ids: the membership vector read in candidate (id) order is
   lexicographically greatest, i.e. include the first candidate whenever a tied,
   cheapest portfolio allows it, then the next, and so on. Tied cheapest portfolios
   cannot contain one another (costs are positive), so this is the portfolio whose
   sorted list of ids is lexicographically smallest.

Candidates identical in every value, cost and floor value are interchangeable, and
the rule always prefers the earlier: every model requires ``x_earlier >= x_later``
for them, which removes that symmetry from CBC's search without changing the answer.

Implemented exactly by a sequence of CBC searches, each with CBC's ``cutoff`` at the
incumbent's objective plus the tolerance (it prunes by bound from the first node):

- the best solution other than the incumbent: none proves the incumbent optimal and
  unique in one search (the usual case); a better one becomes the incumbent and the
  search repeats; a tied one leads to the rest;
- look for a tied solution cheaper by more than the tolerance until there is none;
  then, with the cost bounded, for a tied solution that differs from it outside the
  candidates already seen to vary, until there is none (the others take the same
  value in every tied cheapest solution); then decide the varying candidates one at
  a time, in id order, each by a feasibility search.

``V*`` needs only the optimal value: one proof, no tie searches.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pulp
from scipy.optimize import linprog

# Objectives (costs) within this fraction of the largest single value (cost) count as tied:
# well above CBC's tolerances (1e-9 here) on the model it sees, where every unit is 1.
TIE_RTOL = 1e-6
# The reduction keeps a candidate unless its bound exceeds the incumbent by this much more
# (relative to the largest possible objective: round-off in the bound's sums).
_FIX_MARGIN_RTOL = 1e-9
# Cores CBC solves for an incumbent, in turn, each started from the last one's optimum.
_CORE_SIZES = (16, 32)
# A CBC search on a model this large is split into this many subproblems, solved by
# up to _SPLIT_PROCESSES CBC processes at once (one per core; 1 turns the split off).
_SPLIT_MIN_SIZE = 64
_SPLIT_WAYS = 4
_SPLIT_PROCESSES = min(_SPLIT_WAYS, os.cpu_count() or 1)


class SolverError(RuntimeError):
    """CBC ended without proving optimality (or was not found)."""


class Portfolio(NamedTuple):
    """A selection (candidate indices, ascending) and its objective."""

    selected: tuple[int, ...]
    objective: float


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
    problem = _Problem.build([values], [0.0], costs, budget, floor_values, floor)
    found = _solve(problem, break_ties)
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
    problem = _Problem.build(scenario_values, best_values, costs, budget, floor_values, floor)
    return _solve(problem, break_ties)


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class _Problem:
    values: np.ndarray  # (scenarios, candidates)
    offsets: np.ndarray  # (scenarios,)
    costs: np.ndarray
    budget: float
    floor_values: np.ndarray | None
    floor: float | None  # already lowered by the tolerance
    value_unit: float  # the largest |value|: CBC sees values in this unit
    cost_unit: float  # the largest cost: CBC sees costs in this unit
    floor_unit: float
    objective_tol: float
    cost_tol: float
    fix_margin: float
    # (earlier, later) candidates identical in every value, cost and floor value: the tie
    # rule always prefers the earlier, so every model may require x_earlier >= x_later.
    duplicates: tuple[tuple[int, int], ...]

    @classmethod
    def build(
        cls,
        values: Sequence[Sequence[float]],
        offsets: Sequence[float],
        costs: Sequence[float],
        budget: float,
        floor_values: Sequence[float] | None,
        floor: float | None,
    ) -> _Problem:
        cost_array = np.asarray(costs, dtype=float).reshape(-1)
        n = cost_array.shape[0]
        value_rows = np.array(values, dtype=float, ndmin=2)
        if n == 0:
            value_rows = np.zeros((value_rows.shape[0], 0))
        if value_rows.shape[1] != n:
            raise ValueError(
                f"values: each scenario needs one entry per candidate ({n}), "
                f"got {value_rows.shape[1]}"
            )
        offset_array = np.asarray(offsets, dtype=float).reshape(-1)
        if offset_array.shape != (value_rows.shape[0],):
            raise ValueError(f"offsets: need one per scenario ({value_rows.shape[0]})")
        if not np.all(np.isfinite(cost_array)) or np.any(cost_array <= 0):
            raise ValueError("costs: every cost must be finite and > 0")
        if not (np.all(np.isfinite(value_rows)) and np.all(np.isfinite(offset_array))):
            raise ValueError("values: every value must be finite")
        if not np.isfinite(budget) or budget < 0:
            raise ValueError(f"budget: must be finite and >= 0, got {budget}")
        value_unit = _unit(value_rows)
        floor_array, lowered_floor, floor_unit = None, None, 1.0
        if floor is not None:
            if floor_values is None:
                raise ValueError("floor_values: required when a floor is set")
            floor_array = np.asarray(floor_values, dtype=float).reshape(-1)
            if floor_array.shape != (n,) or not np.all(np.isfinite(floor_array)):
                raise ValueError(f"floor_values: need one finite value per candidate ({n})")
            if not np.isfinite(floor):
                raise ValueError(f"floor: must be finite, got {floor}")
            floor_unit = _unit(floor_array)
            lowered_floor = float(floor) - TIE_RTOL * floor_unit
        largest_sum = float(np.max(np.abs(value_rows).sum(axis=1))) if n else 0.0
        columns = [value_rows, cost_array[None, :]]
        if floor_array is not None:
            columns.append(floor_array[None, :])
        return cls(
            values=value_rows,
            offsets=offset_array,
            costs=cost_array,
            budget=float(budget),
            floor_values=floor_array,
            floor=lowered_floor,
            value_unit=value_unit,
            cost_unit=_unit(cost_array),
            floor_unit=floor_unit,
            objective_tol=TIE_RTOL * value_unit,
            cost_tol=TIE_RTOL * _unit(cost_array),
            fix_margin=_FIX_MARGIN_RTOL
            * (value_unit + float(np.max(np.abs(offset_array))) + largest_sum),
            duplicates=_identical_pairs(np.vstack(columns).T),
        )

    @property
    def size(self) -> int:
        return int(self.costs.shape[0])

    def theta(self, selected: np.ndarray) -> float:
        """``max_j (offset_j - value of the selection in scenario j)`` for a boolean mask."""
        return float(np.max(self.offsets - self.values[:, selected].sum(axis=1)))

    def cost(self, selected: np.ndarray) -> float:
        return float(self.costs[selected].sum())

    def feasible(self, selected: np.ndarray) -> bool:
        if self.cost(selected) > self.budget + self.cost_tol:
            return False
        return self.floor is None or float(self.floor_values[selected].sum()) >= self.floor


def _identical_pairs(rows: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Consecutive (earlier, later) indices of identical rows."""
    if rows.shape[0] < 2:
        return ()
    _, group = np.unique(rows, axis=0, return_inverse=True)
    order = np.lexsort((np.arange(rows.shape[0]), group.reshape(-1)))
    same = group.reshape(-1)[order[1:]] == group.reshape(-1)[order[:-1]]
    return tuple((int(a), int(b)) for a, b in zip(order[:-1][same], order[1:][same], strict=True))


def _unit(array: np.ndarray) -> float:
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    return largest if largest > 0 else 1.0


# --------------------------------------------------------------------------- solving


def _solve(problem: _Problem, break_ties: bool) -> Portfolio | None:
    # -1 free, 0 or 1 fixed; a candidate dearer than the whole budget is never selected.
    fixed = np.full(problem.size, -1, dtype=np.int8)
    fixed[problem.costs > problem.budget] = 0
    if not np.any(fixed < 0):
        return _fixed_only(problem, fixed)

    relaxation = _lagrangian_bound(problem, fixed)
    if relaxation is None:
        return None  # the LP relaxation is infeasible, so is the MILP
    bound, reduced = relaxation
    ambiguity = np.abs(reduced)  # searches split on the candidates the LP is least sure of

    # An incumbent from cores of the most promising candidates: a small core, then a larger
    # one started from its optimum (a better incumbent leaves fewer candidates free below).
    model, incumbent = None, None
    free_count = int(np.count_nonzero(fixed < 0))
    for core_size in _CORE_SIZES:
        if free_count <= core_size:
            break
        core = _Model(problem, _core_fixing(fixed, reduced, core_size), ambiguity)
        found = core.optimise(start=incumbent)
        if found is not None:
            model, incumbent = core, found

    fixing = _reduced_fixing(problem, fixed, reduced, bound, incumbent)
    if not break_ties:
        # A core that holds fixed only candidates the reduction fixes alike contains every
        # optimal and tied solution: its optimum is the optimum.
        if model is None or not model.covers(fixing):
            incumbent = _Model(problem, fixing, ambiguity).optimise(start=incumbent)
    else:

        def refit(candidate: np.ndarray | None, current: _Model | None) -> _Model:
            """The smaller of ``current`` and the model the reduction leaves given ``candidate``.

            Each contains every optimal and tied solution, so the searches run on the smaller.
            """
            fixing = _reduced_fixing(problem, fixed, reduced, bound, candidate)
            if current is not None and current.size <= np.count_nonzero(fixing < 0):
                return current
            return _Model(problem, fixing, ambiguity)

        model = model if model is not None and model.covers(fixing) else None
        incumbent = _settle(refit(incumbent, model), incumbent, refit)
    if incumbent is None:
        return None
    return Portfolio(tuple(int(i) for i in np.flatnonzero(incumbent)), problem.theta(incumbent))


def _reduced_fixing(
    problem: _Problem,
    fixed: np.ndarray,
    reduced: np.ndarray,
    bound: float,
    incumbent: np.ndarray | None,
) -> np.ndarray:
    """``fixed`` plus every candidate whose ``|d_i|`` exceeds the incumbent's gap to the bound."""
    fixing = fixed.copy()
    theta_inc = problem.theta(incumbent) if incumbent is not None else np.inf
    slack = theta_inc - bound + problem.objective_tol + problem.fix_margin
    if np.isfinite(slack):
        free = fixing < 0
        fixing[free & (reduced > slack)] = 0
        fixing[free & (-reduced > slack)] = 1
    return fixing


def _settle(model: _Model, candidate: np.ndarray | None, refit) -> np.ndarray | None:
    """The optimum under the tie rule, starting from a feasible ``candidate`` (or None).

    One search for the best solution other than ``candidate`` within the tie
    tolerance proves, when it finds none, that ``candidate`` is optimal and unique:
    the stage-1 proof and the uniqueness check in one. ``refit(candidate, model)``
    gives the model to search next once a better candidate is known.
    """
    problem = model.problem
    if candidate is None:
        candidate = model.optimise()
        if candidate is None:
            return None
        model = refit(candidate, model)
    while model.size:
        other = model._find(problem.theta(candidate) + problem.objective_tol, candidate)
        if other is None:
            return candidate
        if problem.theta(other) < problem.theta(candidate) - problem.objective_tol:
            candidate = other  # better: the best solution except the old candidate
            model = refit(candidate, model)
            continue
        # Tied; ``other`` is the best solution but ``candidate``: the optimum is one of them.
        optimum = min((candidate, other), key=problem.theta)
        return model.break_ties(optimum)
    return candidate


def _fixed_only(problem: _Problem, fixed: np.ndarray) -> Portfolio | None:
    selected = fixed == 1
    if not problem.feasible(selected):
        return None
    return Portfolio(tuple(int(i) for i in np.flatnonzero(selected)), problem.theta(selected))


def _core_fixing(fixed: np.ndarray, reduced: np.ndarray, size: int) -> np.ndarray:
    """Free the ``size`` candidates with the smallest ``|d_i|``; hold the rest at their LP side."""
    core = fixed.copy()
    free = np.flatnonzero(fixed < 0)
    order = free[np.lexsort((free, np.abs(reduced[free])))]
    held = order[size:]
    core[held] = np.where(reduced[held] < 0, 1, 0)
    return core


def _lagrangian_bound(problem: _Problem, fixed: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The LP relaxation's bound and reduced costs ``d`` (module docstring), or None if infeasible.

    Candidates already fixed enter through the constants; their ``d`` is left at 0.
    """
    free = np.flatnonzero(fixed < 0)
    ones = fixed == 1
    scenarios = problem.values.shape[0]
    offsets = problem.offsets - problem.values[:, ones].sum(axis=1)
    budget = problem.budget - float(problem.costs[ones].sum())
    # variables: x (free candidates), then theta; rows: scenarios, budget, floor
    rows = [np.hstack([-problem.values[:, free], -np.ones((scenarios, 1))])]
    rhs = [-offsets]
    rows.append(np.append(problem.costs[free], 0.0)[None, :])
    rhs.append([budget])
    floor = None
    if problem.floor is not None:
        floor = problem.floor - float(problem.floor_values[ones].sum())
        rows.append(np.append(-problem.floor_values[free], 0.0)[None, :])
        rhs.append([-floor])
    objective = np.zeros(free.size + 1)
    objective[-1] = 1.0
    bounds = np.zeros((free.size + 1, 2))
    bounds[:, 1] = 1.0
    bounds[-1] = (-np.inf, np.inf)
    result = linprog(
        objective,
        A_ub=np.vstack(rows),
        b_ub=np.concatenate(rhs),
        bounds=bounds,
        method="highs-ds",
        options={"presolve": False},  # HiGHS presolve costs 10x the solve on these few-row LPs
    )
    if result.status == 2:
        return None
    reduced = np.zeros(problem.size)
    if result.status != 0:
        # No multipliers: a bound of -inf fixes nothing, and CBC solves the whole problem.
        return -np.inf, reduced
    duals = np.maximum(-np.asarray(result.ineqlin.marginals), 0.0)  # <= rows of a minimisation
    weights = duals[:scenarios]
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(scenarios, 1 / scenarios)
    mu = duals[scenarios]
    d = -(weights @ problem.values[:, free]) + mu * problem.costs[free]
    constant = float(weights @ offsets) - mu * budget
    if floor is not None:
        sigma = duals[scenarios + 1]
        d = d - sigma * problem.floor_values[free]
        constant += sigma * floor
    reduced[free] = d
    return constant + float(np.minimum(d, 0.0).sum()), reduced


class _Model:
    """The CBC model over the candidates ``fixed`` leaves free (the others are constants).

    CBC sees values, costs and floor values divided by their largest magnitude, so its
    absolute tolerances are small against every tolerance used here. The objective is
    ``theta`` (less the constant of the fixed candidates). Tied solutions are searched
    for with CBC's ``cutoff`` at the optimum plus the tolerance: it prunes by bound from
    the first node, where a constraint on ``theta`` would not (measured: 15x faster).
    Each search builds a fresh PuLP problem from the arrays kept here; every answer is
    checked in Python before it is believed.
    """

    def __init__(
        self, problem: _Problem, fixed: np.ndarray, ambiguity: np.ndarray | None = None
    ) -> None:
        self.problem = problem
        self.fixed = fixed
        self.free = np.flatnonzero(fixed < 0)
        # Split order: free candidates by |d_i| (LP reduced cost), smallest first.
        self.split_order = (
            self.free[np.lexsort((self.free, ambiguity[self.free]))].tolist()
            if ambiguity is not None
            else []
        )
        self.base = fixed == 1  # the selection before any free candidate is added
        self.low = np.zeros(self.free.size, dtype=int)  # bounds of the free candidates
        self.high = np.ones(self.free.size, dtype=int)
        self.costs = (problem.costs[self.free] / problem.cost_unit).tolist()
        self.budget = (problem.budget - problem.cost(self.base)) / problem.cost_unit
        self.floor_values = self.floor = None
        if problem.floor is not None:
            self.floor_values = (problem.floor_values[self.free] / problem.floor_unit).tolist()
            base_floor = float(problem.floor_values[self.base].sum())
            self.floor = (problem.floor - base_floor) / problem.floor_unit
        offsets = problem.offsets - problem.values[:, self.base].sum(axis=1)
        self.offsets = (offsets / problem.value_unit).tolist()
        self.values = (problem.values[:, self.free] / problem.value_unit).tolist()
        # One scenario: theta is offset - value; CBC sees -value, the offset is added back.
        self.offset = float(offsets[0]) if len(self.values) == 1 else 0.0

    @property
    def size(self) -> int:
        return int(self.free.size)

    def covers(self, fixed: np.ndarray) -> bool:
        """Whether every candidate ``fixed`` leaves free is free here, the rest fixed alike."""
        held = self.fixed >= 0
        return bool(np.all(fixed[held] == self.fixed[held]))

    def optimise(self, start: np.ndarray | None = None) -> np.ndarray | None:
        """The optimal selection (a mask over all candidates), or None if infeasible.

        ``start``, a feasible selection, is handed to CBC as its first incumbent.
        """
        if not self.size:
            selected = self.base.copy()
            return selected if self.problem.feasible(selected) else None
        found = self._run(start=start)
        if found is not None and not self.problem.feasible(found):
            raise SolverError("CBC returned a selection that breaks the budget or the floor")
        return found

    def break_ties(self, optimum: np.ndarray) -> np.ndarray:
        """The cheapest tied solution, then the earliest ids (module docstring)."""
        if not self.size:
            return optimum
        problem = self.problem
        tied = problem.theta(optimum) + problem.objective_tol
        # The usual case, settled by one search: no other solution is tied.
        if self._find(tied, differs_from=optimum) is None:
            return optimum

        # The cheapest tied solution (each step is cheaper by more than the tolerance).
        reference = optimum
        while True:
            cheaper = self._find(tied, cost_below=problem.cost(reference) - problem.cost_tol)
            if cheaper is None:
                break
            reference = cheaper
        cost_limit = problem.cost(reference) + problem.cost_tol

        # Which candidates differ between tied cheapest solutions? Those outside
        # ``varying`` take the reference's value in every one of them.
        varying = np.zeros(self.size, dtype=bool)
        while True:
            other = self._find(tied, cost_below=cost_limit, differs_from=reference, outside=varying)
            if other is None:
                break
            varying |= other[self.free] != reference[self.free]

        # Decide the varying candidates one at a time, in id order: include each one if a
        # tied cheapest solution agreeing with every earlier decision allows it.
        self.low[~varying] = self.high[~varying] = reference[self.free][~varying]
        for k in np.flatnonzero(varying):
            if not reference[self.free[k]]:
                self.low[k] = 1
                candidate = self._find(tied, cost_below=cost_limit)
                if candidate is not None:
                    reference = candidate
            self.low[k] = self.high[k] = int(reference[self.free[k]])
        self.low[:], self.high[:] = 0, 1
        return reference

    def _find(
        self,
        tied: float,
        differs_from: np.ndarray | None = None,
        *,
        cost_below: float | None = None,
        outside: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """A solution with objective below ``tied`` under the extra conditions, or None.

        ``cost_below``: total cost at most this. ``differs_from``: differ from that
        selection in at least one free candidate not marked in ``outside``.
        """
        problem = self.problem
        limit = None
        if cost_below is not None:
            limit = (cost_below - problem.cost(self.base)) / problem.cost_unit
        compared = None
        if differs_from is not None:
            compared = np.ones(self.size, dtype=bool) if outside is None else ~outside
            if not compared.any():
                return None
        found = self._run(
            cutoff=(tied - self.offset) / problem.value_unit,
            cost_limit=limit,
            differs=None if compared is None else (differs_from[self.free], compared),
        )
        if found is None:
            return None
        broken = []
        if not problem.feasible(found):
            broken.append("budget or floor")
        if problem.theta(found) > tied + problem.objective_tol:
            broken.append("tied objective")
        if cost_below is not None and problem.cost(found) > cost_below + problem.cost_tol / 2:
            broken.append("cost limit")
        if compared is not None and np.array_equal(
            found[self.free][compared], differs_from[self.free][compared]
        ):
            broken.append("difference")
        if broken:
            raise SolverError(f"CBC returned a solution that breaks: {', '.join(broken)}")
        return found

    def _run(
        self,
        *,
        cutoff: float | None = None,
        cost_limit: float | None = None,
        differs: tuple[np.ndarray, np.ndarray] | None = None,
        start: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Let CBC solve the model: the optimal selection, or None if infeasible.

        ``differs``: (reference values, which free candidates to compare) for a no-good
        cut; ``start``: a feasible selection CBC starts from. A large model is split
        on its most ambiguous free candidates into :data:`_SPLIT_WAYS` subproblems
        (each candidate fixed to 0 or to 1), solved by concurrent CBC processes with
        the same cutoff; the best of their optima is the model's optimum.
        """
        branches = self._branches()
        if len(branches) == 1:
            return self._run_branch(branches[0], cutoff, cost_limit, differs, start)
        if start is not None:
            # Only the branch that holds ``start`` can start from it; the others prune by
            # its objective instead (plus the tolerance, so the start's branch keeps it).
            problem = self.problem
            own = (problem.theta(start) + problem.objective_tol - self.offset) / problem.value_unit
            cutoff = own if cutoff is None else min(cutoff, own)

        def solve(branch: dict[int, int]) -> np.ndarray | None:
            agrees = start is not None and all(
                int(start[self.free[k]]) == value for k, value in branch.items()
            )
            return self._run_branch(branch, cutoff, cost_limit, differs, start if agrees else None)

        with ThreadPoolExecutor(max_workers=min(len(branches), _SPLIT_PROCESSES)) as pool:
            found = [selected for selected in pool.map(solve, branches) if selected is not None]
        # The first branch wins an exact tie, so the answer does not depend on timing.
        return min(found, key=self.problem.theta) if found else None

    def _branches(self) -> list[dict[int, int]]:
        """Subproblems as {free position: value}: one, or one per 0/1 assignment of the split."""
        if self.size < _SPLIT_MIN_SIZE or _SPLIT_PROCESSES < 2:
            return [{}]
        position = {int(i): k for k, i in enumerate(self.free)}
        open_positions = [
            position[i] for i in self.split_order if self.low[position[i]] < self.high[position[i]]
        ]
        split = open_positions[: _SPLIT_WAYS.bit_length() - 1]
        return [
            {k: (mask >> bit) & 1 for bit, k in enumerate(split)} for mask in range(1 << len(split))
        ]

    def _run_branch(
        self,
        branch: dict[int, int],
        cutoff: float | None,
        cost_limit: float | None,
        differs: tuple[np.ndarray, np.ndarray] | None,
        start: np.ndarray | None,
    ) -> np.ndarray | None:
        """Build one (sub)problem, with ``branch``'s candidates fixed, and let CBC solve it."""
        lp = pulp.LpProblem("portfolio", pulp.LpMinimize)
        x = []
        for k, (i, low, high) in enumerate(zip(self.free, self.low, self.high, strict=True)):
            low, high = (branch[k], branch[k]) if k in branch else (int(low), int(high))
            x.append(lp.add_variable(f"x{i:07d}", low, high, cat=pulp.LpInteger))
        cost = pulp.LpAffineExpression(zip(x, self.costs, strict=True))
        lp += cost <= self.budget
        if cost_limit is not None:
            lp += cost <= cost_limit
        if self.floor is not None:
            lp += pulp.LpAffineExpression(zip(x, self.floor_values, strict=True)) >= self.floor
        if len(self.values) == 1:
            lp.setObjective(
                pulp.LpAffineExpression((v, -a) for v, a in zip(x, self.values[0], strict=True))
            )
        else:
            theta = lp.add_variable("theta")
            for row, offset in zip(self.values, self.offsets, strict=True):
                lp += theta + pulp.LpAffineExpression(zip(x, row, strict=True)) >= offset
            lp.setObjective(pulp.LpAffineExpression([(theta, 1.0)]))
        position = {int(i): k for k, i in enumerate(self.free)}
        for earlier, later in self.problem.duplicates:
            if earlier in position and later in position:
                lp += x[position[earlier]] - x[position[later]] >= 0
        if differs is not None:
            reference, compared = differs
            terms = [
                (var, -1.0 if chosen else 1.0)
                for var, chosen, use in zip(x, reference, compared, strict=True)
                if use
            ]
            lp += pulp.LpAffineExpression(terms) + int(reference[compared].sum()) >= 1
        if start is not None:
            for var, i in zip(x, self.free, strict=True):
                var.setInitialValue(int(start[i]))

        status = lp.solve(_cbc(cutoff, warm_start=start is not None))
        if status == pulp.LpStatusInfeasible:
            return None
        if status != pulp.LpStatusOptimal or lp.sol_status != pulp.LpSolutionOptimal:
            raise SolverError(
                f"CBC ended with status {pulp.LpStatus.get(status, status)!r} "
                f"({pulp.LpSolution.get(lp.sol_status)}); expected a proven optimum"
            )
        selected = self.base.copy()
        selected[self.free] = [(var.varValue or 0.0) > 0.5 for var in x]
        return selected


def _cbc(cutoff: float | None = None, warm_start: bool = False) -> pulp.LpSolver:
    # Cuts and heuristics cost more than they save on these few-row models (measured).
    options = [
        "heuristicsOnOff off",
        "preprocess off",  # its row tightening accepted a 1e-6 violation of a cost limit
        "primalTolerance 1e-9",
        "integerTolerance 1e-9",
    ]
    if cutoff is not None:
        options.append(f"cutoff {cutoff!r}")
    with warnings.catch_warnings():
        # PuLP 3.3 announces that PULP_CBC_CMD (the CBC bundled with PuLP) goes in PuLP 4;
        # pyproject pins pulp < 4.
        warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            gapRel=0.0,
            gapAbs=0.0,
            cuts=False,
            warmStart=warm_start,
            options=options,
        )
    if not solver.available():
        raise SolverError(
            "the CBC solver bundled with PuLP is not available "
            f"(available: {pulp.listSolvers(onlyAvailable=True)})"
        )
    return solver
