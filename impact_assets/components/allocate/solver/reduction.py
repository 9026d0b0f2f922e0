"""Exact reduction before CBC: the LP relaxation's bound and reduced-cost fixing (no CBC here).

``fixed`` arrays hold -1 for a free candidate and 0 or 1 for one fixed at that value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from impact_assets.components.allocate.solver.problem import Problem


@dataclass(frozen=True)
class Reduction:
    """What the LP relaxation proves: a bound on ``theta`` and each candidate's ``d_i``.

    For every feasible ``x``, ``theta(x) >= bound + sum_{d_i > 0} d_i x_i +
    sum_{d_i < 0} |d_i| (1 - x_i)`` (docs/decision.md, "Reduction").
    """

    problem: Problem
    fixed: np.ndarray  # the fixing the relaxation was solved under
    bound: float
    reduced: np.ndarray  # d_i; 0 for candidates ``fixed`` holds
    ambiguity: np.ndarray  # |d_i|: how unsure the LP is of each candidate

    @classmethod
    def relax(cls, problem: Problem, fixed: np.ndarray) -> Reduction | None:
        """Solve the LP relaxation under ``fixed``; None when it (so the MILP) is infeasible."""
        relaxation = _lagrangian_bound(problem, fixed)
        if relaxation is None:
            return None
        bound, reduced = relaxation
        return cls(problem, fixed, bound, reduced, np.abs(reduced))

    def restrict(self, fixed: np.ndarray) -> Reduction:
        """The same multipliers' reduction among the selections that agree with ``fixed``.

        ``fixed`` holds what :attr:`fixed` holds and more. The inequality holds for every
        feasible ``x``, so for these too: a newly held candidate's term is a constant,
        ``|d_i|`` when it is held off its LP side, and moves into the bound. No LP is solved.
        """
        newly = (self.fixed < 0) & (fixed >= 0)
        held_off = ((fixed == 1) & (self.reduced > 0)) | ((fixed == 0) & (self.reduced < 0))
        off_side = newly & held_off
        reduced = np.where(newly, 0.0, self.reduced)
        bound = self.bound + float(np.abs(self.reduced[off_side]).sum())
        return Reduction(self.problem, fixed.copy(), bound, reduced, np.abs(reduced))

    def fixing(self, incumbent: np.ndarray | None) -> np.ndarray:
        """``fixed`` plus every candidate whose ``|d_i|`` exceeds the incumbent's gap to the bound.

        No optimal or tied solution can flip such a candidate from its LP side.
        """
        problem = self.problem
        fixing = self.fixed.copy()
        theta_inc = problem.theta(incumbent) if incumbent is not None else np.inf
        slack = theta_inc - self.bound + problem.objective_tol + problem.fix_margin
        if np.isfinite(slack):
            free = fixing < 0
            fixing[free & (self.reduced > slack)] = 0
            fixing[free & (-self.reduced > slack)] = 1
        return fixing

    def core(self, size: int) -> np.ndarray:
        """Free the ``size`` candidates of smallest ``|d_i|``; hold the rest at their LP side."""
        core = self.fixed.copy()
        free = np.flatnonzero(self.fixed < 0)
        order = free[np.lexsort((free, np.abs(self.reduced[free])))]
        held = order[size:]
        core[held] = np.where(self.reduced[held] < 0, 1, 0)
        return core


def _lagrangian_bound(problem: Problem, fixed: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The LP relaxation's bound and reduced costs ``d``, or None if infeasible.

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
