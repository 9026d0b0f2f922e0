"""Inference for a two-way fixed-effects coefficient when the clusters (units) may be few.

The method is chosen by the design, from the smaller of the treated and control
groups (``m = min(treated units, control units)``):

- ``m >= 10``: cluster-robust standard errors (CRVE) with the small-sample factor
  ``G/(G-1) * (N-1)/(N-K)`` and a t distribution with G - 1 df
  (``cluster_robust_t(G-1)``);
- ``3 <= m < 10``: the restricted wild cluster bootstrap (WCR) of the CRVE
  t-statistic with Webb's six-point weights (``wild_cluster_bootstrap_webb``);
  the interval is the set of effects the bootstrap test does not reject;
- ``m <= 2``: randomization inference (``randomization_inference``): the estimate
  is ranked among the estimates of every other assignment of the treated group's
  size (placebo treatments of control units); the interval is the set of effects
  whose sharp null is not rejected (test inversion).

The same ``m`` and threshold judge the ``few_treated_clusters`` diagnostic
(:func:`few_clusters_diagnostic`): few clusters fail it only when the inference used
is not one designed for them. Randomization inference also reports how many
assignments it ranked the estimate among (:func:`randomization_diagnostics`): its
p-value cannot fall below one over that number.

The algorithms and their references are in docs/components.md. Everything is
computed from per-unit and per-unit-and-period sums (see
:mod:`impact_assets.components.measure.panel`): a bootstrap draw costs O(units x
periods), and each point tested by the inversion O(draws) or O(assignments).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from impact_assets.components.measure.inputs import ALPHA, invert, t_interval
from impact_assets.components.measure.panel import TwoWayPanel

CLUSTER_ROBUST = "cluster_robust_t(G-1)"
WILD_BOOTSTRAP = "wild_cluster_bootstrap_webb"
RANDOMIZATION = "randomization_inference"

MIN_GROUP_FOR_CLUSTER_ROBUST = 10  # treated and control units, each
# Valid with few clusters in the smaller group: the wild bootstrap and randomization.
FEW_CLUSTER_METHODS = frozenset({WILD_BOOTSTRAP, RANDOMIZATION})
MAX_GROUP_FOR_RANDOMIZATION = 2  # treated (or control) units
BOOTSTRAP_DRAWS = (9999, 4999, 1999)  # the most that fit in BOOTSTRAP_CELLS; (B + 1) * 0.05 whole
BOOTSTRAP_CELLS = 20_000_000  # units x draws held in memory at once
MAX_ASSIGNMENTS = 20_000  # beyond this, randomization inference samples assignments
WEBB_WEIGHTS = np.sqrt(np.array([3.0, 2.0, 1.0, 1.0, 2.0, 3.0]) / 2.0) * np.array(
    [-1, -1, -1, 1, 1, 1]
)
_EXPLICIT_H_UNITS = 400  # up to this many units, H (units x units) is formed


def choose_inference(treated_units: int, control_units: int) -> str:
    """The interval method the design calls for (see the module docstring)."""
    smaller = min(treated_units, control_units)
    if smaller <= MAX_GROUP_FOR_RANDOMIZATION:
        return RANDOMIZATION
    if smaller < MIN_GROUP_FOR_CLUSTER_ROBUST:
        return WILD_BOOTSTRAP
    return CLUSTER_ROBUST


def few_clusters_diagnostic(
    treated_units: int, control_units: int, inference: str
) -> dict[str, Any]:
    """The ``few_treated_clusters`` diagnostic: the smaller group's size, judged with ``inference``.

    ``value`` is ``m = min(treated units, control units)``: cluster-robust inference
    needs many clusters on both sides, so 30 treated units and 3 controls are few.
    Below ``MIN_GROUP_FOR_CLUSTER_ROBUST`` the entry carries a ``note``; it fails only
    when the inference is not one of ``FEW_CLUSTER_METHODS``, which are built for that
    case (a failed diagnostic would otherwise penalise a design already accounted for).
    """
    smaller = min(treated_units, control_units)
    group = "treated" if treated_units <= control_units else "control"
    entry: dict[str, Any] = {
        "value": float(smaller),
        "passed": True,
        "smaller_group": group,
        "minimum": MIN_GROUP_FOR_CLUSTER_ROBUST,
    }
    if smaller < MIN_GROUP_FOR_CLUSTER_ROBUST:
        designed = inference in FEW_CLUSTER_METHODS
        entry["passed"] = designed
        units = f"{smaller} {group} unit" + ("" if smaller == 1 else "s")
        entry["note"] = f"{units}, fewer than {MIN_GROUP_FOR_CLUSTER_ROBUST}: " + (
            f"{inference} is designed for few clusters"
            if designed
            else f"{inference} over-rejects with so few clusters"
        )
    return entry


@dataclass(frozen=True)
class PanelFit:
    """OLS of ``outcome`` on one exposure regressor with unit and period fixed effects."""

    panel: TwoWayPanel
    y: np.ndarray  # the outcome, fixed effects partialled out
    d: np.ndarray  # the exposure, fixed effects partialled out
    pattern: np.ndarray  # the exposure of a treated row (e.g. 1 after the start), per row
    treated: np.ndarray  # per unit: in the treated group
    estimate: float
    d_norm: float  # d'd
    residuals: np.ndarray
    se: float  # CRVE with the small-sample factor
    df: int  # G - 1

    @property
    def cluster_scores(self) -> np.ndarray:
        """Per unit, the estimate's score ``d_g'e_g / d'd``."""
        return self.panel.unit_sums(self.d * self.residuals) / self.d_norm


