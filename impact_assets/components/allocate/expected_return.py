"""ExpectedReturnAllocate: the portfolio with the largest summed predicted return ``R_med``.

Maximise ``sum_i x_i R_med_i`` over binary ``x`` under the budget and, when set, the
worst-return floor: a 0/1 knapsack solved to proven optimality by CBC, with the tie
rule every MILP rule uses (lower total cost, then the earliest ids). No confidence
penalty: with the ``calibrated`` EVALUATE, ``R_med`` is already the expected return at
scale given the evidence (shrunk by the pilot's weight against the prior), so the
expected value of a portfolio is exactly this sum, and pulling it towards ``R_worst``
again would count the same uncertainty twice (docs/decision.md §2). On the
``evidence`` EVALUATE, whose ``R_med`` is the raw pilot estimate, it is the
raw-estimate portfolio.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from impact_assets.components.allocate.left_out import ExactRule, RuleObjective
from impact_assets.components.allocate.scenarios import SCENARIOS, AllocationRequest
from impact_assets.components.allocate.solver import best_portfolio
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import AllocateResult, AllocationStatus

RULE = "expected_return"


class ExpectedReturnAllocate(PipelineComponent, ExactRule):
    """Choose the portfolio whose summed ``R_med`` is largest within the budget.

    ``objective`` is that sum; ``scenarios`` holds the portfolio's summed raw return
    in each scenario (``portfolio_value``). Status ``no_eligible`` when
    ``min_confidence`` filters every initiative out, ``infeasible`` when no portfolio
    within the budget meets ``min_portfolio_worst_return``.
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        request = AllocationRequest.from_event(event)
        candidates = request.candidates
        if not candidates.ids:
            return request.result(RULE, AllocationStatus.NO_ELIGIBLE)
        portfolio = best_portfolio(
            candidates.R_med,
            candidates.costs,
            request.budget,
            floor_values=candidates.R_worst,
            floor=request.floor,
        )
        if portfolio is None:
            return request.result(RULE, AllocationStatus.INFEASIBLE)
        chosen = list(portfolio.selected)
        scenarios = {
            scenario: {"portfolio_value": float(candidates.R_raw[index, chosen].sum())}
            for index, scenario in enumerate(SCENARIOS)
        }
        return request.result(
            RULE,
            AllocationStatus.OPTIMAL,
            portfolio.selected,
            objective=float(candidates.R_med[chosen].sum()),
            scenarios=scenarios,
        )

    def objective(self, request: AllocationRequest, result: AllocateResult) -> RuleObjective:
        """The summed ``R_med`` the rule maximised."""
        return RuleObjective("summed R_med", "R_med", np.atleast_2d(request.candidates.R_med))
