"""Seeded data-generating processes, one per method, with a known true effect.

Every sample is drawn from a numpy ``Generator`` seeded by
:func:`~impact_assets.seeding.stable_seed` of the root seed, the initiative id,
the stage and the sample size, so the same config gives the same data in every
process, and the pilot and scale samples are independent draws.

The designs (``noise_sd`` is always the standard deviation of the outcome noise):

- experiment: ``sample_size`` units, complete randomisation of half of them
  (``floor(n/2)`` treated), two covariates (``x1`` normal, ``x2`` 0/1);
  ``outcome = 1 + 0.5*x1 + 0.3*x2 + effect*treatment + e``, ``e ~ N(0, noise_sd^2)``.
- difference_in_differences: ``sample_size`` units observed in 8 periods
  (0..7), treatment from period 4 (``treatment_start``) for
  ``max(20, round(n/2))`` treated units; unit and period fixed effects;
  ``outcome = unit_fe + period_fe + effect*treated*post + u``, with ``u``
  AR(1) within each unit (coefficient 0.7, marginal SD ``noise_sd``, stationary
  start): serially correlated errors, so an analysis that ignores the
  clustering by unit gets intervals that are too narrow.
- interrupted_time_series: ``sample_size`` equally spaced time points
  (0..T-1), a level shift of ``effect`` from the midpoint ``T // 2``
  (``intervention_time``) on a linear trend, with AR(1) noise
  ``u_t = 0.5*u_{t-1} + v_t``: the innovation SD is
  ``noise_sd*sqrt(1 - 0.5^2)``, so the *marginal* SD of ``u_t`` is ``noise_sd``;
  ``u_0`` is drawn from the stationary distribution.
- observational: ``sample_size`` units with covariates ``x1``, ``x2`` (normal)
  and ``x3`` (0/1); assignment is confounded: ``P(treatment=1 | x)`` is a
  logistic function of the covariates, ``-0.7 + 0.6*x1 - 0.3*x2 + 0.4*x3``,
  clipped to [0.1, 0.9] (about a third treated, the treated tilted towards
  high ``x1``); the outcome is non-linear in ``x1``:
  ``outcome = 1 + x1 + 0.5*x2 + 0.5*x3 + exp(x1) + effect*treatment + e``,
  so a linear outcome model is wrong and only the propensity model is right:
  the doubly robust estimator must lean on it.
- synthetic_control: 40 units (unit 0 treated, 39 donors) observed for
  ``sample_size`` periods, treatment from ``T // 2``; a factor model
  ``outcome = a_i + d_t + l_t . m_i + effect*treated*post + e`` with a common
  random-walk trend ``d_t``, two AR(1) factors ``l_t`` (coefficient 0.8), unit
  levels ``a_i ~ N(0, 2^2)`` and loadings ``m_i ~ N(0, I)`` drawn alike for every
  unit (the treated one is a draw like the others: placebo inference is exact),
  and iid ``e``.

When ``true_effect`` is omitted it is drawn uniformly in [0.05, 0.5] outcome
units from ``stable_seed(root_seed, initiative_id, "true_effect")``; when
``pilot_sample_size`` is omitted it is drawn uniformly in 50..500 (inclusive)
from ``stable_seed(root_seed, initiative_id, "pilot_sample_size")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from impact_assets.config.models import SimulatedData
from impact_assets.contracts.types import Method, Stage
from impact_assets.seeding import stable_seed

DRAWN_EFFECT_RANGE = (0.05, 0.5)  # outcome units, when true_effect is omitted
DRAWN_PILOT_SIZE_RANGE = (50, 500)  # inclusive, when pilot_sample_size is omitted

DID_PERIODS = 8
DID_TREATMENT_START = 4
DID_MIN_TREATED_UNITS = 20
DID_AR_COEFFICIENT = 0.7
ITS_AR_COEFFICIENT = 0.5
SC_DONORS = 39


def true_effect(spec: SimulatedData, *, root_seed: int, initiative_id: str) -> float:
    """The pilot's true effect: ``spec.true_effect``, or drawn in [0.05, 0.5] from the seed."""
    if spec.true_effect is not None:
        return float(spec.true_effect)
    rng = np.random.default_rng(stable_seed(root_seed, initiative_id, "true_effect"))
    return float(rng.uniform(*DRAWN_EFFECT_RANGE))


def effect_at_scale(spec: SimulatedData, *, root_seed: int, initiative_id: str) -> float:
    """The true effect in the scale sample: ``true_effect * scale_effect_ratio``."""
    effect = true_effect(spec, root_seed=root_seed, initiative_id=initiative_id)
    return effect * float(spec.scale_effect_ratio)


