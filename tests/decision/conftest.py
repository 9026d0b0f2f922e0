"""Shared helpers for the decision tests: random portfolios and brute-force optima.

The brute force enumerates all 2^n selections and applies the documented rules
(SPEC §5, docs/decision.md) from scratch: it does not reuse the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from impact_assets.components.allocate.solver import TIE_RTOL

SCENARIOS = ("best", "med", "worst")


def random_candidates(rng: np.random.Generator, n: int, *, integer: bool) -> list[dict]:
    """EvaluateResult dicts; integer-valued ones (exact in floating point) make ties likely."""
    candidates = []
    for index in range(n):
        if integer:
            worst = float(rng.integers(-4, 6))
            med = worst + float(rng.integers(0, 4))
            best = med + float(rng.integers(0, 4))
            confidence = float(rng.choice([0.25, 0.5, 1.0]))
            cost = float(rng.integers(1, 6))
        else:
            med = float(rng.normal(3000, 2500))
            halfwidth = abs(float(rng.normal(0, 2000)))
            worst, best = med - halfwidth, med + halfwidth * float(rng.uniform(0.5, 1.5))
            confidence = float(rng.uniform(0.2, 1.0))
            cost = float(rng.uniform(1000, 20000))
        # every third is a predictive interval (the calibrated EVALUATE): never penalised
        interval_kind = "predictive" if index % 3 == 1 else "pilot_ci"
        candidates.append(
            {
                "initiative_id": f"init-{index:02d}-{rng.integers(100)}",
                "confidence": confidence,
                "cost": cost,
                "R_best": best,
                "R_med": med,
                "R_worst": worst,
                "model_type": "experiment",
                "sample_size": 100,
                "interval_kind": interval_kind,
            }
        )
    return candidates


@dataclass(frozen=True)
class BruteForceOptimum:
    selected: list[str]
    objective: float
    status: str  # optimal | infeasible | no_eligible


class BruteForce:
    """Every subset of the eligible candidates, scored by the documented rules."""

    def __init__(self, candidates: list[dict], budget: float, min_confidence: float, floor):
        eligible = sorted(
            (c for c in candidates if c["confidence"] >= min_confidence),
            key=lambda c: c["initiative_id"],
        )
        self.ids = [c["initiative_id"] for c in eligible]
        n = len(eligible)
        self.masks = np.array(
            [[(k >> i) & 1 for i in range(n)] for k in range(2**n)], dtype=bool
        ).reshape(2**n, n)
        worst = np.array([c["R_worst"] for c in eligible])
        # gamma = 1 - confidence pulls towards R_worst, except for a predictive interval
        trust = [
            1.0 if c.get("interval_kind") == "predictive" else c["confidence"] for c in eligible
        ]
        self.effective = np.array(
            [
                [
                    t * c[f"R_{j}"] + (1 - t) * c["R_worst"]
                    for t, c in zip(trust, eligible, strict=True)
                ]
                for j in SCENARIOS
            ]
        ).reshape(3, n)
        self.raw_med = np.array([c["R_med"] for c in eligible]).reshape(n)
        self.costs = np.array([c["cost"] for c in eligible]).reshape(n)
        spent = self.masks.astype(float) @ self.costs
        self.feasible = spent <= budget
        if floor is not None:
            self.feasible &= self.masks.astype(float) @ worst.reshape(n) >= floor
        self.spent = spent
        self.value_unit = max(float(np.abs(self.effective).max(initial=0.0)), 1e-300)
        self.cost_unit = float(self.costs.max(initial=1.0))

    def scenario_values(self) -> np.ndarray:
        """(subsets, scenarios): each subset's effective value in each scenario."""
        return self.masks.astype(float) @ self.effective.T

    def minimax_regret(self) -> BruteForceOptimum:
        if not self.ids:
            return BruteForceOptimum([], float("nan"), "no_eligible")
        if not self.feasible.any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        values = self.scenario_values()
        v_star = values[self.feasible].max(axis=0)
        theta = (v_star - values).max(axis=1)
        return self._pick(theta)

    def bayesian(self, weights: dict[str, float]) -> BruteForceOptimum:
        if not self.ids:
            return BruteForceOptimum([], float("nan"), "no_eligible")
        if not self.feasible.any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        expected = self.scenario_values() @ np.array([weights[j] for j in SCENARIOS])
        return self._pick(-expected, report=expected)

    def expected_return(self) -> BruteForceOptimum:
        """The largest summed R_med, with no confidence penalty."""
        if not self.ids:
            return BruteForceOptimum([], float("nan"), "no_eligible")
        if not self.feasible.any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        total = self.masks.astype(float) @ self.raw_med
        unit = max(float(np.abs(self.raw_med).max(initial=0.0)), 1e-300)
        return self._pick(-total, report=total, value_unit=unit)

    def _pick(self, score: np.ndarray, report=None, value_unit=None) -> BruteForceOptimum:
        """Least score; ties: lower cost, then the smallest sorted list of ids."""
        feasible = np.flatnonzero(self.feasible)
        best = score[feasible].min()
        unit = self.value_unit if value_unit is None else value_unit
        tied = feasible[score[feasible] <= best + TIE_RTOL * unit]
        cheapest = self.spent[tied].min()
        tied = tied[self.spent[tied] <= cheapest + TIE_RTOL * self.cost_unit]
        selections = [sorted(self.ids[i] for i in np.flatnonzero(self.masks[k])) for k in tied]
        chosen = min(selections)
        k = tied[selections.index(chosen)]
        objective = float(score[k] if report is None else report[k])
        return BruteForceOptimum(chosen, objective, "optimal")


@pytest.fixture
def brute_force() -> type[BruteForce]:
    return BruteForce


@pytest.fixture
def make_candidates():
    return random_candidates
