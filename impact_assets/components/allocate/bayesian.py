"""BayesianAllocate: the portfolio with the highest expected effective return.

Maximise ``sum_i x_i sum_j w_j R_eff_ij`` over binary ``x`` under the budget and, when
set, the worst-return floor; ``w`` are the scenario weights (non-negative, summing to
1; equal thirds unless the config gives ``weights``). A 0/1 knapsack solved to proven
optimality by CBC, with the same tie rule as every MILP rule (lower total cost, then
the earliest ids; see docs/decision.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from impact_assets.components.allocate.left_out import ExactRule, RuleObjective
from impact_assets.components.allocate.scenarios import SCENARIOS, AllocationRequest
from impact_assets.components.allocate.solver import best_portfolio
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import AllocateResult, AllocationStatus

RULE = "bayesian"


class BayesianAllocate(PipelineComponent, ExactRule):
    """Choose the portfolio with the highest scenario-weighted, confidence-penalised return.

    ``objective`` is that expected value; ``scenarios`` holds each scenario's weight
    and the portfolio's value in it. Status ``no_eligible`` when ``min_confidence``
    filters every initiative out, ``infeasible`` when no portfolio within the budget
    meets ``min_portfolio_worst_return``.
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        request = AllocationRequest.from_event(event)
        candidates = request.candidates
        if not candidates.ids:
            return request.result(RULE, AllocationStatus.NO_ELIGIBLE)
        expected = expected_returns(request)
        portfolio = best_portfolio(
            expected,
            candidates.costs,
            request.budget,
            floor_values=candidates.R_worst,
            floor=request.floor,
        )
        if portfolio is None:
            return request.result(RULE, AllocationStatus.INFEASIBLE)
        scenarios = {
            scenario: {
                "weight": request.weights[scenario],
                "portfolio_value": candidates.value(portfolio.selected, scenario),
            }
            for scenario in SCENARIOS
        }
        return request.result(
            RULE,
            AllocationStatus.OPTIMAL,
            portfolio.selected,
            objective=float(expected[list(portfolio.selected)].sum()),
            scenarios=scenarios,
        )

    def objective(self, request: AllocationRequest, result: AllocateResult) -> RuleObjective:
        """The scenario-weighted effective return the rule maximised."""
        return RuleObjective(
            "expected effective return",
            "weighted effective return",
            np.atleast_2d(expected_returns(request)),
        )


def expected_returns(request: AllocationRequest) -> np.ndarray:
    """Each candidate's ``sum_j w_j R_eff_ij``: its term in the rule's objective."""
    weights = np.array([request.weights[j] for j in SCENARIOS])
    return weights @ request.candidates.R_eff
