"""Difference-in-differences: two-way fixed effects with inference chosen by the design.

Unit effects are absorbed and period effects partialled out exactly, for balanced
and unbalanced panels (:mod:`impact_assets.components.measure.panel`). The
interval method depends on how many units are treated and how many are not
(:mod:`impact_assets.components.measure.cluster_inference`) and is named in
``diagnostics.inference``; ``few_treated_clusters`` reports the smaller group's
size and fails only if it is small and the inference is not built for that.
``sample_size`` is the number of unit-period observations in the fit (what
regression packages report as N).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from impact_assets.components.measure.cluster_inference import (
    RANDOMIZATION,
    WILD_BOOTSTRAP,
    choose_inference,
    few_clusters_diagnostic,
    fit_panel,
    infer,
    randomization_diagnostics,
    webb_weights,
)
from impact_assets.components.measure.data import (
    binary_values,
    describe_values,
    panel_design_problems,
    unit_membership,
)
from impact_assets.components.measure.inputs import (
    after,
    numeric,
    r_squared,
    require_columns,
    require_count,
    result,
)
from impact_assets.components.measure.panel import TwoWayPanel

PRE_TREND_MIN_P = 0.05


def estimate_difference_in_differences(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment_start: Any,
    treated: str | None = None,
    treated_units: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Two-way fixed-effects DiD; CRVE, wild cluster bootstrap or randomization inference."""
    design = read_panel(
        frame,
        outcome=outcome,
        unit=unit,
        time=time,
        treatment_start=treatment_start,
        treated=treated,
        treated_units=treated_units,
    )
    fit = fit_panel(design.panel, design.outcome, design.treated, design.post.astype(float))
    inference = choose_inference(design.treated_count, design.control_count)
    weights = webb_weights(fit) if inference == WILD_BOOTSTRAP else None
    lower, upper, p_value = infer(fit, inference, weights=weights)
    diagnostics: dict[str, Any] = {
        "r_squared": r_squared(design.outcome, fit.residuals),
        "inference": inference,
        "units": design.panel.n_units,
        "treated_units": design.treated_count,
        "control_units": design.control_count,
        "pre_periods": design.pre_periods,
        "post_periods": design.post_periods,
        "few_treated_clusters": few_clusters_diagnostic(
            design.treated_count, design.control_count, inference
        ),
    }
    if inference == RANDOMIZATION:
        diagnostics.update(
            randomization_diagnostics(design.panel.n_units, design.treated_count, p_value)
        )
    pre_trend = _pre_trend_p_value(design, inference, weights)
    if pre_trend is not None:
        diagnostics["pre_trend"] = {"value": pre_trend, "passed": pre_trend >= PRE_TREND_MIN_P}
    return result(fit.estimate, lower, upper, p_value, design.outcome.size, diagnostics)


class PanelDesign:
    """A DiD panel read from a frame: outcome, codes, treated units, post rows, counts."""

    def __init__(
        self,
        outcome: np.ndarray,
        panel: TwoWayPanel,
        treated: np.ndarray,
        post: np.ndarray,
        period_is_post: np.ndarray,
    ) -> None:
        self.outcome = outcome
        self.panel = panel
        self.treated = treated  # per unit, 0/1 floats
        self.post = post  # per row
        self.period_is_post = period_is_post  # per period
        self.treated_count = int(treated.sum())
        self.control_count = panel.n_units - self.treated_count
        self.post_periods = int(period_is_post.sum())
        self.pre_periods = panel.n_periods - self.post_periods


