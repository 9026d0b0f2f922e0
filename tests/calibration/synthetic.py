"""Synthetic pilots and histories with known truth, for the calibration tests.

Every draw follows the model the calibration assumes, so its answers can be checked
against the truth: effects ``theta ~ N(mu, tau^2)``, or exactly 0 with probability
``null_share`` (spike and slab), pilots ``y ~ N(theta, s^2)``, effects at scale
``phi = b_method * theta``, scale estimates ``z ~ N(phi, t^2)``; the initiatives scaled
are chosen on their pilots (the best half), as the loop does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from impact_assets.calibration.pilots import PilotEvidence
from impact_assets.contracts import CalibrationHistory, CalibrationRecord, ModelType

METHOD_TYPES = {
    "experiment": ModelType.EXPERIMENT,
    "difference_in_differences": ModelType.QUASI_EXPERIMENT,
    "interrupted_time_series": ModelType.TIME_SERIES,
    "observational": ModelType.OBSERVATIONAL,
    "synthetic_control": ModelType.QUASI_EXPERIMENT,
}


def draw_pilots(
    rng: np.random.Generator, n: int, mu: float, tau: float, se_range: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(true effects, estimates, standard errors)`` of ``n`` pilots."""
    theta = rng.normal(mu, tau, n)
    ses = rng.uniform(*se_range, n)
    return theta, theta + ses * rng.normal(size=n), ses


def draw_spike_and_slab(
    rng: np.random.Generator,
    n: int,
    null_share: float,
    mu: float,
    tau: float,
    se_range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`draw_pilots`, with a share ``null_share`` of effects exactly 0."""
    theta = np.where(rng.uniform(size=n) < null_share, 0.0, rng.normal(mu, tau, n))
    ses = rng.uniform(*se_range, n)
    return theta, theta + ses * rng.normal(size=n), ses


def synthetic_history(
    rng: np.random.Generator,
    ratios: Mapping[str, float],
    loops: int,
    per_loop: int,
    *,
    mu: float = 0.2,
    tau: float = 0.15,
    se_range: tuple[float, float] = (0.05, 0.2),
    scale_se: float = 0.02,
    extra_sd: float = 0.0,
    value_per_unit: float = 1.0,
    null_share: float = 0.0,
) -> CalibrationHistory:
    """``loops`` loops of ``per_loop`` initiatives per method; the better half of each loop
    (by pilot estimate) is scaled."""
    records = []
    for loop in range(loops):
        loop_id = f"2026{loop + 1:04d}T000000Z-synth000"
        rows = []
        for method, ratio in sorted(ratios.items()):
            if null_share:
                theta, y, s = draw_spike_and_slab(rng, per_loop, null_share, mu, tau, se_range)
            else:  # the same draws as before nulls were simulated
                theta, y, s = draw_pilots(rng, per_loop, mu, tau, se_range)
            phi = ratio * theta + extra_sd * rng.normal(size=per_loop)
            z = phi + scale_se * rng.normal(size=per_loop)
            rows += [(method, *values) for values in zip(theta, y, s, phi, z, strict=True)]
        chosen = set(np.argsort([-row[2] for row in rows])[: len(rows) // 2].tolist())
        for index, (method, theta, y, s, phi, z) in enumerate(rows):
            scaled = index in chosen
            records.append(
                CalibrationRecord(
                    initiative_id=f"l{loop:03d}-{index:04d}",
                    loop_id=loop_id,
                    method=method,
                    model_type=METHOD_TYPES[method],
                    value_per_unit=value_per_unit,
                    pilot_estimate=float(y),
                    pilot_se=float(s),
                    selected=scaled,
                    scale_estimate=float(z) if scaled else None,
                    scale_se=scale_se if scaled else None,
                    pilot_true_effect=float(theta),
                    scale_true_effect=float(phi),
                )
            )
    return CalibrationHistory(records=records, loop_id=records[-1].loop_id)


def evidence(estimates, ses, method: str = "experiment", prefix: str = "now") -> list:
    """Current pilots as the calibration sees them (currency = outcome units here)."""
    return [
        PilotEvidence(f"{prefix}-{index:04d}", method, float(y), float(s))
        for index, (y, s) in enumerate(zip(estimates, ses, strict=True))
    ]
