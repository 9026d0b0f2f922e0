"""Two-way fixed effects on a (possibly unbalanced) unit-by-period panel, without dummies.

The residual maker ``M`` of the unit and period dummies is applied exactly
(Frisch-Waugh-Lovell): demean within units (``W``), then project out the
within-demeaned period dummies ``P~``, whose Gram matrix is
``diag(n_t) - N' diag(1/n_g) N`` (``N`` the unit-by-period count table) with the
first period dropped. For a vector already demeaned within units,
``P~' v`` is its sum per period, and ``P~ z`` is ``W`` of ``z`` looked up by
period, so nothing of size rows x periods is ever built: memory is O(rows +
units x periods), and the fit costs O(rows + periods^3), O(rows) for a balanced panel
(whose period Gram matrix has a closed-form inverse).
"""

from __future__ import annotations

import numpy as np


class TwoWayPanel:
    """Unit and period codes of a panel and the residual maker of their fixed effects."""

    def __init__(self, unit_codes: np.ndarray, period_codes: np.ndarray) -> None:
        self.units = np.asarray(unit_codes, dtype=np.int64)
        self.periods = np.asarray(period_codes, dtype=np.int64)
        self.n_units = int(self.units.max()) + 1
        self.n_periods = int(self.periods.max()) + 1
        self.unit_counts = np.bincount(self.units, minlength=self.n_units).astype(float)
        self.balanced = self.units.size == self.n_units * self.n_periods
        self._period_gram_inv: np.ndarray | None = None
        if not self.balanced:  # a balanced panel's Gram matrix is G (I - 11'/T): invertible
            self._period_gram_inv = self._inverse_period_gram()

    def _inverse_period_gram(self) -> np.ndarray:
        counts = self.cell_sums(np.ones(self.units.size))
        gram = np.diag(counts.sum(axis=0)) - counts.T @ (counts / self.unit_counts[:, None])
        gram = gram[1:, 1:]
        if not gram.size:
            return np.zeros((0, 0))
        scale = np.sqrt(np.diag(gram))
        if not (scale > 0).all():
            raise ValueError(
                "singular design in the DiD panel: a period is observed for a single unit "
                "only, so its effect cannot be told from that unit's"
            )
        eigenvalues = np.linalg.eigvalsh(gram / np.outer(scale, scale))
        if eigenvalues[0] <= 1e-12 * eigenvalues[-1]:
            raise ValueError(
                "singular design in the DiD panel: the units' periods do not overlap enough "
                "to separate unit and period effects"
            )
        return np.linalg.inv(gram)

    @property
    def period_gram_inv(self) -> np.ndarray:
        """``F = (P~'P~)^-1``, the inverse Gram matrix of the within-demeaned period dummies
        (the first period dropped); for a balanced panel ``(I + 11') / units``."""
        if self._period_gram_inv is None:
            size = self.n_periods - 1
            self._period_gram_inv = (np.eye(size) + np.ones((size, size))) / self.n_units
        return self._period_gram_inv

    def solve_period_gram(self, values: np.ndarray) -> np.ndarray:
        """``F @ values`` (periods - 1 rows), in O(periods) for a balanced panel."""
        if self.balanced:
            return (values + values.sum(axis=0)) / self.n_units
        return self.period_gram_inv @ values

    def within(self, values: np.ndarray) -> np.ndarray:
        """Subtract each unit's mean (the within transformation)."""
        means = self.unit_sums(values) / _expand(self.unit_counts, values)
        return values - means[self.units]

    def residualize(self, values: np.ndarray) -> np.ndarray:
        """``values`` less their projection on the unit and period dummies (rows, or rows x k)."""
        within = self.within(values)
        period_sums = _group_sums(self.periods, within, self.n_periods)
        coefficients = np.zeros_like(period_sums)
        coefficients[1:] = self.solve_period_gram(period_sums[1:])
        return within - self.within(coefficients[self.periods])

    def unit_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per unit (units, or units x k)."""
        return _group_sums(self.units, values, self.n_units)

    def cell_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of a row vector per unit and period: a units x periods table."""
        cells = self.units * self.n_periods + self.periods
        sums = np.bincount(cells, weights=values, minlength=self.n_units * self.n_periods)
        return sums.reshape(self.n_units, self.n_periods)


def _group_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    return np.column_stack(
        [np.bincount(codes, weights=values[:, j], minlength=size) for j in range(values.shape[1])]
    )


def _expand(per_unit: np.ndarray, like: np.ndarray) -> np.ndarray:
    return per_unit if like.ndim == 1 else per_unit[:, None]
