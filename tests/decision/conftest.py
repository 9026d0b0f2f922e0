"""Shared helpers for the decision tests: random portfolios and brute-force optima.

The brute force enumerates all 2^n selections and applies the documented rules
(SPEC §5, docs/decision.md) from scratch: it does not reuse the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from helpers import random_candidates

from impact_assets.components.allocate.solver import TIE_RTOL, split

SCENARIOS = ("best", "med", "worst")


def random_settings(rng: np.random.Generator, candidates: list[dict]) -> dict:
    """A budget, and for some draws a confidence filter and a worst-return floor."""
    total_cost = sum(c["cost"] for c in candidates)
    budget = float(rng.uniform(0.1, 0.7)) * total_cost
    min_confidence = float(rng.choice([0.0, 0.0, 0.4, 0.6]))
    floor = None
    if rng.random() < 0.5:
        worst_returns = sorted(c["R_worst"] for c in candidates)
        floor = float(rng.uniform(-0.5, 0.5)) * sum(abs(r) for r in worst_returns)
    return {"budget": budget, "min_confidence": min_confidence, "min_portfolio_worst_return": floor}


def random_portfolio(seed: int, most: int = 12) -> tuple[list[dict], dict]:
    """Up to ``most`` candidates and their settings; every third seed integer-valued (ties)."""
    rng = np.random.default_rng(seed)
    candidates = random_candidates(rng, int(rng.integers(1, most + 1)), integer=seed % 3 == 0)
    return candidates, random_settings(rng, candidates)


@dataclass(frozen=True)
class BruteForceOptimum:
    selected: list[str]
    objective: float
    status: str  # optimal | infeasible | no_eligible
    cost: float = float("nan")


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
        return self.optimum("minimax_regret")

    def bayesian(self, weights: dict[str, float]) -> BruteForceOptimum:
        return self.optimum("bayesian", weights)

    def expected_return(self) -> BruteForceOptimum:
        """The largest summed R_med, with no confidence penalty."""
        return self.optimum("expected_return")

    def optimum(self, rule: str, weights: dict[str, float] | None = None) -> BruteForceOptimum:
        """The rule's optimum over every feasible subset."""
        if not self.ids:
            return BruteForceOptimum([], float("nan"), "no_eligible")
        if not self.feasible.any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        return self._pick(*self.scores(rule, weights))

    def including(
        self, rule: str, initiative_id: str, weights: dict[str, float] | None = None
    ) -> BruteForceOptimum:
        """The rule's best portfolio among the feasible subsets that contain ``initiative_id``.

        Minimax regret keeps the ``V*_j`` of every feasible subset: the regret is measured
        against the same best values as the rule's own. Status ``infeasible`` when no
        feasible subset contains it.
        """
        if not self.feasible.any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        among = self.masks[:, self.ids.index(initiative_id)]
        if not (self.feasible & among).any():
            return BruteForceOptimum([], float("nan"), "infeasible")
        return self._pick(*self.scores(rule, weights), among=among)

    def never_better_with(
        self, rule: str, initiative_id: str, weights: dict[str, float] | None = None
    ) -> bool:
        """Whether every feasible subset with it stays feasible, and no worse, without it."""
        index = self.ids.index(initiative_id)
        score, _, unit = self.scores(rule, weights)
        with_it = np.flatnonzero(self.feasible & self.masks[:, index])
        without = with_it - (1 << index)  # the mask's bits are the subset's index
        return bool(
            np.all(self.feasible[without])
            and np.all(score[without] <= score[with_it] + TIE_RTOL * unit)
        )

    def scores(self, rule: str, weights: dict[str, float] | None = None):
        """(score to minimise, the rule's objective, its tie unit) for every subset."""
        if rule == "expected_return":
            total = self.masks.astype(float) @ self.raw_med
            unit = max(float(np.abs(self.raw_med).max(initial=0.0)), 1e-300)
            return -total, total, unit
        values = self.scenario_values()
        if rule == "bayesian":
            weights = weights or {j: 1 / 3 for j in SCENARIOS}
            expected = values @ np.array([weights[j] for j in SCENARIOS])
            return -expected, expected, self.value_unit
        if rule == "minimax_regret":
            v_star = values[self.feasible].max(axis=0)
            theta = (v_star - values).max(axis=1)
            return theta, theta, self.value_unit
        raise ValueError(f"no brute force for the rule {rule!r}")

    def _pick(self, score: np.ndarray, report, value_unit, among=None) -> BruteForceOptimum:
        """Least score; ties: lower cost, then the smallest sorted list of ids."""
        feasible = np.flatnonzero(self.feasible if among is None else self.feasible & among)
        best = score[feasible].min()
        tied = feasible[score[feasible] <= best + TIE_RTOL * value_unit]
        cheapest = self.spent[tied].min()
        tied = tied[self.spent[tied] <= cheapest + TIE_RTOL * self.cost_unit]
        selections = [sorted(self.ids[i] for i in np.flatnonzero(self.masks[k])) for k in tied]
        chosen = min(selections)
        k = tied[selections.index(chosen)]
        return BruteForceOptimum(chosen, float(report[k]), "optimal", float(self.spent[k]))


@pytest.fixture
def brute_force() -> type[BruteForce]:
    return BruteForce


@pytest.fixture
def make_portfolio():
    return random_portfolio


@pytest.fixture(params=["one_search", "split_search"])
def cbc_searches(request, monkeypatch):
    """Each CBC search as one process, or split into subproblems solved concurrently (forced
    on for these small models)."""
    if request.param == "split_search":
        monkeypatch.setattr(split, "SPLIT_MIN_SIZE", 2)
        monkeypatch.setattr(split, "SPLIT_PROCESSES", 2)
    else:
        monkeypatch.setattr(split, "SPLIT_PROCESSES", 1)
    return request.param