def stage_effect(
    spec: SimulatedData, stage: Stage | str, *, root_seed: int, initiative_id: str
) -> float:
    """The true effect built into the sample of ``stage`` (pilot or scale)."""
    if Stage(stage) is Stage.SCALE:
        return effect_at_scale(spec, root_seed=root_seed, initiative_id=initiative_id)
    return true_effect(spec, root_seed=root_seed, initiative_id=initiative_id)


def pilot_sample_size(spec: SimulatedData, root_seed: int, initiative_id: str) -> int:
    """Units (time points for ITS and synthetic control) in the pilot: the spec's value, or
    drawn in 50..500."""
    if spec.pilot_sample_size is not None:
        return int(spec.pilot_sample_size)
    rng = np.random.default_rng(stable_seed(root_seed, initiative_id, "pilot_sample_size"))
    low, high = DRAWN_PILOT_SIZE_RANGE
    return int(rng.integers(low, high + 1))


def sample_seed(root_seed: int, initiative_id: str, stage: Stage | str, sample_size: int) -> int:
    """The seed of one sample's random stream: a new stream per stage and sample size."""
    return stable_seed(root_seed, initiative_id, Stage(stage).value, "sample", int(sample_size))


def sample_id(root_seed: int, initiative_id: str, stage: Stage | str, sample_size: int) -> str:
    """Identifies a simulated sample (``sim:<hex of its stream seed>``)."""
    return f"sim:{sample_seed(root_seed, initiative_id, stage, sample_size):016x}"


def simulate(
    method: Method | str,
    spec: SimulatedData,
    *,
    root_seed: int,
    initiative_id: str,
    stage: Stage | str,
    sample_size: int,
) -> pd.DataFrame:
    """One sample of ``method``'s design with the stage's true effect (columns: see module doc)."""
    method = Method(method)
    if sample_size < 2:
        raise ValueError(f"sample_size: must be >= 2 to simulate, got {sample_size}")
    effect = stage_effect(spec, stage, root_seed=root_seed, initiative_id=initiative_id)
    rng = np.random.default_rng(sample_seed(root_seed, initiative_id, stage, sample_size))
    return _GENERATORS[method](rng, int(sample_size), effect, float(spec.noise_sd))


def observations(method: Method | str, sample_size: int) -> int:
    """The rows a simulated sample of ``sample_size`` holds (what its fit reports as
    ``sample_size``): unit-period observations for the panels, else ``sample_size``."""
    method = Method(method)
    if method is Method.DIFFERENCE_IN_DIFFERENCES:
        return int(sample_size) * DID_PERIODS
    if method is Method.SYNTHETIC_CONTROL:
        return int(sample_size) * (SC_DONORS + 1)
    return int(sample_size)


def simulated_columns(method: Method | str, sample_size: int) -> dict[str, Any]:
    """The estimator's column arguments for a simulated sample of ``method``."""
    return dict(_COLUMNS[Method(method)](int(sample_size)))


