"""The portfolio problem checked once: its arrays, the units CBC sees them in, the tolerances.

Every problem is one shape (docs/decision.md, "Solving"): choose binary ``x`` to minimise
``theta(x) = max_j (offsets_j - sum_i x_i values_ji)`` within the budget and the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# Objectives (costs) within this fraction of the largest single value (cost) count as tied:
# well above CBC's tolerances (1e-9 here) on the model it sees, where every unit is 1.
TIE_RTOL = 1e-6
# The reduction keeps a candidate unless its bound exceeds the incumbent by this much more
# (relative to the largest possible objective: round-off in the bound's sums).
FIX_MARGIN_RTOL = 1e-9


class SolverError(RuntimeError):
    """CBC ended without proving optimality (or was not found)."""


class Portfolio(NamedTuple):
    """A selection (candidate indices, ascending) and its objective."""

    selected: tuple[int, ...]
    objective: float


@dataclass(frozen=True)
class Problem:
    """The checked arrays of one problem, their units and tolerances, and its identical pairs."""

    values: np.ndarray  # (scenarios, candidates)
    offsets: np.ndarray  # (scenarios,)
    costs: np.ndarray
    budget: float
    floor_values: np.ndarray | None
    floor: float | None  # already lowered by the tolerance
    value_unit: float  # the largest |value|: CBC sees values in this unit
    cost_unit: float  # the largest cost: CBC sees costs in this unit
    floor_unit: float
    objective_tol: float
    cost_tol: float
    fix_margin: float
    # (earlier, later) candidates identical in every value, cost and floor value: the tie
    # rule always prefers the earlier, so every model may require x_earlier >= x_later.
    duplicates: tuple[tuple[int, int], ...]

    @classmethod
    def build(
        cls,
        values: Sequence[Sequence[float]],
        offsets: Sequence[float],
        costs: Sequence[float],
        budget: float,
        floor_values: Sequence[float] | None,
        floor: float | None,
    ) -> Problem:
        """Check the inputs (a ``ValueError`` names the one that is wrong) and derive the rest."""
        cost_array = np.asarray(costs, dtype=float).reshape(-1)
        n = cost_array.shape[0]
        value_rows = np.array(values, dtype=float, ndmin=2)
        if n == 0:
            value_rows = np.zeros((value_rows.shape[0], 0))
        if value_rows.shape[1] != n:
            raise ValueError(
                f"values: each scenario needs one entry per candidate ({n}), "
                f"got {value_rows.shape[1]}"
            )
        offset_array = np.asarray(offsets, dtype=float).reshape(-1)
        if offset_array.shape != (value_rows.shape[0],):
            raise ValueError(f"offsets: need one per scenario ({value_rows.shape[0]})")
        if not np.all(np.isfinite(cost_array)) or np.any(cost_array <= 0):
            raise ValueError("costs: every cost must be finite and > 0")
        if not (np.all(np.isfinite(value_rows)) and np.all(np.isfinite(offset_array))):
            raise ValueError("values: every value must be finite")
        if not np.isfinite(budget) or budget < 0:
            raise ValueError(f"budget: must be finite and >= 0, got {budget}")
        value_unit = _unit(value_rows)
        floor_array, lowered_floor, floor_unit = None, None, 1.0
        if floor is not None:
            if floor_values is None:
                raise ValueError("floor_values: required when a floor is set")
            floor_array = np.asarray(floor_values, dtype=float).reshape(-1)
            if floor_array.shape != (n,) or not np.all(np.isfinite(floor_array)):
                raise ValueError(f"floor_values: need one finite value per candidate ({n})")
            if not np.isfinite(floor):
                raise ValueError(f"floor: must be finite, got {floor}")
            floor_unit = _unit(floor_array)
            lowered_floor = float(floor) - TIE_RTOL * floor_unit
        largest_sum = float(np.max(np.abs(value_rows).sum(axis=1))) if n else 0.0
        columns = [value_rows, cost_array[None, :]]
        if floor_array is not None:
            columns.append(floor_array[None, :])
        return cls(
            values=value_rows,
            offsets=offset_array,
            costs=cost_array,
            budget=float(budget),
            floor_values=floor_array,
            floor=lowered_floor,
            value_unit=value_unit,
            cost_unit=_unit(cost_array),
            floor_unit=floor_unit,
            objective_tol=TIE_RTOL * value_unit,
            cost_tol=TIE_RTOL * _unit(cost_array),
            fix_margin=FIX_MARGIN_RTOL
            * (value_unit + float(np.max(np.abs(offset_array))) + largest_sum),
            duplicates=_identical_pairs(np.vstack(columns).T),
        )

    @property
    def size(self) -> int:
        return int(self.costs.shape[0])

    def theta(self, selected: np.ndarray) -> float:
        """``max_j (offset_j - value of the selection in scenario j)`` for a boolean mask."""
        return float(np.max(self.offsets - self.values[:, selected].sum(axis=1)))

    def cost(self, selected: np.ndarray) -> float:
        return float(self.costs[selected].sum())

    def feasible(self, selected: np.ndarray) -> bool:
        if self.cost(selected) > self.budget + self.cost_tol:
            return False
        return self.floor is None or float(self.floor_values[selected].sum()) >= self.floor

    def portfolio(self, selected: np.ndarray) -> Portfolio:
        """The answer for a boolean mask: its indices and its ``theta``."""
        return Portfolio(tuple(int(i) for i in np.flatnonzero(selected)), self.theta(selected))


def _identical_pairs(rows: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Consecutive (earlier, later) indices of identical rows."""
    if rows.shape[0] < 2:
        return ()
    _, group = np.unique(rows, axis=0, return_inverse=True)
    order = np.lexsort((np.arange(rows.shape[0]), group.reshape(-1)))
    same = group.reshape(-1)[order[1:]] == group.reshape(-1)[order[:-1]]
    return tuple((int(a), int(b)) for a, b in zip(order[:-1][same], order[1:][same], strict=True))


def _unit(array: np.ndarray) -> float:
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    return largest if largest > 0 else 1.0
