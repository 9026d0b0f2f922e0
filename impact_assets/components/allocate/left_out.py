"""Why a rule left each candidate out: computed under the rule itself, never inferred.

A MILP rule (:class:`ExactRule`) solves its own problem again for a candidate it left
out, with the candidate held in: the best portfolio that includes it under the same
budget, worst-return floor and objective (confidence penalty and scenario weights
included), proven optimal under the same tie rule. How much worse that portfolio is in
the rule's objective is the reason; or no portfolio with it meets the floor. Candidates
are solved closest first, ranked by a lower bound from the LP relaxation, up to a limit;
the rest keep that bound. The greedy ``mock`` says where its ranking put each one and
what was left of the budget when its turn came. The wording of every reason is in
``impact_assets/loop/decision.py``; docs/decision.md, "Why an initiative was not
selected", explains each kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from impact_assets.components.allocate.scenarios import AllocationRequest
from impact_assets.components.allocate.solver import SolverError
from impact_assets.components.allocate.solver.including import Inclusions
from impact_assets.components.allocate.solver.problem import Problem
from impact_assets.contracts import AllocateResult, AllocationStatus

# The kinds of reason a rule's own numbers decide (the loop adds selected, excluded,
# failed and no decision: impact_assets/loop/decision.py orders and words them all).
BELOW_MIN_CONFIDENCE = "below min_confidence"
OVER_BUDGET = "over budget"
MISSES_FLOOR = "misses the floor"
NOT_POSITIVE = "negative or zero return"
TIED = "tied"
WORSE = "better without it"
NOT_COMPUTED = "not computed"
PASSED_OVER = "passed over"

# Left-out candidates solved again with each held in, closest first, at most; the rest keep
# a bound. Fewer in large portfolios, where each solve costs more (ExactRule.solved_work).
SOLVED_LIMIT = 50


@dataclass(frozen=True)
class LeftOut:
    """What is known about one candidate the rule did not select; the fields its kind uses.

    ``value_with_it``: the rule's objective for the best portfolio that includes it;
    ``value_difference``: how much worse that is than the chosen portfolio (>= 0 up to
    round-off; the rise in regret for minimax regret); ``value_difference_bound``: a
    lower bound on that difference when it was not computed; ``displaces`` and ``adds``:
    the chosen initiatives that portfolio leaves out, the others it takes besides this
    one; ``miss_rank``: 1 for the closest miss.
    """

    kind: str
    value_with_it: float | None = None
    value_difference: float | None = None
    value_difference_bound: float | None = None
    displaces: tuple[str, ...] = ()
    adds: tuple[str, ...] = ()
    cost_with_it: float | None = None
    miss_rank: int | None = None
    own_value: float | None = None  # negative or zero return: its own term in the objective
    threshold: float | None = None  # min_confidence, or the floor it misses
    tie_broken_by: str | None = None  # tied: "cost" or "ids", the tie rule's deciding step
    rank: int | None = None  # passed over: its place in the greedy's ranking (1 = first)
    score: float | None = None  # passed over: confidence x R_med
    budget_left: float | None = None  # passed over: what the greedy had left at its turn


@dataclass(frozen=True)
class LeftOutReport:
    """Every candidate a rule left out, and what its reasons are measured in.

    ``objective``: the rule's objective in words; ``own_value``: what an initiative's own
    term in it is called; ``minimised``: True when lower is better (the worst regret);
    ``chosen_value`` and ``chosen_cost``: the chosen portfolio's; ``not_computed``: how
    many were ranked below the ``limit`` solved; ``proven_closest``: how many of the
    closest solved misses are provably closer than every one not computed.
    """

    objective: str
    own_value: str
    minimised: bool
    chosen_value: float | None
    chosen_cost: float
    left_out: dict[str, LeftOut]
    eligible: int
    limit: int = SOLVED_LIMIT
    not_computed: int = 0
    proven_closest: int = 0


@dataclass(frozen=True)
class RuleObjective:
    """A MILP rule's objective in the solver's one shape, and its name in words.

    ``theta(x) = max_j (offsets_j - sum_i x_i values_ji)``: a maximised sum is one row
    with offset 0, worth ``-theta``; minimax regret has one row per scenario with
    ``offsets_j = V*_j``, and ``theta`` is its worst regret (``minimised``).
    """

    name: str
    own_value: str
    values: np.ndarray
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1))
    minimised: bool = False


class ExplainsLeftOut(ABC):
    """An ALLOCATE rule that says why it left out each initiative it did not select."""

    @abstractmethod
    def left_out(
        self, event: dict[str, Any], result: AllocateResult, limit: int | None = None
    ) -> LeftOutReport:
        """The reasons for ``result``, the rule's answer to ``event`` (the ALLOCATE event).

        ``limit``: how many candidates at most to solve again (the rule's own default
        when None).
        """


class ExactRule(ExplainsLeftOut):
    """A rule solved to proven optimality: each left-out candidate is solved again, held in."""

    # Solved again: this many over n, from 1 to SOLVED_LIMIT. A knapsack's solve takes about
    # 0.04 s at n = 1,000 and 0.12 s at 10,000 (benchmarks/allocation.py --reasons).
    solved_work = 200_000

    @abstractmethod
    def objective(self, request: AllocationRequest, result: AllocateResult) -> RuleObjective:
        """The objective the rule optimised for ``request`` (``result`` holds its ``V*_j``)."""

    def solved_limit(self, eligible: int) -> int:
        """How many left-out candidates to solve again, out of ``eligible`` candidates."""
        return max(1, min(SOLVED_LIMIT, self.solved_work // max(eligible, 1)))

    def left_out(
        self, event: dict[str, Any], result: AllocateResult, limit: int | None = None
    ) -> LeftOutReport:
        request = AllocationRequest.from_event(event)
        objective = self.objective(request, result)
        if limit is None:
            limit = self.solved_limit(len(request.candidates.ids))
        if result.status is not AllocationStatus.OPTIMAL:
            # Nothing was selected for a reason of the whole portfolio (the status).
            return LeftOutReport(
                objective.name,
                objective.own_value,
                objective.minimised,
                chosen_value=None,
                chosen_cost=0.0,
                left_out=below_min_confidence(request.excluded, request.min_confidence),
                eligible=len(request.candidates.ids),
                limit=limit,
            )
        return explain_exact(request, objective, result.selected_initiatives, limit)


def below_min_confidence(excluded: dict[str, str], min_confidence: float) -> dict[str, LeftOut]:
    """The candidates the ``min_confidence`` filter removed (``excluded`` by the filter)."""
    return {i: LeftOut(BELOW_MIN_CONFIDENCE, threshold=min_confidence) for i in excluded}


def explain_exact(
    request: AllocationRequest, objective: RuleObjective, selected: list[str], limit: int
) -> LeftOutReport:
    """Every left-out candidate of an optimal selection, each reason proven (module docstring).

    In order: dearer than the whole budget; never improving any portfolio (its own term
    <= 0 in every scenario, and a worst return <= 0 that removing it from a portfolio
    cannot break the floor with); else ranked by the LP bound and, for the first
    ``limit``, solved again with it held in.
    """
    candidates = request.candidates
    ids = candidates.ids
    problem = Problem.build(
        objective.values,
        objective.offsets,
        candidates.costs,
        request.budget,
        candidates.R_worst,
        request.floor,
    )
    position_of = {initiative_id: index for index, initiative_id in enumerate(ids)}
    chosen = np.zeros(problem.size, dtype=bool)
    chosen[[position_of[i] for i in selected]] = True
    theta = problem.theta(chosen)
    sign = 1.0 if objective.minimised else -1.0  # the objective's value is sign * theta
    left_out = below_min_confidence(request.excluded, request.min_confidence)

    ranked: list[int] = []
    for index in np.flatnonzero(~chosen).tolist():
        own = problem.values[:, index]
        never_helps = bool(np.all(own <= 0)) and (
            request.floor is None or candidates.R_worst[index] <= 0
        )
        if problem.costs[index] > problem.budget:
            left_out[ids[index]] = LeftOut(OVER_BUDGET)
        elif never_helps:
            left_out[ids[index]] = LeftOut(NOT_POSITIVE, own_value=float(own.max()))
        else:
            ranked.append(index)

    missed: list[tuple[float, int, str, LeftOut]] = []
    not_computed: list[tuple[str, LeftOut]] = []
    least_bound = np.inf
    if ranked:
        inclusions = Inclusions(problem)
        bounds = inclusions.theta_bounds()
        ranked.sort(key=lambda index: (bounds[index], index))
        for position, index in enumerate(ranked[:limit]):
            found = inclusions.best_including(index)
            if found is None:
                if request.floor is None:
                    raise SolverError(f"no portfolio within the budget includes {ids[index]}")
                left_out[ids[index]] = LeftOut(MISSES_FLOOR, threshold=request.floor)
                continue
            with_it = np.zeros(problem.size, dtype=bool)
            with_it[list(found.selected)] = True
            loss = found.objective - theta
            cost = problem.cost(with_it)
            tied = loss <= problem.objective_tol
            reason = LeftOut(
                TIED if tied else WORSE,
                value_with_it=sign * found.objective,
                value_difference=loss,
                displaces=tuple(ids[k] for k in np.flatnonzero(chosen & ~with_it)),
                adds=tuple(ids[k] for k in np.flatnonzero(with_it & ~chosen) if k != index),
                cost_with_it=cost,
                tie_broken_by=(
                    ("cost" if cost > problem.cost(chosen) + problem.cost_tol else "ids")
                    if tied
                    else None
                ),
            )
            missed.append((loss, position, ids[index], reason))
        for index in ranked[limit:]:
            bound = max(float(bounds[index]) - theta, 0.0)
            least_bound = min(least_bound, bound)
            not_computed.append((ids[index], LeftOut(NOT_COMPUTED, value_difference_bound=bound)))

    missed.sort(key=lambda entry: entry[:2])
    for rank, (_, _, initiative_id, reason) in enumerate(missed, start=1):
        left_out[initiative_id] = _ranked(reason, rank)
    for rank, (initiative_id, reason) in enumerate(not_computed, start=len(missed) + 1):
        left_out[initiative_id] = _ranked(reason, rank)
    return LeftOutReport(
        objective.name,
        objective.own_value,
        objective.minimised,
        chosen_value=sign * theta,
        chosen_cost=problem.cost(chosen),
        left_out=left_out,
        eligible=len(ids),
        limit=limit,
        not_computed=len(not_computed),
        proven_closest=sum(1 for loss, *_ in missed if loss <= least_bound),
    )


def _ranked(reason: LeftOut, rank: int) -> LeftOut:
    return replace(reason, miss_rank=rank)