def _experiment(rng: np.random.Generator, n: int, effect: float, noise_sd: float) -> pd.DataFrame:
    treatment = np.zeros(n, dtype=np.int64)
    treatment[rng.permutation(n)[: n // 2]] = 1
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, size=n)
    noise = rng.normal(scale=noise_sd, size=n)
    outcome = 1.0 + 0.5 * x1 + 0.3 * x2 + effect * treatment + noise
    return pd.DataFrame({"outcome": outcome, "treatment": treatment, "x1": x1, "x2": x2})


def _did_treated_units(n_units: int) -> int:
    return max(DID_MIN_TREATED_UNITS, round(n_units / 2))


def _difference_in_differences(
    rng: np.random.Generator, n_units: int, effect: float, noise_sd: float
) -> pd.DataFrame:
    n_treated = _did_treated_units(n_units)
    if n_treated >= n_units - 1:
        raise ValueError(
            f"sample_size: a simulated DiD needs more than {DID_MIN_TREATED_UNITS + 1} units "
            f"(at least {DID_MIN_TREATED_UNITS} treated plus two controls), got {n_units}"
        )
    return did_panel(rng, n_units, n_treated, effect, noise_sd)


def did_panel(
    rng: np.random.Generator,
    n_units: int,
    n_treated: int,
    effect: float,
    noise_sd: float,
    *,
    periods: int = DID_PERIODS,
    treatment_start: int = DID_TREATMENT_START,
    ar_coefficient: float = DID_AR_COEFFICIENT,
) -> pd.DataFrame:
    """A unit-by-period panel with unit and period effects and AR(1) errors within units.

    ``n_treated`` units drawn at random are treated from period ``treatment_start``.
    """
    treated = np.zeros(n_units, dtype=np.int64)
    treated[rng.permutation(n_units)[:n_treated]] = 1
    unit_fe = rng.normal(size=n_units)
    period_fe = rng.normal(scale=0.5, size=periods) + 0.1 * np.arange(periods)
    noise = ar1_noise(rng, (n_units, periods), ar_coefficient, noise_sd).ravel()
    unit = np.repeat(np.arange(n_units), periods)
    period = np.tile(np.arange(periods), n_units)
    treated_rows = treated[unit]
    post = (period >= treatment_start).astype(np.int64)
    outcome = unit_fe[unit] + period_fe[period] + effect * treated_rows * post + noise
    return pd.DataFrame(
        {"unit": unit, "period": period, "treated": treated_rows, "outcome": outcome}
    )


def ar1_noise(
    rng: np.random.Generator, shape: tuple[int, ...], coefficient: float, marginal_sd: float
) -> np.ndarray:
    """Stationary AR(1) series along the last axis with marginal SD ``marginal_sd``."""
    innovations = rng.normal(scale=marginal_sd * np.sqrt(1.0 - coefficient**2), size=shape)
    noise = np.empty(shape)
    noise[..., 0] = rng.normal(scale=marginal_sd, size=shape[:-1])  # stationary start
    for t in range(1, shape[-1]):
        noise[..., t] = coefficient * noise[..., t - 1] + innovations[..., t]
    return noise


def _interrupted_time_series(
    rng: np.random.Generator, n_points: int, effect: float, noise_sd: float
) -> pd.DataFrame:
    noise = ar1_noise(rng, (n_points,), ITS_AR_COEFFICIENT, noise_sd)
    level = rng.normal(loc=10.0, scale=1.0)
    slope = rng.uniform(-1.0, 1.0) / n_points
    time = np.arange(n_points)
    post = (time >= n_points // 2).astype(np.int64)
    outcome = level + slope * time + effect * post + noise
    return pd.DataFrame({"time": time, "outcome": outcome})


def _observational(
    rng: np.random.Generator, n: int, effect: float, noise_sd: float
) -> pd.DataFrame:
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    x3 = rng.integers(0, 2, size=n)
    logit = -0.7 + 0.6 * x1 - 0.3 * x2 + 0.4 * x3  # about a third treated, more at high x1
    propensity = np.clip(1.0 / (1.0 + np.exp(-logit)), 0.1, 0.9)
    treatment = (rng.uniform(size=n) < propensity).astype(np.int64)
    noise = rng.normal(scale=noise_sd, size=n)
    outcome = 1.0 + x1 + 0.5 * x2 + 0.5 * x3 + np.exp(x1) + effect * treatment + noise
    return pd.DataFrame({"outcome": outcome, "treatment": treatment, "x1": x1, "x2": x2, "x3": x3})


def _synthetic_control(
    rng: np.random.Generator, n_periods: int, effect: float, noise_sd: float
) -> pd.DataFrame:
    units = SC_DONORS + 1
    level = rng.normal(scale=2.0, size=units)
    loadings = rng.normal(size=(units, 2))
    trend = np.cumsum(rng.normal(scale=0.3, size=n_periods))
    factors = ar1_noise(rng, (2, n_periods), 0.8, 1.0)
    post = np.arange(n_periods) >= n_periods // 2
    outcome = level[:, None] + trend[None, :] + loadings @ factors
    outcome += rng.normal(scale=noise_sd, size=outcome.shape)
    outcome[0, post] += effect
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), n_periods),
            "period": np.tile(np.arange(n_periods), units),
            "treated": np.repeat((np.arange(units) == 0).astype(np.int64), n_periods),
            "outcome": outcome.ravel(),
        }
    )


_GENERATORS: dict[Method, Callable[[np.random.Generator, int, float, float], pd.DataFrame]] = {
    Method.EXPERIMENT: _experiment,
    Method.DIFFERENCE_IN_DIFFERENCES: _difference_in_differences,
    Method.INTERRUPTED_TIME_SERIES: _interrupted_time_series,
    Method.OBSERVATIONAL: _observational,
    Method.SYNTHETIC_CONTROL: _synthetic_control,
}

_COLUMNS: dict[Method, Callable[[int], dict[str, Any]]] = {
    Method.EXPERIMENT: lambda n: {
        "outcome": "outcome",
        "treatment": "treatment",
        "covariates": ["x1", "x2"],
    },
    Method.DIFFERENCE_IN_DIFFERENCES: lambda n: {
        "outcome": "outcome",
        "unit": "unit",
        "time": "period",
        "treated": "treated",
        "treated_units": None,
        "treatment_start": DID_TREATMENT_START,
    },
    Method.INTERRUPTED_TIME_SERIES: lambda n: {
        "outcome": "outcome",
        "time": "time",
        "intervention_time": n // 2,
    },
    Method.OBSERVATIONAL: lambda n: {
        "outcome": "outcome",
        "treatment": "treatment",
        "covariates": ["x1", "x2", "x3"],
    },
    Method.SYNTHETIC_CONTROL: lambda n: {
        "outcome": "outcome",
        "unit": "unit",
        "time": "period",
        "treated": "treated",
        "treated_units": None,
        "treatment_start": n // 2,
    },
}