def read_panel(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment_start: Any,
    treated: str | None,
    treated_units: Sequence[Any] | None,
) -> PanelDesign:
    """Read and check a DiD (or synthetic control) panel; raise naming what it lacks."""
    if (treated is None) == (treated_units is None):
        raise ValueError(
            "the panel needs exactly one of treated (0/1 column) or treated_units "
            "(list of unit values)"
        )
    require_columns(frame, {"unit": unit, "time": time})
    y = numeric(frame, outcome, "outcome")
    require_count(y.size, "observations (unit-period rows)")
    for role, name in (("unit", unit), ("time", time)):
        if frame[name].isna().any():
            raise ValueError(f"{role}: column {name!r} has missing values")
    if frame.duplicated([unit, time]).any():
        raise ValueError(
            f"time: repeated ({unit}, {time}) pairs; a panel needs one row per unit and period"
        )
    unit_codes, _ = pd.factorize(frame[unit])
    treated_rows = _treated_rows(frame, unit, unit_codes, treated, treated_units)
    treated_unit = (np.bincount(unit_codes, weights=treated_rows) > 0).astype(float)
    post = after(frame[time], treatment_start, "treatment_start")
    period_codes, _ = pd.factorize(frame[time], sort=True)
    period_is_post = np.zeros(int(period_codes.max()) + 1, dtype=bool)
    period_is_post[period_codes[post]] = True
    treated_count = int(treated_unit.sum())
    post_periods = int(period_is_post.sum())
    problems = panel_design_problems(
        treated_count,
        treated_unit.size - treated_count,
        period_is_post.size - post_periods,
        post_periods,
    )
    if problems:
        where = {"treated": "treated" if treated is not None else "treated_units"}
        described = "; ".join(f"{where.get(key, key)}: {message}" for key, message in problems)
        raise ValueError(f"{described} (treatment_start {treatment_start!r})")
    panel = TwoWayPanel(unit_codes, period_codes)
    return PanelDesign(y, panel, treated_unit, post, period_is_post)


def _treated_rows(
    frame: pd.DataFrame,
    unit: str,
    unit_codes: np.ndarray,
    treated: str | None,
    treated_units: Sequence[Any] | None,
) -> np.ndarray:
    if treated is not None:
        require_columns(frame, {"treated": treated})
        values = binary_values(frame[treated])
        if values is None:
            raise ValueError(
                f"treated: column {treated!r} must be 0/1 "
                f"(found values: {describe_values(frame[treated])})"
            )
        per_unit_min = np.full(unit_codes.max() + 1, 2)
        per_unit_max = np.full(unit_codes.max() + 1, -1)
        np.minimum.at(per_unit_min, unit_codes, values)
        np.maximum.at(per_unit_max, unit_codes, values)
        varying = int((per_unit_min != per_unit_max).sum())
        if varying:
            raise ValueError(
                f"treated: column {treated!r} must be constant within each unit "
                f"(it varies for {varying} units)"
            )
        return values.astype(float)
    mask, missing = unit_membership(frame[unit], list(treated_units or []))
    if missing:
        shown = ", ".join(repr(u) for u in missing[:6])
        raise ValueError(f"treated_units: not in column {unit!r}: {shown}")
    return mask.astype(float)


def _pre_trend_p_value(
    design: PanelDesign, inference: str, weights: np.ndarray | None
) -> float | None:
    """p-value of a treated-specific linear trend in the pre-periods, same FE and inference.

    None when the pre-period panel cannot carry the test (e.g. no treated unit
    observed in two pre-periods, or too few assignments for randomization inference).
    """
    pre = ~design.post
    units, _ = pd.factorize(design.panel.units[pre])
    periods, _ = pd.factorize(design.panel.periods[pre], sort=True)
    treated = design.treated[design.panel.units[pre]]
    treated_unit = np.bincount(units, weights=treated) > 0
    try:
        panel = TwoWayPanel(units, periods)
        fit = fit_panel(
            panel, design.outcome[pre], treated_unit.astype(float), periods.astype(float)
        )
        if weights is not None and panel.n_units != weights.shape[0]:
            weights = None  # a unit without pre-periods: draw for the units present
        return infer(fit, inference, interval=False, weights=weights)[2]
    except ValueError:
        return None
