"""The oracle: the best portfolio the budget could buy knowing the true returns."""

from __future__ import annotations

import pytest

from impact_assets.components.allocate.oracle import oracle_value


def test_oracle_on_a_hand_computed_example():
    # Budget 6. Feasible portfolios of value: {a} 10 (cost 5), {b, c} 13 (cost 6),
    # {b} 7, {c} 6, {a, d} 9 (cost 6); d loses money. Best: {b, c} = 13.
    true_values = {"a": 10.0, "b": 7.0, "c": 6.0, "d": -1.0}
    costs = {"a": 5.0, "b": 3.0, "c": 3.0, "d": 1.0}
    assert oracle_value(true_values, costs, 6) == (["b", "c"], 13.0)
    # Budget 8: {a, b} 17 beats {a, c} 16 and {b, c} 13.
    assert oracle_value(true_values, costs, 8) == (["a", "b"], 17.0)
    assert oracle_value(true_values, costs, 0) == ([], 0.0)


def test_oracle_ties_go_to_the_cheaper_then_the_earlier_id():
    assert oracle_value({"x": 5.0, "y": 5.0}, {"x": 2.0, "y": 1.0}, 2) == (["y"], 5.0)
    assert oracle_value({"y": 5.0, "x": 5.0}, {"x": 2.0, "y": 2.0}, 2) == (["x"], 5.0)


def test_oracle_needs_the_same_ids_in_both_mappings():
    with pytest.raises(ValueError, match="same initiative ids"):
        oracle_value({"a": 1.0}, {"b": 1.0}, 10)
