"""Synthetic control: the treated unit against a convex combination of untreated donors.

For a change rolled out in one or a few units (regions, stores, markets), on a
balanced unit-by-period panel (Abadie, Diamond & Hainmueller 2010):

- the treated series is the treated unit's outcome (the mean over the treated
  units when there are several: they are compared as one aggregate);
- donor weights ``w`` on the simplex (``w >= 0``, ``sum w = 1``) minimise the
  squared pre-period gap ``||y1_pre - Y0_pre w||^2``: non-negative least squares
  with the sum constraint imposed by an augmented row (Lawson-Hanson NNLS);
- the effect is the mean post-period gap ``mean(y1_post - Y0_post w)``.

Inference is placebo-in-space: every donor in turn is fitted as if treated, from
the other donors (the treated unit is left out of the placebos' donor pools, so
no placebo carries the effect), and the treated unit's score is ranked among
the ``J + 1`` scores. If the treated unit was as likely as any other to be the
one treated, its rank is about uniform under no effect.

- p-value (no effect in any post period, ``tau = 0``): the treated unit's ratio of
  post- to pre-period root mean squared prediction error (RMSPE) ranked among the
  placebos', ``(1 + #{placebo ratios >= treated ratio}) / (J + 1)`` (Abadie,
  Diamond & Hainmueller 2015);
- 95% interval for the mean effect: the constant effects ``tau`` not rejected
  (test inversion) when the score is the absolute mean post-period gap over the
  pre-period RMSPE, ``|effect - tau| / RMSPE_pre`` for the treated unit; the
  placebos' scores do not depend on ``tau``, so the set is
  ``effect +- c * RMSPE_pre`` with ``c`` the ``floor(0.05 (J + 1))``-th largest
  placebo score. It always contains the estimate; the RMSPE ratio cannot serve
  here, as no constant ``tau`` may make post gaps that vary over time look
  ordinary, which would leave no interval at all.

It needs at least 19 donors (20 ranks) for a p-value to reach 0.05.

Diagnostics: ``pre_rmspe`` (the treated unit's pre-period RMSPE; passes if at most
twice the median placebo's: a worse fit means the donors cannot reproduce it),
``largest_donor_weights`` and ``inference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from impact_assets.components.measure.data import SC_MIN_DONORS
from impact_assets.components.measure.did import read_panel
from impact_assets.components.measure.inputs import ALPHA, result

INFERENCE = "placebo_in_space_rmspe_ratio"
MIN_DONORS = SC_MIN_DONORS
MAX_PRE_RMSPE_RATIO = 2.0  # against the median placebo's pre-period RMSPE
SHOWN_DONORS = 5


def estimate_synthetic_control(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment_start: Any,
    treated: str | None = None,
    treated_units: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Synthetic control estimate, placebo-in-space p-value and test-inversion interval."""
    design = read_panel(
        frame,
        outcome=outcome,
        unit=unit,
        time=time,
        treatment_start=treatment_start,
        treated=treated,
        treated_units=treated_units,
    )
    panel = design.panel
    if design.outcome.size != panel.n_units * panel.n_periods:
        missing = panel.n_units * panel.n_periods - design.outcome.size
        raise ValueError(
            f"synthetic_control: the panel is unbalanced ({missing} unit-period rows missing); "
            "every unit needs an outcome in every period"
        )
    donors = np.flatnonzero(design.treated == 0)
    if donors.size < MIN_DONORS:
        raise ValueError(
            f"synthetic_control: {donors.size} donor (control) units; placebo inference "
            f"needs at least {MIN_DONORS}, so that a p-value can fall below {ALPHA}"
        )
    outcomes = np.zeros((panel.n_units, panel.n_periods))
    outcomes[panel.units, panel.periods] = design.outcome
    pre = ~design.period_is_post
    treated_series = outcomes[design.treated == 1].mean(axis=0)
    donor_series = outcomes[donors]

    weights = simplex_weights(donor_series[:, pre].T, treated_series[pre])
    gap = treated_series - weights @ donor_series
    effect = float(gap[~pre].mean())
    pre_rmspe = _rmspe(gap[pre])
    if not pre_rmspe > 0:
        raise ValueError(
            "synthetic_control: the donors reproduce the treated unit exactly before treatment "
            "(pre-period RMSPE 0), so its placebo rank is undefined"
        )
    placebos = _placebos(donor_series, pre)
    ranks = donors.size + 1
    treated_ratio = _rmspe(gap[~pre]) / pre_rmspe
    p_value = (1 + int((placebos.ratios >= treated_ratio * (1 - 1e-12)).sum())) / ranks
    # p(tau) = (1 + #{placebo scores >= |effect - tau| / RMSPE_pre}) / ranks > 0.05
    needed = int(np.floor(ALPHA * ranks + 1e-9))
    critical = np.sort(np.abs(placebos.mean_gaps) / placebos.pre_rmspe)[::-1][needed - 1]
    lower, upper = effect - critical * pre_rmspe, effect + critical * pre_rmspe

    unit_values = pd.factorize(frame[unit])[1]
    order = np.argsort(-weights, kind="stable")[:SHOWN_DONORS]
    placebo_median = float(np.median(placebos.pre_rmspe))
    diagnostics = {
        "r_squared": _r_squared_pre(treated_series[pre], gap[pre]),
        "inference": INFERENCE,
        "units": panel.n_units,
        "treated_units": design.treated_count,
        "donors": int(donors.size),
        "pre_periods": design.pre_periods,
        "post_periods": design.post_periods,
        "pre_rmspe": {
            "value": pre_rmspe,
            "passed": pre_rmspe <= MAX_PRE_RMSPE_RATIO * placebo_median,
            "placebo_median": placebo_median,
        },
        "largest_donor_weights": {
            str(_plain(unit_values[donors[j]])): float(weights[j]) for j in order if weights[j] > 0
        },
    }
    return result(effect, lower, upper, p_value, design.outcome.size, diagnostics)


