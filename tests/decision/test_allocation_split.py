"""A large minimax-regret problem: CBC searches split over processes choose what one search does."""

from __future__ import annotations

import numpy as np

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate
from impact_assets.components.allocate.solver import split


def wide_intervals(n: int, seed: int) -> list[dict]:
    """Pilots whose intervals often cross zero: the hard case (``benchmarks/allocation.py``)."""
    rng = np.random.default_rng([seed, n, 2])
    effect = rng.normal(0.15, 0.10, n)
    halfwidth = np.abs(effect) * rng.uniform(0.2, 1.5, n) + 0.01
    value = rng.uniform(10_000, 50_000, n)
    confidence, cost = rng.uniform(0.2, 1.0, n), rng.uniform(5_000, 50_000, n)
    return [
        {
            "initiative_id": f"initiative-{i:05d}",
            "confidence": float(confidence[i]),
            "cost": float(cost[i]),
            "R_best": float((effect[i] + halfwidth[i]) * value[i]),
            "R_med": float(effect[i] * value[i]),
            "R_worst": float((effect[i] - halfwidth[i]) * value[i]),
            "model_type": "experiment",
            "sample_size": 400,
        }
        for i in range(n)
    ]


def test_split_searches_choose_the_same_portfolio_as_one_search(monkeypatch):
    candidates = wide_intervals(3000, seed=2)
    budget = 0.2 * sum(candidate["cost"] for candidate in candidates)
    event = {"initiatives": candidates, "budget": budget, "min_portfolio_worst_return": 0.0}
    splits: list[int] = []
    branches = split.branches

    def counted(model, search):
        found = branches(model, search)
        splits.append(len(found))
        return found

    monkeypatch.setattr(split, "branches", counted)
    results = {}
    for processes in (2, 1):
        monkeypatch.setattr(split, "SPLIT_PROCESSES", processes)
        splits.clear()
        results[processes] = [
            rule().execute(event) for rule in (MinimaxRegretAllocate, BayesianAllocate)
        ]
        # with two processes at least one search is split (into 4); with one, none is
        assert (split.SPLIT_WAYS in splits) == (processes == 2), splits
    assert results[2] == results[1]
    assert all(result["status"] == "optimal" for result in results[2])
