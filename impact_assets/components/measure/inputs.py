"""What every estimator shares: reading its columns, refusing degenerate input, shaping a result.

An estimator returns a dict shaped like a MeasureResult: ``estimate``,
``ci_lower``, ``ci_upper`` (95%), ``p_value``, ``sample_size`` and
``diagnostics``. Degenerate input raises ValueError naming the problem; nothing
is silently dropped or imputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import stats

from impact_assets.components.measure.data import at_or_after, binary_values, describe_values
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE

ALPHA = 0.05  # 95% intervals
_INVERSION_STEPS = 60  # doublings of the search interval, then bisections


def result(
    estimate: float,
    lower: float,
    upper: float,
    p_value: float | None,
    sample_size: int,
    diagnostics: dict[str, Any],
) -> dict[str, Any]:
    """The estimator's answer; refuses non-finite numbers rather than passing them on."""
    values = {"estimate": estimate, "ci_lower": lower, "ci_upper": upper}
    for name, value in values.items():
        if not np.isfinite(value):
            raise ValueError(f"{name}: the fit produced a non-finite value ({value})")
    return {
        "estimate": float(estimate),
        "ci_lower": float(lower),
        "ci_upper": float(upper),
        "p_value": None if p_value is None else float(p_value),
        "sample_size": int(sample_size),
        "diagnostics": diagnostics,
    }


def require_count(count: int, what: str) -> int:
    """``count`` if it reaches the contract's minimum sample size, else a ValueError."""
    if count < MIN_SAMPLE_SIZE:
        raise ValueError(f"too few {what}: {count}; the estimator needs at least {MIN_SAMPLE_SIZE}")
    return count


def require_columns(frame: pd.DataFrame, names: dict[str, str]) -> None:
    """Raise unless every named column (by its role) is in the frame."""
    for role, name in names.items():
        if name not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise ValueError(f"{role}: column {name!r} not in the data (columns: {columns})")


def numeric(frame: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """The column as finite floats."""
    require_columns(frame, {role: name})
    column = frame[name]
    if not (ptypes.is_numeric_dtype(column) or ptypes.is_bool_dtype(column)):
        raise ValueError(f"{role}: column {name!r} must be numeric, got {column.dtype}")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ValueError(f"{role}: column {name!r} has {bad} missing or infinite values")
    return values


def binary(frame: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """The 0/1 column as floats, holding both values."""
    require_columns(frame, {role: name})
    values = binary_values(frame[name])
    if values is None:
        raise ValueError(
            f"{role}: column {name!r} must be 0/1 (found values: {describe_values(frame[name])})"
        )
    if values.min() == values.max():
        which = "treated" if values[0] == 1 else "control"
        raise ValueError(
            f"{role}: column {name!r} holds only {which} units; the effect needs both treated "
            "and control units"
        )
    return values.astype(float)


def after(series: pd.Series, threshold: Any, role: str) -> np.ndarray:
    """Rows at or after ``threshold`` (see :func:`data.at_or_after`), errors naming ``role``."""
    try:
        return at_or_after(series, threshold)
    except ValueError as error:
        raise ValueError(f"{role}: {error}") from None


def require_full_rank(design: np.ndarray, names: Sequence[str], what: str) -> None:
    """Raise unless the columns are linearly independent (condition number < 1e6 when scaled)."""
    norms = np.sqrt((design**2).sum(axis=0))
    empty = [str(name) for name, norm in zip(names, norms, strict=True) if not norm > 0]
    if empty:
        raise ValueError(
            f"singular design in {what}: column(s) {', '.join(empty)} carry no variation"
        )
    scaled = design / norms
    eigenvalues = np.linalg.eigvalsh(scaled.T @ scaled)  # squared singular values, ascending
    if eigenvalues[0] <= eigenvalues[-1] * 1e-12:
        raise ValueError(
            f"singular design in {what}: the columns ({', '.join(map(str, names))}) are "
            "collinear; drop a redundant column"
        )


def require_residual_df(n: int, k: int) -> None:
    if n <= k:
        raise ValueError(f"too few observations ({n}) for {k} parameters")


def r_squared(y: np.ndarray, residuals: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        raise ValueError("outcome: the outcome is constant; there is no effect to estimate")
    return float(1.0 - (residuals**2).sum() / total)


def t_interval(estimate: float, se: float, df: float) -> tuple[float, float, float]:
    """95% interval and two-sided p-value of ``estimate`` with standard error ``se``, t(df)."""
    critical = stats.t.ppf(1 - ALPHA / 2, df)
    p_value = 2 * stats.t.sf(abs(estimate / se), df)
    return estimate - critical * se, estimate + critical * se, float(p_value)


def invert(
    p_value_at: Callable[[float], float], estimate: float, scale: float, *, what: str
) -> tuple[float, float]:
    """The 95% interval ``{tau : p(tau) > 0.05}`` around ``estimate``, by search and bisection.

    From the estimate (where p = 1) the search doubles a step of ``scale`` until the
    test rejects, then bisects to ``1e-7 * scale``. An unbounded set is an error.
    """
    bounds = []
    for direction in (-1.0, 1.0):
        inside, step = estimate, scale
        for _ in range(_INVERSION_STEPS):
            outside = estimate + direction * step
            if p_value_at(outside) <= ALPHA:
                break
            inside, step = outside, 2.0 * step
        else:
            raise ValueError(
                f"{what}: the 95% interval is unbounded (no effect is rejected); the design "
                "has too little information about the effect"
            )
        while abs(outside - inside) > 1e-7 * scale:
            middle = 0.5 * (inside + outside)
            if p_value_at(middle) <= ALPHA:
                outside = middle
            else:
                inside = middle
        bounds.append(0.5 * (inside + outside))
    return bounds[0], bounds[1]