def fit_panel(
    panel: TwoWayPanel, outcome: np.ndarray, treated: np.ndarray, pattern: np.ndarray
) -> PanelFit:
    """Fit the exposure ``treated[unit] * pattern`` by two-way FE with unit-clustered SEs.

    The small-sample factor counts the regressors left after absorbing the unit
    effects (exposure + period dummies): unit effects are nested in the clusters
    (Cameron & Miller 2015, sec. 3.4; Stata ``xtreg, fe vce(cluster)``).
    """
    exposure = treated[panel.units] * pattern
    y = panel.residualize(outcome)
    d = panel.residualize(exposure)
    d_norm = float(d @ d)
    if not d_norm > 1e-12 * max(1.0, float(exposure @ exposure)):
        raise ValueError(
            "singular design in the DiD panel: the treatment is collinear with the unit and "
            "period effects (does every treated unit have rows before and after the start?)"
        )
    estimate = float(d @ y) / d_norm
    residuals = y - estimate * d
    n, g = outcome.size, panel.n_units
    k = panel.n_periods  # exposure + (periods - 1) period dummies
    if n <= k or g < 2:
        raise ValueError(f"too few observations ({n}) for the {k} regressors of the DiD panel")
    scores = panel.unit_sums(d * residuals) / d_norm
    small_sample = g / (g - 1) * (n - 1) / (n - k)
    se = math.sqrt(small_sample * float(scores @ scores))
    return PanelFit(
        panel=panel,
        y=y,
        d=d,
        pattern=pattern,
        treated=treated.astype(bool),
        estimate=estimate,
        d_norm=d_norm,
        residuals=residuals,
        se=se,
        df=g - 1,
    )


def infer(
    fit: PanelFit, method: str, *, interval: bool = True, weights: np.ndarray | None = None
) -> tuple[float, float, float]:
    """``(ci_lower, ci_upper, p_value)`` of the fit's estimate by ``method``.

    Without ``interval`` only the p-value is computed (the bounds are NaN).
    ``weights`` are the wild bootstrap's draws (default: seeded by the data).
    """
    if not fit.se > 0:
        raise ValueError("difference_in_differences: the clustered SE is zero; no CI is possible")
    if method == CLUSTER_ROBUST:
        return t_interval(fit.estimate, fit.se, fit.df)
    if method == WILD_BOOTSTRAP:
        p_value_at = wild_bootstrap_p_values(fit, weights)
    else:
        p_value_at = randomization_p_values(fit)
    p_value = p_value_at(0.0)
    if not interval:
        return math.nan, math.nan, p_value
    lower, upper = invert(p_value_at, fit.estimate, fit.se, what=method)
    return lower, upper, p_value


# --- the restricted wild cluster bootstrap ------------------------------------------------


