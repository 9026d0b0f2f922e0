"""The best selection that includes a given candidate: the problem solved again with it held in.

Every candidate an optimum leaves out is solved this way from one LP relaxation of the
whole problem (docs/decision.md, "Why not selected"): the relaxation's inequality holds
for every feasible selection, so for those that include the candidate too, with its
``|d_i|`` added to the bound when the LP leaves it out. That bound ranks the
candidates cheaply; each one solved needs the cores and the tie searches of
:mod:`~impact_assets.components.allocate.solver.solve`, not another LP.
"""

from __future__ import annotations

import numpy as np

from impact_assets.components.allocate.solver.problem import Portfolio, Problem
from impact_assets.components.allocate.solver.reduction import Reduction
from impact_assets.components.allocate.solver.solve import (
    CORE_SIZES,
    finish,
    incumbent_on_cores,
    initial_fixing,
    solve_fixed,
)


class Inclusions:
    """One problem's LP relaxation, kept to solve the problem with one candidate held in."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.fixed = initial_fixing(problem)
        self.reduction = Reduction.relax(problem, self.fixed) if np.any(self.fixed < 0) else None

    def theta_bounds(self) -> np.ndarray:
        """Per candidate, a lower bound on ``theta`` of every feasible selection including it.

        ``inf`` where none exists for certain: the candidate is dearer than the budget,
        or the LP relaxation (so the problem) is infeasible.
        """
        bounds = np.full(self.problem.size, np.inf)
        if self.reduction is None:
            return bounds
        free = self.fixed < 0
        reduced = self.reduction.reduced
        bounds[free] = self.reduction.bound + np.maximum(reduced[free], 0.0)
        return bounds

    def best_including(self, index: int) -> Portfolio | None:
        """The optimum under the tie rule among the selections that include ``index``.

        ``objective`` is ``theta``; None when no feasible selection includes it.
        """
        problem = self.problem
        if self.fixed[index] == 0:
            return None  # dearer than the whole budget
        fixed = self.fixed.copy()
        fixed[index] = 1
        # As for the whole budget: a candidate dearer than what ``index`` leaves is never
        # selected with it (and CBC 2.10.3 can crash proving infeasible a model whose free
        # candidates do not fit on their own).
        fixed[(fixed < 0) & (problem.costs > problem.budget - problem.costs[index])] = 0
        if self.reduction is None or not np.any(fixed < 0):
            return solve_fixed(problem, fixed)
        restricted = self.reduction.restrict(fixed)
        model, incumbent = incumbent_on_cores(restricted)
        if incumbent is None and np.count_nonzero(fixed < 0) > CORE_SIZES[0]:
            # No core holds a feasible selection: the LP solved again with the candidate
            # held in gives cores around its own sides, or proves none exists.
            return solve_fixed(problem, fixed)
        return finish(restricted, model, incumbent, ties=True)
