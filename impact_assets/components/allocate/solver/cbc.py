"""Running PuLP's bundled CBC on one problem: zero gap, and nothing but a proof accepted."""

from __future__ import annotations

import warnings

import pulp

from impact_assets.components.allocate.solver.problem import SolverError


def solve(lp: pulp.LpProblem, *, cutoff: float | None, warm_start: bool) -> bool:
    """Let CBC solve ``lp``: True when proven optimal, False when proven infeasible.

    Any other ending raises :class:`SolverError`. ``cutoff``: CBC prunes every node
    whose bound is not below it; ``warm_start``: start from the variables' initial values.
    """
    try:
        status = lp.solve(_cbc(cutoff, warm_start=warm_start))
    except pulp.PulpSolverError:
        # CBC 2.10.3 crashes (a segmentation fault) on some models that are feasible as LPs
        # but have no integer solution, when its preprocessing is off (seen with a
        # worst-return floor); its preprocessing proves them infeasible. Any answer it gives
        # is checked in Python like every other.
        status = lp.solve(_cbc(cutoff, warm_start=warm_start, preprocess=True))
    if status == pulp.LpStatusInfeasible:
        return False
    if status != pulp.LpStatusOptimal or lp.sol_status != pulp.LpSolutionOptimal:
        raise SolverError(
            f"CBC ended with status {pulp.LpStatus.get(status, status)!r} "
            f"({pulp.LpSolution.get(lp.sol_status)}); expected a proven optimum"
        )
    return True


def _cbc(
    cutoff: float | None = None, warm_start: bool = False, preprocess: bool = False
) -> pulp.LpSolver:
    # Cuts and heuristics cost more than they save on these few-row models (measured).
    options = [
        "heuristicsOnOff off",
        # Off: its row tightening accepted a 1e-6 violation of a cost limit.
        "preprocess on" if preprocess else "preprocess off",
        "primalTolerance 1e-9",
        "integerTolerance 1e-9",
    ]
    if cutoff is not None:
        options.append(f"cutoff {cutoff!r}")
    with warnings.catch_warnings():
        # PuLP 3.3 announces that PULP_CBC_CMD (the CBC bundled with PuLP) goes in PuLP 4;
        # pyproject pins pulp < 4.
        warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
        # No ``threads`` option: this build's ``-threads 1`` starts a worker thread beside
        # the main one and was slower; the serial default is deterministic.
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