def wild_bootstrap_p_values(
    fit: PanelFit, weights: np.ndarray | None = None
) -> Callable[[float], float]:
    """``p(tau)``: the WCR bootstrap p-value of ``H0: effect = tau`` (Webb weights).

    For each ``tau`` the bootstrap imposes the null (restricted residuals
    ``u~ = y~ - tau d``) and compares the |t| of the CRVE t-statistic with its
    bootstrap distribution, ``p = share of draws with |t*| > |t|`` (as Roodman et al.
    2019, "Fast and wild", and the ``wildboottest`` package). The draws are fixed
    across ``tau``, so the interval is one bootstrap's inversion. ``weights``
    (units x draws) replaces the seeded Webb draws (tests compare with a reference).

    With the unit effects nested in the clusters, the bootstrap on the within
    regression equals the one on the full dummy regression; its cluster scores of
    the restricted bootstrap residuals are ``v_g C_g - sum_h H_gh v_h`` with
    ``C_g = d_g'u~_g / d'd`` and ``H_gh = d_g'[P_X]_gh u~_h / d'd``. Both are linear in
    ``tau``, so per draw the numerator is linear and the squared SE quadratic in tau.
    """
    panel, d, y, d_norm = fit.panel, fit.d, fit.y, fit.d_norm
    if weights is None:
        weights = webb_weights(fit)
    dy = panel.unit_sums(d * y)
    dd = panel.unit_sums(d * d)
    # C(tau) = c0 - tau c1 ; H(tau) = H0 - tau H1 with H = (A F B' + dd du' / d'd) / d'd
    c0, c1 = dy / d_norm, dd / d_norm
    a_cells = panel.cell_sums(d)[:, 1:]
    y_cells = panel.cell_sums(y)[:, 1:]
    a_f = panel.solve_period_gram(a_cells.T).T  # A F (F is symmetric)
    z0 = _scores_times(c0, a_f, y_cells, dd, dy, d_norm, weights)
    z1 = _scores_times(c1, a_f, a_cells, dd, dd, d_norm, weights)
    n0, n1 = c0 @ weights, c1 @ weights
    q00 = np.einsum("gb,gb->b", z0, z0)
    q01 = np.einsum("gb,gb->b", z0, z1)
    q11 = np.einsum("gb,gb->b", z1, z1)
    scores = fit.cluster_scores
    actual_variance = float(scores @ scores)  # the small-sample factor cancels in the ratio

    def p_value_at(tau: float) -> float:
        numerator = n0 - tau * n1
        variance = q00 - 2.0 * tau * q01 + tau * tau * q11
        gap = fit.estimate - tau
        return float(np.mean(numerator**2 * actual_variance > gap * gap * variance))

    return p_value_at


def _scores_times(
    c: np.ndarray,
    a_f: np.ndarray,
    cells: np.ndarray,
    dd: np.ndarray,
    du: np.ndarray,
    d_norm: float,
    weights: np.ndarray,
) -> np.ndarray:
    """``(diag(c) - H) V``: the bootstrap cluster scores, one column per draw."""
    if c.size <= _EXPLICIT_H_UNITS:  # one matrix product
        h = (a_f @ cells.T + np.outer(dd, du) / d_norm) / d_norm
        return (np.diag(c) - h) @ weights
    # many units: H is low rank plus rank one; never form units x units
    h_v = (a_f @ (cells.T @ weights) + np.outer(dd, du @ weights) / d_norm) / d_norm
    return c[:, None] * weights - h_v


def webb_weights(fit: PanelFit) -> np.ndarray:
    """Webb's six-point weights, units x draws, seeded by the data."""
    units = fit.panel.n_units
    draws = next((b for b in BOOTSTRAP_DRAWS if units * b <= BOOTSTRAP_CELLS), BOOTSTRAP_DRAWS[-1])
    rng = np.random.default_rng(_data_seed(fit))
    return WEBB_WEIGHTS[rng.integers(0, 6, size=(units, draws))]


# --- randomization inference ----------------------------------------------------------------


