"""What the MILP rules share: the ALLOCATE event read and checked, and confidence-penalised returns.

Effective returns (SPEC §5): with ``gamma = 1 - confidence``,
``R_eff_j = (1 - gamma) * R_j + gamma * R_worst`` for j in best, med, worst: the less
the evidence is trusted, the closer every scenario is pulled to the worst case. An
evaluation whose interval is predictive (``calibrated``) has already counted its
uncertainty in its three returns, so its ``gamma`` is 0: ``R_eff = R``
(docs/decision.md §2, "Calibrated inputs").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from impact_assets.components.allocate.common import split_eligible
from impact_assets.contracts import AllocateResult, AllocationStatus, EvaluateResult

SCENARIOS = ("best", "med", "worst")
EQUAL_WEIGHTS = {"best": 1 / 3, "med": 1 / 3, "worst": 1 / 3}


def penalty(result: EvaluateResult) -> float:
    """``gamma``, the pull towards ``R_worst``: ``1 - confidence``, or 0 for an evaluation
    whose interval is already predictive (its confidence is a probability, not a
    discount, and its spread already prices the uncertainty)."""
    return 0.0 if result.predictive else 1.0 - result.confidence


@dataclass(frozen=True)
class Candidates:
    """The eligible initiatives, sorted by id, as arrays the solver takes."""

    ids: list[str]
    costs: np.ndarray
    R_med: np.ndarray  # the raw pilot estimate times value_per_unit: the predicted return
    R_worst: np.ndarray
    R_eff: np.ndarray  # (scenario, candidate), rows in SCENARIOS order
    R_raw: np.ndarray  # the returns as evaluated, before any penalty; same shape

    @classmethod
    def from_results(cls, results: list[EvaluateResult]) -> Candidates:
        raw = np.array([[getattr(r, f"R_{j}") for r in results] for j in SCENARIOS], dtype=float)
        raw = raw.reshape(len(SCENARIOS), len(results))
        worst = raw[SCENARIOS.index("worst")]
        gamma = np.array([penalty(r) for r in results], dtype=float)
        return cls(
            ids=[r.initiative_id for r in results],
            costs=np.array([r.cost for r in results], dtype=float),
            R_med=raw[SCENARIOS.index("med")],
            R_worst=worst,
            R_eff=(1.0 - gamma) * raw + gamma * worst,
            R_raw=raw,
        )

    def value(self, selected: tuple[int, ...], scenario: str) -> float:
        """The selection's total effective return in one scenario."""
        return float(self.R_eff[SCENARIOS.index(scenario), list(selected)].sum())


@dataclass(frozen=True)
class AllocationRequest:
    """An ALLOCATE event, checked: errors name the field and what would be right."""

    budget: float
    candidates: Candidates
    excluded: dict[str, str]  # below min_confidence, with the reason
    min_confidence: float
    floor: float | None
    weights: dict[str, float]
    loop_id: str | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> AllocationRequest:
        budget = _number("budget", event.get("budget"))
        if budget < 0:
            raise ValueError(f"budget: must be >= 0, got {budget}")
        min_confidence = event.get("min_confidence")
        min_confidence = (
            0.0 if min_confidence is None else _number("min_confidence", min_confidence)
        )
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence: must be within [0, 1], got {min_confidence}")
        floor = event.get("min_portfolio_worst_return")
        floor = None if floor is None else _number("min_portfolio_worst_return", floor)

        initiatives = event.get("initiatives")
        if not isinstance(initiatives, list):
            raise ValueError(
                f"initiatives: must be a list of EvaluateResult dicts, got {initiatives!r}"
            )
        results = [
            r if isinstance(r, EvaluateResult) else EvaluateResult.from_dict(r) for r in initiatives
        ]
        counts = Counter(r.initiative_id for r in results)
        duplicates = sorted(i for i, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"initiatives: initiative ids must be unique; repeated: {duplicates}")
        eligible, excluded = split_eligible([r.to_dict() for r in results], min_confidence)
        by_id = {r.initiative_id: r for r in results}
        return cls(
            budget=budget,
            candidates=Candidates.from_results([by_id[c["initiative_id"]] for c in eligible]),
            excluded=excluded,
            min_confidence=min_confidence,
            floor=floor,
            weights=scenario_weights(event.get("weights")),
            loop_id=event.get("loop_id"),
        )

    def result(
        self,
        rule: str,
        status: AllocationStatus,
        selected: tuple[int, ...] = (),
        objective: float | None = None,
        scenarios: dict[str, dict[str, float]] | None = None,
    ) -> dict[str, Any]:
        """The AllocateResult dict for ``selected`` (candidate indices)."""
        chosen = [self.candidates.ids[i] for i in selected]
        return AllocateResult(
            selected_initiatives=chosen,
            predicted_returns={
                self.candidates.ids[i]: float(self.candidates.R_med[i]) for i in selected
            },
            budget_allocated={
                self.candidates.ids[i]: float(self.candidates.costs[i]) for i in selected
            },
            budget=self.budget,
            rule=rule,
            status=status,
            objective=objective,
            scenarios=scenarios or {},
            excluded=dict(self.excluded),
            loop_id=self.loop_id,
        ).to_dict()


def scenario_weights(weights: Any) -> dict[str, float]:
    """``{best, med, worst}`` weights, non-negative and summing to 1; equal thirds if None."""
    if weights is None:
        return dict(EQUAL_WEIGHTS)
    if not isinstance(weights, Mapping):
        if hasattr(weights, "model_dump"):  # the config's ScenarioWeights
            weights = weights.model_dump()
        else:
            raise ValueError(f"weights: must be a mapping of best, med, worst; got {weights!r}")
    if set(weights) != set(SCENARIOS):
        raise ValueError(f"weights: need exactly the keys best, med, worst; got {sorted(weights)}")
    checked = {j: _number(f"weights.{j}", weights[j]) for j in SCENARIOS}
    negative = [j for j, w in checked.items() if w < 0]
    if negative:
        raise ValueError(f"weights.{negative[0]}: must be >= 0, got {checked[negative[0]]}")
    total = sum(checked.values())
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"weights: must sum to 1, got {total}")
    return checked


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    return float(value)
