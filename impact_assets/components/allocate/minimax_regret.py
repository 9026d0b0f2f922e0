"""MinimaxRegretAllocate: the portfolio whose worst regret across the three scenarios is least.

For each scenario j in best, med, worst, ``V*_j`` is the best portfolio value the
budget (and the worst-return floor, when set) allows on the effective returns
``R_eff_j`` of the eligible candidates; a portfolio's regret in j is ``V*_j`` minus
its value there. The rule picks binary ``x`` minimising ``theta`` subject to
``theta >= V*_j - sum_i x_i R_eff_ij`` for every j, the budget and the floor: a MILP
solved to proven optimality by CBC (:mod:`impact_assets.components.allocate.solver`;
docs/decision.md explains the reduction that keeps n = 10,000 fast, and the tie rule:
lower total cost, then the earliest ids).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from impact_assets.components.allocate.left_out import ExactRule, RuleObjective
from impact_assets.components.allocate.scenarios import SCENARIOS, AllocationRequest
from impact_assets.components.allocate.solver import best_portfolio, min_max_regret_portfolio
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import AllocateResult, AllocationStatus

RULE = "minimax_regret"


class MinimaxRegretAllocate(PipelineComponent, ExactRule):
    """Choose the portfolio whose largest regret against the best, median and worst case is least.

    Returns are confidence-penalised (``R_eff``) before regrets are computed;
    ``objective`` is that largest regret and ``scenarios`` holds each scenario's
    ``v_star``, ``portfolio_value`` and ``regret``. Status ``no_eligible`` when
    ``min_confidence`` filters every initiative out, ``infeasible`` when no
    portfolio within the budget meets ``min_portfolio_worst_return``.
    """

    # Each left-out candidate solved again is a branch-and-bound of the three-scenario MILP,
    # as long as the rule's own solve: about 0.1 s at n = 1,000 and 1-4 s at 10,000.
    solved_work = 10_000

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        request = AllocationRequest.from_event(event)
        candidates = request.candidates
        if not candidates.ids:
            return request.result(RULE, AllocationStatus.NO_ELIGIBLE)
        floor = {"floor_values": candidates.R_worst, "floor": request.floor}

        v_star: dict[str, float] = {}
        for index, scenario in enumerate(SCENARIOS):
            best = best_portfolio(
                candidates.R_eff[index], candidates.costs, request.budget, break_ties=False, **floor
            )
            if best is None:  # the floor cannot be met within the budget
                return request.result(RULE, AllocationStatus.INFEASIBLE)
            v_star[scenario] = best.objective

        portfolio = min_max_regret_portfolio(
            candidates.R_eff,
            [v_star[j] for j in SCENARIOS],
            candidates.costs,
            request.budget,
            **floor,
        )
        if portfolio is None:
            return request.result(RULE, AllocationStatus.INFEASIBLE)
        scenarios = {}
        for scenario in SCENARIOS:
            value = candidates.value(portfolio.selected, scenario)
            scenarios[scenario] = {
                "v_star": v_star[scenario],
                "portfolio_value": value,
                "regret": v_star[scenario] - value,
            }
        return request.result(
            RULE,
            AllocationStatus.OPTIMAL,
            portfolio.selected,
            objective=max(detail["regret"] for detail in scenarios.values()),
            scenarios=scenarios,
        )

    def objective(self, request: AllocationRequest, result: AllocateResult) -> RuleObjective:
        """The worst regret against the ``V*_j`` of ``result`` that the rule minimised."""
        v_star = [result.scenarios[j]["v_star"] for j in SCENARIOS] if result.scenarios else None
        return RuleObjective(
            "worst regret",
            "largest effective return across the scenarios",
            request.candidates.R_eff,
            np.array(v_star if v_star else [0.0] * len(SCENARIOS), dtype=float),
            minimised=True,
        )
