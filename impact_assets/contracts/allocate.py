"""AllocateResult: the portfolio decision under the budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from impact_assets.contracts._validation import close_enough, require_finite


class AllocationStatus(Enum):
    """How the allocation problem ended."""

    OPTIMAL = "optimal"  # solved to proven optimality
    HEURISTIC = "heuristic"  # a feasible selection with no optimality claim (the greedy mock)
    INFEASIBLE = "infeasible"  # the constraints (e.g. a worst-return floor) cannot be met
    NO_ELIGIBLE = "no_eligible"  # no candidate survived the filters


@dataclass(frozen=True)
class AllocateResult:
    """Which initiatives to scale, what each is predicted to return, and what it costs.

    ``scenarios`` holds the per-scenario detail of rules that have one
    (``{"best": {"v_star": ..., "regret": ...}, ...}``); ``excluded`` maps an
    initiative id to the reason it was not a candidate.
    """

    selected_initiatives: list[str]
    predicted_returns: dict[str, float]
    budget_allocated: dict[str, float]
    budget: float
    rule: str
    status: AllocationStatus
    objective: float | None = None
    scenarios: dict[str, dict[str, float]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    loop_id: str | None = None
    # Every initiative of the decision with its numbers and why it was or was not selected
    # (impact_assets/loop/decision.py): initiative_id, cost, R_worst, R_med, R_best,
    # confidence, selected, kind, reason.
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = "AllocateResult"
        budget = require_finite(owner, "budget", self.budget)
        if budget < 0:
            raise ValueError(f"{owner}.budget: must be >= 0, got {budget}")
        object.__setattr__(self, "budget", budget)
        if not isinstance(self.status, AllocationStatus):
            try:
                object.__setattr__(self, "status", AllocationStatus(self.status))
            except ValueError:
                allowed = ", ".join(s.value for s in AllocationStatus)
                raise ValueError(
                    f"{owner}.status: must be one of {allowed}; got {self.status!r}"
                ) from None
        if len(set(self.selected_initiatives)) != len(self.selected_initiatives):
            raise ValueError(f"{owner}.selected_initiatives: ids must be unique")
        for initiative_id in self.selected_initiatives:
            if initiative_id not in self.predicted_returns:
                raise ValueError(f"{owner}.predicted_returns: missing selected id {initiative_id}")
            if initiative_id not in self.budget_allocated:
                raise ValueError(f"{owner}.budget_allocated: missing selected id {initiative_id}")
            if initiative_id in self.excluded:
                raise ValueError(f"{owner}.excluded: selected id {initiative_id} is also excluded")
        for name in ("predicted_returns", "budget_allocated"):
            extra = set(getattr(self, name)) - set(self.selected_initiatives)
            if extra:
                raise ValueError(f"{owner}.{name}: ids not selected: {sorted(extra)}")
        spent = sum(self.budget_allocated.values())
        if spent > budget and not close_enough(spent, budget):
            raise ValueError(f"{owner}.budget_allocated: sum {spent} exceeds the budget {budget}")
        if self.objective is not None:
            object.__setattr__(
                self, "objective", require_finite(owner, "objective", self.objective)
            )

    @property
    def total_allocated(self) -> float:
        return float(sum(self.budget_allocated.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "selected_initiatives": list(self.selected_initiatives),
            "predicted_returns": dict(self.predicted_returns),
            "budget_allocated": dict(self.budget_allocated),
            "budget": self.budget,
            "rule": self.rule,
            "status": self.status.value,
            "objective": self.objective,
            "scenarios": {name: dict(detail) for name, detail in self.scenarios.items()},
            "excluded": dict(self.excluded),
            "loop_id": self.loop_id,
            "candidates": [dict(candidate) for candidate in self.candidates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AllocateResult:
        return cls(
            selected_initiatives=list(data["selected_initiatives"]),
            predicted_returns=dict(data["predicted_returns"]),
            budget_allocated=dict(data["budget_allocated"]),
            budget=data["budget"],
            rule=data["rule"],
            status=data["status"],
            objective=data.get("objective"),
            scenarios={k: dict(v) for k, v in (data.get("scenarios") or {}).items()},
            excluded=dict(data.get("excluded") or {}),
            loop_id=data.get("loop_id"),
            candidates=[dict(candidate) for candidate in data.get("candidates") or []],
        )
