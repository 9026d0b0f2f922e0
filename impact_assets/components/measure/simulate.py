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
  ``outcome = unit_fe + period_fe + effect*treated*post + e``, iid ``e``.
- interrupted_time_series: ``sample_size`` equally spaced time points
  (0..T-1), a level shift of ``effect`` from the midpoint ``T // 2``
  (``intervention_time``) on a linear trend, with AR(1) noise
  ``u_t = 0.5*u_{t-1} + v_t``: the innovation SD is
  ``noise_sd*sqrt(1 - 0.5^2)``, so the *marginal* SD of ``u_t`` is ``noise_sd``;
  ``u_0`` is drawn from the stationary distribution.
- observational: ``sample_size`` units with covariates ``x1``, ``x2`` (normal)
  and ``x3`` (0/1); assignment is confounded: ``P(treatment=1 | x)`` is a
  logistic function of the covariates clipped to [0.1, 0.9];
  ``outcome = 1 + x1 + 0.5*x2 + 0.5*x3 + effect*treatment + e``.

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
ITS_AR_COEFFICIENT = 0.5


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
    """Units (time points for ITS) in the pilot: the spec's value, or drawn in 50..500."""
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
    if n_treated >= n_units:
        raise ValueError(
            f"sample_size: a simulated DiD needs more than {DID_MIN_TREATED_UNITS} units "
            f"(at least {DID_MIN_TREATED_UNITS} treated plus controls), got {n_units}"
        )
    treated = np.zeros(n_units, dtype=np.int64)
    treated[rng.permutation(n_units)[:n_treated]] = 1
    unit_fe = rng.normal(size=n_units)
    period_fe = rng.normal(scale=0.5, size=DID_PERIODS) + 0.1 * np.arange(DID_PERIODS)
    unit = np.repeat(np.arange(n_units), DID_PERIODS)
    period = np.tile(np.arange(DID_PERIODS), n_units)
    treated_rows = treated[unit]
    post = (period >= DID_TREATMENT_START).astype(np.int64)
    noise = rng.normal(scale=noise_sd, size=unit.size)
    outcome = unit_fe[unit] + period_fe[period] + effect * treated_rows * post + noise
    return pd.DataFrame(
        {"unit": unit, "period": period, "treated": treated_rows, "outcome": outcome}
    )


def _interrupted_time_series(
    rng: np.random.Generator, n_points: int, effect: float, noise_sd: float
) -> pd.DataFrame:
    phi = ITS_AR_COEFFICIENT
    innovations = rng.normal(scale=noise_sd * np.sqrt(1.0 - phi**2), size=n_points)
    noise = np.empty(n_points)
    noise[0] = rng.normal(scale=noise_sd)  # stationary start
    for t in range(1, n_points):
        noise[t] = phi * noise[t - 1] + innovations[t]
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
    logit = -0.2 + 0.5 * x1 - 0.3 * x2 + 0.4 * x3
    propensity = np.clip(1.0 / (1.0 + np.exp(-logit)), 0.1, 0.9)
    treatment = (rng.uniform(size=n) < propensity).astype(np.int64)
    noise = rng.normal(scale=noise_sd, size=n)
    outcome = 1.0 + x1 + 0.5 * x2 + 0.5 * x3 + effect * treatment + noise
    return pd.DataFrame({"outcome": outcome, "treatment": treatment, "x1": x1, "x2": x2, "x3": x3})


_GENERATORS: dict[Method, Callable[[np.random.Generator, int, float, float], pd.DataFrame]] = {
    Method.EXPERIMENT: _experiment,
    Method.DIFFERENCE_IN_DIFFERENCES: _difference_in_differences,
    Method.INTERRUPTED_TIME_SERIES: _interrupted_time_series,
    Method.OBSERVATIONAL: _observational,
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
}
