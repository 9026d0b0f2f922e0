"""A large minimax-regret problem: CBC searches split over processes choose what one search does."""

from __future__ import annotations

from helpers import wide_intervals

from impact_assets.components.allocate.bayesian import BayesianAllocate
from impact_assets.components.allocate.minimax_regret import MinimaxRegretAllocate
from impact_assets.components.allocate.solver import split


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
