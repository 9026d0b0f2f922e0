"""One CBC search of a model, split over concurrent CBC processes when the model is large.

A model with at least :data:`SPLIT_MIN_SIZE` open candidates is split on the two the LP
is least sure of into :data:`SPLIT_WAYS` subproblems (each pair of 0/1 values), solved by
up to :data:`SPLIT_PROCESSES` CBC processes at once. The best of their optima is the
model's optimum; an exact tie goes to the first subproblem, so timing never decides.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import numpy as np

from impact_assets.components.allocate.solver import cbc
from impact_assets.components.allocate.solver.model import Model, Search, build_lp

SPLIT_MIN_SIZE = 64
SPLIT_WAYS = 4
# One CBC process per core; 1 turns the split off.
SPLIT_PROCESSES = min(SPLIT_WAYS, os.cpu_count() or 1)


def run(model: Model, search: Search) -> np.ndarray | None:
    """The optimal selection under ``search`` (a mask over all candidates); None: infeasible."""
    subproblems = branches(model, search)
    if len(subproblems) == 1:
        return solve(model, subproblems[0])
    if search.start is not None:
        # Only the subproblem that holds ``start`` can start from it; the others prune by
        # its objective instead (plus the tolerance, so the start's subproblem keeps it).
        problem = model.problem
        own = model.cbc_objective(problem.theta(search.start) + problem.objective_tol)
        cutoff = own if search.cutoff is None else min(search.cutoff, own)
        subproblems = [
            replace(
                branch,
                cutoff=cutoff,
                start=search.start if _holds(model, branch, search.start) else None,
            )
            for branch in subproblems
        ]
    with ThreadPoolExecutor(max_workers=min(len(subproblems), SPLIT_PROCESSES)) as pool:
        found = list(pool.map(partial(solve, model), subproblems))
    optima = [selected for selected in found if selected is not None]
    # The first subproblem wins an exact tie, so the answer does not depend on timing.
    return min(optima, key=model.problem.theta) if optima else None


def branches(model: Model, search: Search) -> list[Search]:
    """``search`` itself, or one search per 0/1 assignment of the split candidates."""
    if model.size < SPLIT_MIN_SIZE or SPLIT_PROCESSES < 2:
        return [search]
    position = {int(i): k for k, i in enumerate(model.free)}
    open_positions = [position[i] for i in model.split_order if position[i] not in search.held]
    split = open_positions[: SPLIT_WAYS.bit_length() - 1]
    assignments = [
        {k: (mask >> bit) & 1 for bit, k in enumerate(split)} for mask in range(1 << len(split))
    ]
    return [replace(search, held={**search.held, **values}) for values in assignments]


def solve(model: Model, search: Search) -> np.ndarray | None:
    """Build one (sub)problem and let CBC solve it: the selection, or None if infeasible."""
    lp, x = build_lp(model, search)
    if not cbc.solve(lp, cutoff=search.cutoff, warm_start=search.start is not None):
        return None
    return model.selection([(var.varValue or 0.0) > 0.5 for var in x])


def _holds(model: Model, branch: Search, start: np.ndarray) -> bool:
    """Whether ``start`` agrees with every candidate the subproblem holds."""
    return all(int(start[model.free[k]]) == value for k, value in branch.held.items())
