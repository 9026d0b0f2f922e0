"""The oracle: the best portfolio the budget could have bought had the true returns been known.

A yardstick for reports, not an allocation rule: the same 0/1 knapsack as the rules
(budget only, no floor), solved exactly, with the same tie rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from impact_assets.components.allocate.solver import best_portfolio


def oracle_value(
    true_values: Mapping[str, float], costs: Mapping[str, float], budget: float
) -> tuple[list[str], float]:
    """The ids (sorted) of the best portfolio under ``budget`` given the true values, and its value.

    ``true_values`` and ``costs`` map the same initiative ids to the true return at
    scale (in currency) and the cost to scale.
    """
    if set(true_values) != set(costs):
        missing = sorted(set(true_values) ^ set(costs))
        raise ValueError(
            f"true_values and costs: need the same initiative ids; differ in {missing}"
        )
    ids = sorted(true_values)
    portfolio = best_portfolio([true_values[i] for i in ids], [costs[i] for i in ids], budget)
    if portfolio is None:  # cannot happen without a floor: the empty portfolio is feasible
        raise RuntimeError("the oracle's knapsack has no feasible portfolio")
    return [ids[i] for i in portfolio.selected], portfolio.objective