def randomization_p_values(fit: PanelFit) -> Callable[[float], float]:
    """``p(tau)``: the share of assignments whose estimate is as extreme as the actual one.

    Under the sharp null ``effect = tau`` the outcomes less ``tau`` times the exposure
    carry no effect, and if the units are exchangeable every assignment of the
    treated group's size is as likely as the actual one. The statistic is the
    absolute TWFE estimate; ``p = #{A : |b_A(tau)| >= |b_actual(tau)|} / #A`` over
    every assignment A (the actual one included), or over ``MAX_ASSIGNMENTS`` drawn
    at random when there are more. When there are fewer control than treated units
    the control group is reassigned instead (the same test: its estimate is minus
    the treated group's).

    Each assignment's estimate is ``sum_{i in A} a_i / sum_{i,j in A} Q_ij`` with
    ``a_i`` and ``Q`` the per-unit exposures' products with the outcome and with
    each other (fixed effects partialled out), so refitting is never needed.
    """
    panel, y = fit.panel, fit.y
    flip = fit.treated.sum() > (~fit.treated).sum()
    assigned = ~fit.treated if flip else fit.treated
    sign = -1.0 if flip else 1.0
    pattern = panel.within(fit.pattern)  # a unit's exposure, within-demeaned, on its rows
    norms = panel.unit_sums(pattern * pattern)
    cells = panel.cell_sums(pattern)[:, 1:]
    cells_f = panel.solve_period_gram(cells.T).T
    a = panel.unit_sums(pattern * y)
    actual = assigned.astype(float)
    q_actual = norms * actual - cells_f @ (cells.T @ actual)  # Q s for the actual assignment
    sets = _assignments(panel.n_units, int(assigned.sum()), np.flatnonzero(assigned), fit)
    numerator_a = a[sets].sum(axis=1)
    numerator_q = q_actual[sets].sum(axis=1)
    denominator = norms[sets].sum(axis=1)
    for p in range(sets.shape[1]):
        for q in range(sets.shape[1]):
            denominator -= np.einsum("ij,ij->i", cells_f[sets[:, p]], cells[sets[:, q]])
    if not (denominator > 1e-12 * norms.max()).all():
        raise ValueError(
            "randomization_inference: a placebo assignment's exposure is collinear with the "
            "fixed effects; is every unit observed before and after the start?"
        )
    slope_a, slope_q = numerator_a / denominator, numerator_q / denominator
    estimate = sign * fit.estimate  # of the reassigned group

    def p_value_at(tau: float) -> float:
        tau_group = sign * tau
        actual_stat = abs(estimate - tau_group)
        placebo_stats = np.abs(slope_a - tau_group * slope_q)
        tolerance = 1e-10 * (abs(estimate) + abs(tau_group) + fit.se)
        return float(np.mean(placebo_stats >= actual_stat - tolerance))

    return p_value_at


def assignment_counts(units: int, size: int) -> tuple[int, int]:
    """``(ranked, possible)``: how many assignments of ``size`` of the ``units`` the p-value
    ranks the estimate among (all of them, or the actual one and ``MAX_ASSIGNMENTS - 1``
    drawn at random), and how many exist."""
    possible = math.comb(units, size)
    return min(possible, MAX_ASSIGNMENTS), possible


def randomization_diagnostics(units: int, treated_units: int, p_value: float) -> dict[str, Any]:
    """Plain values of a randomization test: its assignments and the p-value's floor.

    The actual assignment is always among those ranked, so the p-value is at least
    ``1 / assignments``; ``p_value_note`` says so when the p-value is at that floor.
    """
    ranked, possible = assignment_counts(units, min(treated_units, units - treated_units))
    floor = 1.0 / ranked
    values: dict[str, Any] = {
        "assignments": ranked,
        "possible_assignments": possible,
        "p_value_floor": floor,
    }
    if p_value <= floor * (1 + 1e-9):
        if ranked == possible:
            why = (
                f"none of the other {ranked - 1} assignments gives an estimate as extreme, and "
                "no p-value from these units can be smaller"
            )
        else:
            why = (
                f"none of the {ranked - 1} sampled placebo assignments gives an estimate as "
                "extreme (a larger sample could give a smaller p-value)"
            )
        values["p_value_note"] = f"the p-value is at its floor 1/{ranked}: {why}"
    return values


def _assignments(units: int, size: int, actual: np.ndarray, fit: PanelFit) -> np.ndarray:
    """Every ``size``-subset of the units (the actual first), or a random sample plus it."""
    ranked, total = assignment_counts(units, size)
    if total < 1 / ALPHA:
        raise ValueError(
            f"randomization_inference: {units} units with {size} in the smaller group allow "
            f"only {total} assignments, so no p-value can fall below 1/{total} and no 95% "
            f"interval exists; at least {math.ceil(1 / ALPHA)} are needed (for example 1 "
            "treated unit and 19 controls, or 2 treated and 5 controls)"
        )
    if ranked == total:
        sets = np.array(list(combinations(range(units), size)), dtype=np.int64)
    else:
        rng = np.random.default_rng(_data_seed(fit))
        keys = rng.random((ranked - 1, units))
        sets = np.sort(np.argpartition(keys, size, axis=1)[:, :size], axis=1)
        sets = np.vstack([np.sort(actual)[None, :], sets])
    return sets


def _data_seed(fit: PanelFit) -> int:
    """A seed from the data itself: the same data give the same draws in every process."""
    digest = hashlib.sha256(fit.y.tobytes() + fit.panel.units.tobytes()).digest()
    return int.from_bytes(digest[:8], "big")
