"""The CBC searches the tie rule is made of; every answer is checked in Python before it counts.

A search for a better or tied solution sets CBC's ``cutoff`` at the tied objective: it
prunes by bound from the first node, where a constraint on ``theta`` would not
(measured: 15x faster). The sequence is explained in docs/decision.md, "Ties".
"""

from __future__ import annotations

import numpy as np

from impact_assets.components.allocate.solver import split
from impact_assets.components.allocate.solver.model import Model, Search
from impact_assets.components.allocate.solver.problem import SolverError


def optimise(model: Model, start: np.ndarray | None = None) -> np.ndarray | None:
    """The model's optimal selection (a mask over all candidates), or None if infeasible.

    ``start``, a feasible selection, is handed to CBC as its first incumbent.
    """
    if not model.size:
        selected = model.base.copy()
        return selected if model.problem.feasible(selected) else None
    found = split.run(model, Search(start=start))
    if found is not None and not model.problem.feasible(found):
        raise SolverError("CBC returned a selection that breaks the budget or the floor")
    return found


def find(
    model: Model,
    tied: float,
    differs_from: np.ndarray | None = None,
    *,
    cost_below: float | None = None,
    outside: np.ndarray | None = None,
    held: dict[int, int] | None = None,
) -> np.ndarray | None:
    """A solution with objective below ``tied`` under the extra conditions, or None.

    ``cost_below``: total cost at most this. ``differs_from``: differ from that
    selection in at least one free candidate not marked in ``outside``. ``held``:
    free candidates (by position) held at 0 or 1.
    """
    problem = model.problem
    limit = None
    if cost_below is not None:
        limit = (cost_below - problem.cost(model.base)) / problem.cost_unit
    compared = None
    if differs_from is not None:
        compared = np.ones(model.size, dtype=bool) if outside is None else ~outside
        if not compared.any():
            return None
    found = split.run(
        model,
        Search(
            cutoff=model.cbc_objective(tied),
            cost_limit=limit,
            differs=None if compared is None else (differs_from[model.free], compared),
            held=held or {},
        ),
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
        found[model.free][compared], differs_from[model.free][compared]
    ):
        broken.append("difference")
    if broken:
        raise SolverError(f"CBC returned a solution that breaks: {', '.join(broken)}")
    return found


def break_ties(model: Model, optimum: np.ndarray) -> np.ndarray:
    """Among the solutions tied with ``optimum``: the cheapest, then the earliest ids."""
    if not model.size:
        return optimum
    problem = model.problem
    tied = problem.theta(optimum) + problem.objective_tol
    # The usual case, settled by one search: no other solution is tied.
    if find(model, tied, differs_from=optimum) is None:
        return optimum

    # The cheapest tied solution (each step is cheaper by more than the tolerance).
    reference = optimum
    while True:
        cheaper = find(model, tied, cost_below=problem.cost(reference) - problem.cost_tol)
        if cheaper is None:
            break
        reference = cheaper
    cost_limit = problem.cost(reference) + problem.cost_tol

    # Which candidates differ between tied cheapest solutions? Those outside
    # ``varying`` take the reference's value in every one of them.
    varying = np.zeros(model.size, dtype=bool)
    while True:
        other = find(model, tied, cost_below=cost_limit, differs_from=reference, outside=varying)
        if other is None:
            break
        varying |= other[model.free] != reference[model.free]

    # Decide the varying candidates one at a time, in id order: include each one if a
    # tied cheapest solution agreeing with every earlier decision allows it.
    decided = {int(k): int(reference[model.free[k]]) for k in np.flatnonzero(~varying)}
    for k in np.flatnonzero(varying).tolist():
        if not reference[model.free[k]]:
            candidate = find(model, tied, cost_below=cost_limit, held={**decided, k: 1})
            if candidate is not None:
                reference = candidate
        decided = {**decided, k: int(reference[model.free[k]])}
    return reference
