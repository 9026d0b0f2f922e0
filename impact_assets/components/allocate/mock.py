"""MockAllocate: the seed's greedy selection by confidence-weighted return."""

from __future__ import annotations

from typing import Any

from impact_assets.components.allocate.common import split_eligible
from impact_assets.components.allocate.left_out import (
    OVER_BUDGET,
    PASSED_OVER,
    ExplainsLeftOut,
    LeftOut,
    LeftOutReport,
    below_min_confidence,
)
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import AllocateResult, AllocationStatus


def score(candidate: dict[str, Any]) -> float:
    """What the greedy ranks by: ``confidence * R_med``."""
    return candidate["confidence"] * candidate["R_med"]


def greedy(eligible: list[dict[str, Any]], budget: float) -> list[tuple[dict[str, Any], float]]:
    """Every eligible candidate in the greedy's order, with the budget left when its turn came.

    A candidate is taken when its cost is within what is left; ties in the score keep
    the id order ``eligible`` comes in (the sort is stable).
    """
    turns = []
    remaining = budget
    for candidate in sorted(eligible, key=score, reverse=True):
        turns.append((candidate, remaining))
        if candidate["cost"] <= remaining:
            remaining -= candidate["cost"]
    return turns


class MockAllocate(PipelineComponent, ExplainsLeftOut):
    """Rank by ``confidence * R_med`` and take each initiative that still fits the budget.

    A heuristic: it makes no optimality claim (status ``heuristic``). Ties in the
    score are broken by initiative id.
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        budget = float(event["budget"])
        eligible, excluded = split_eligible(event["initiatives"], event.get("min_confidence", 0.0))
        selected = [c for c, left in greedy(eligible, budget) if c["cost"] <= left]

        status = AllocationStatus.HEURISTIC if eligible else AllocationStatus.NO_ELIGIBLE
        return AllocateResult(
            selected_initiatives=[c["initiative_id"] for c in selected],
            predicted_returns={c["initiative_id"]: c["R_med"] for c in selected},
            budget_allocated={c["initiative_id"]: c["cost"] for c in selected},
            budget=budget,
            rule="mock",
            status=status,
            objective=sum(score(c) for c in selected),
            excluded=excluded,
        ).to_dict()

    def left_out(
        self, event: dict[str, Any], result: AllocateResult, limit: int | None = None
    ) -> LeftOutReport:
        """Where the greedy's ranking put each one it passed over, and what was left then."""
        budget = float(event["budget"])
        min_confidence = event.get("min_confidence", 0.0)
        eligible, excluded = split_eligible(event["initiatives"], min_confidence)
        left_out = below_min_confidence(excluded, min_confidence)
        passed = 0
        for rank, (candidate, left) in enumerate(greedy(eligible, budget), start=1):
            if candidate["cost"] <= left:
                continue  # taken
            if candidate["cost"] > budget:
                reason = LeftOut(OVER_BUDGET)
            else:
                passed += 1
                reason = LeftOut(
                    PASSED_OVER,
                    rank=rank,
                    score=score(candidate),
                    budget_left=left,
                    miss_rank=passed,
                )
            left_out[candidate["initiative_id"]] = reason
        return LeftOutReport(
            "confidence x R_med of the selection",
            "confidence x R_med",
            minimised=False,
            chosen_value=result.objective,
            chosen_cost=result.total_allocated,
            left_out=left_out,
            eligible=len(eligible),
            limit=0,  # it solves nothing again
        )
