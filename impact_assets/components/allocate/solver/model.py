"""The MILP over the candidates a fixing leaves free, and one search of it as a PuLP problem.

CBC sees values, costs and floor values divided by their largest magnitude, so its
absolute tolerances are small against every tolerance of the problem. A fresh PuLP
problem is built for every search from the arrays a :class:`Model` keeps; nothing
about a search is stored on the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pulp

from impact_assets.components.allocate.solver.problem import Problem


class Model:
    """The candidates ``fixed`` leaves free, in CBC's units; the others are constants.

    The objective is ``theta`` less the constant of the fixed candidates. Nothing
    changes after construction.
    """

    def __init__(self, problem: Problem, fixed: np.ndarray, ambiguity: np.ndarray) -> None:
        self.problem = problem
        self.fixed = fixed
        self.free = np.flatnonzero(fixed < 0)
        # Split order: free candidates by |d_i| (LP reduced cost), smallest first.
        self.split_order = self.free[np.lexsort((self.free, ambiguity[self.free]))].tolist()
        self.base = fixed == 1  # the selection before any free candidate is added
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

    def cbc_objective(self, theta: float) -> float:
        """``theta`` (in the problem's units) as the objective CBC sees."""
        return (theta - self.offset) / self.problem.value_unit

    def selection(self, chosen: list[bool]) -> np.ndarray:
        """The mask over all candidates given the value of each free one."""
        selected = self.base.copy()
        selected[self.free] = chosen
        return selected


@dataclass(frozen=True)
class Search:
    """The conditions of one CBC search of a model; each is optional.

    ``cutoff``: CBC prunes every node whose bound is not below it (CBC's objective).
    ``cost_limit``: total cost of the free candidates at most this (CBC's units).
    ``differs``: (reference values, which free candidates to compare) for a no-good cut.
    ``start``: a feasible selection (a mask over all candidates) CBC starts from.
    ``held``: free candidates held at 0 or 1, by position among the free ones.
    """

    cutoff: float | None = None
    cost_limit: float | None = None
    differs: tuple[np.ndarray, np.ndarray] | None = None
    start: np.ndarray | None = None
    held: Mapping[int, int] = field(default_factory=dict)


def build_lp(model: Model, search: Search) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The PuLP problem of one search and its variables, one per free candidate in order."""
    lp = pulp.LpProblem("portfolio", pulp.LpMinimize)
    held = search.held
    x = []
    for k, i in enumerate(model.free):
        low, high = (held[k], held[k]) if k in held else (0, 1)
        x.append(lp.add_variable(f"x{i:07d}", low, high, cat=pulp.LpInteger))
    cost = pulp.LpAffineExpression(zip(x, model.costs, strict=True))
    lp += cost <= model.budget
    if search.cost_limit is not None:
        lp += cost <= search.cost_limit
    if model.floor is not None:
        lp += pulp.LpAffineExpression(zip(x, model.floor_values, strict=True)) >= model.floor
    if len(model.values) == 1:
        lp.setObjective(
            pulp.LpAffineExpression((v, -a) for v, a in zip(x, model.values[0], strict=True))
        )
    else:
        theta = lp.add_variable("theta")
        for row, offset in zip(model.values, model.offsets, strict=True):
            lp += theta + pulp.LpAffineExpression(zip(x, row, strict=True)) >= offset
        lp.setObjective(pulp.LpAffineExpression([(theta, 1.0)]))
    # Identical candidates: the tie rule prefers the earlier, so no solution is lost.
    position = {int(i): k for k, i in enumerate(model.free)}
    for earlier, later in model.problem.duplicates:
        if earlier in position and later in position:
            lp += x[position[earlier]] - x[position[later]] >= 0
    if search.differs is not None:
        reference, compared = search.differs
        terms = [
            (var, -1.0 if chosen else 1.0)
            for var, chosen, use in zip(x, reference, compared, strict=True)
            if use
        ]
        lp += pulp.LpAffineExpression(terms) + int(reference[compared].sum()) >= 1
    if search.start is not None:
        for var, i in zip(x, model.free, strict=True):
            var.setInitialValue(int(search.start[i]))
    return lp, x