def simplex_weights(donors: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``argmin ||target - donors @ w||^2`` over ``w >= 0, sum(w) = 1`` (donors: periods x J).

    NNLS on the system augmented with the row ``lambda * 1'w = lambda``; with
    ``lambda`` large against the data the sum is 1 to ~1e-10 and the weights are then
    renormalised. With more periods than donors the problem is first reduced to the
    triangular factor of ``donors = QR`` (same minimiser, J x J instead of periods x J).
    """
    if donors.shape[0] > donors.shape[1]:  # long series: the same problem on R of A = QR
        q, r = np.linalg.qr(donors)
        donors, target = r, q.T @ target
    scale = max(float(np.abs(donors).max()), float(np.abs(target).max()), 1.0)
    penalty = 1e4 * scale * np.sqrt(donors.shape[0])
    system = np.vstack([donors, np.full((1, donors.shape[1]), penalty)])
    weights, _ = optimize.nnls(
        system, np.append(target, penalty), maxiter=50 * donors.shape[1] + 100
    )
    total = weights.sum()
    if not total > 0:
        raise ValueError("synthetic_control: the donor weights could not be fitted")
    return weights / total


@dataclass(frozen=True)
class Placebos:
    """Each donor fitted as if treated, from the other donors."""

    pre_rmspe: np.ndarray
    ratios: np.ndarray  # post- over pre-period RMSPE
    mean_gaps: np.ndarray  # mean post-period gap


def _placebos(donor_series: np.ndarray, pre: np.ndarray) -> Placebos:
    count = donor_series.shape[0]
    pre_rmspe, ratios, mean_gaps = np.empty(count), np.empty(count), np.empty(count)
    for j in range(count):
        others = np.delete(donor_series, j, axis=0)
        weights = simplex_weights(others[:, pre].T, donor_series[j, pre])
        gap = donor_series[j] - weights @ others
        pre_rmspe[j] = _rmspe(gap[pre])
        ratios[j] = _rmspe(gap[~pre]) / pre_rmspe[j] if pre_rmspe[j] > 0 else np.inf
        mean_gaps[j] = gap[~pre].mean()
    if not (pre_rmspe > 0).all():
        raise ValueError(
            "synthetic_control: a donor is reproduced exactly by the other donors before "
            "treatment (pre-period RMSPE 0), so its placebo score is undefined; are donors "
            "duplicated?"
        )
    return Placebos(pre_rmspe, ratios, mean_gaps)


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gap * gap)))


def _r_squared_pre(series: np.ndarray, gap: np.ndarray) -> float:
    """Share of the treated series' pre-period variance the synthetic control reproduces."""
    total = float(((series - series.mean()) ** 2).sum())
    return float(1.0 - (gap * gap).sum() / total) if total > 0 else 0.0


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
