"""MockAllocate: the seed's greedy selection by confidence-weighted return."""

from __future__ import annotations

from typing import Any

from impact_assets.components.allocate.common import split_eligible
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import AllocateResult, AllocationStatus


class MockAllocate(PipelineComponent):
    """Rank by ``confidence * R_med`` and take each initiative that still fits the budget.

    A heuristic: it makes no optimality claim (status ``heuristic``). Ties in the
    score are broken by initiative id.
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        budget = float(event["budget"])
        eligible, excluded = split_eligible(event["initiatives"], event.get("min_confidence", 0.0))
        ranked = sorted(eligible, key=lambda c: c["confidence"] * c["R_med"], reverse=True)

        selected: list[dict[str, Any]] = []
        remaining = budget
        for candidate in ranked:
            if candidate["cost"] <= remaining:
                selected.append(candidate)
                remaining -= candidate["cost"]

        status = AllocationStatus.HEURISTIC if eligible else AllocationStatus.NO_ELIGIBLE
        return AllocateResult(
            selected_initiatives=[c["initiative_id"] for c in selected],
            predicted_returns={c["initiative_id"]: c["R_med"] for c in selected},
            budget_allocated={c["initiative_id"]: c["cost"] for c in selected},
            budget=budget,
            rule="mock",
            status=status,
            objective=sum(c["confidence"] * c["R_med"] for c in selected),
            excluded=excluded,
        ).to_dict()
