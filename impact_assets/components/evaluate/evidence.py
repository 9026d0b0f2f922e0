"""EvidenceEvaluate: confidence from the evidence itself: design, precision, sample, diagnostics.

The model type sets the range (``CONFIDENCE_RANGES``: experiment 0.85-1.0,
quasi-experiment 0.60-0.84, time-series 0.40-0.59, observational 0.20-0.39); the
position within it is a weighted score in [0, 1] of three parts:

- precision ``P = |estimate| / (|estimate| + halfwidth)``, i.e. ``1 / (1 + halfwidth /
  |estimate|)`` with ``halfwidth = (ci_upper - ci_lower) / 2``; an estimate of exactly
  0 gives ``P = 0`` (no signal to be precise about);
- sample size ``S = clip((ln n - ln 30) / (ln 100000 - ln 30), 0, 1)``: 0 at the
  smallest sample a MeasureResult allows, 1 from 100,000 units (or time points) on;
- diagnostics ``D`` = the share passed among the entries of ``diagnostics`` shaped
  ``{"value": ..., "passed": bool}`` (other entries, such as ``r_squared`` or the
  mock's ``sample_id``, and entries whose ``passed`` is not a bool, are not diagnostics).

With weights ``w_P = 0.5``, ``w_S = 0.3``, ``w_D = 0.2`` (summing to 1):

    position = w_P P + w_S S + w_D D                  when diagnostics are present,
    position = (w_P P + w_S S) / (w_P + w_S)          when there are none,
    confidence = low + position * (high - low).

Absent diagnostics are neutral: the position is then what precision and sample size
say on their own, exactly as if ``D`` equalled their weighted average; it is neither
raised to "all passed" nor lowered to "all failed". No p-value: it restates
precision. The score is deterministic and monotone: a narrower interval (or a larger
|estimate| for the same interval), a larger sample, or a diagnostic that passed
instead of failing never lowers it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import EvaluateResult, MeasureResult, ModelType
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE
from impact_assets.contracts.types import CONFIDENCE_RANGES

PRECISION_WEIGHT = 0.5
SAMPLE_WEIGHT = 0.3
DIAGNOSTICS_WEIGHT = 0.2
# The sample size from which more data adds no confidence.
FULL_SAMPLE_SIZE = 100_000


def precision_score(effect_estimate: float, ci_lower: float, ci_upper: float) -> float:
    """``1 / (1 + CI half-width / |estimate|)`` in [0, 1]; 0 for an estimate of 0."""
    magnitude = abs(effect_estimate)
    if magnitude == 0:
        return 0.0
    halfwidth = max(ci_upper - ci_lower, 0.0) / 2
    # This form (each step monotone) keeps the score monotone in floating point too.
    return 1.0 / (1.0 + halfwidth / magnitude)


def sample_score(sample_size: int) -> float:
    """Log sample size scaled to [0, 1] between the minimum (30) and ``FULL_SAMPLE_SIZE``."""
    span = math.log(FULL_SAMPLE_SIZE) - math.log(MIN_SAMPLE_SIZE)
    score = (math.log(max(sample_size, 1)) - math.log(MIN_SAMPLE_SIZE)) / span
    return min(1.0, max(0.0, score))


def diagnostics_score(diagnostics: Mapping[str, Any] | None) -> float | None:
    """The share of pass/fail diagnostics that passed, or None when there are none."""
    verdicts = [
        bool(entry["passed"])
        for entry in (diagnostics or {}).values()
        if isinstance(entry, Mapping) and isinstance(entry.get("passed"), (bool, np.bool_))
    ]
    if not verdicts:
        return None
    return sum(verdicts) / len(verdicts)


def confidence_score(
    model_type: ModelType | str,
    effect_estimate: float,
    ci_lower: float,
    ci_upper: float,
    sample_size: int,
    diagnostics: Mapping[str, Any] | None = None,
) -> float:
    """Confidence in [0, 1], within the model type's range (formula: module docstring)."""
    low, high = CONFIDENCE_RANGES[ModelType(model_type)]
    precision = precision_score(effect_estimate, ci_lower, ci_upper)
    sample = sample_score(sample_size)
    passed = diagnostics_score(diagnostics)
    if passed is None:
        position = (PRECISION_WEIGHT * precision + SAMPLE_WEIGHT * sample) / (
            PRECISION_WEIGHT + SAMPLE_WEIGHT
        )
    else:
        position = (
            PRECISION_WEIGHT * precision + SAMPLE_WEIGHT * sample + DIAGNOSTICS_WEIGHT * passed
        )
    return min(high, max(low, low + position * (high - low)))


class EvidenceEvaluate(PipelineComponent):
    """Confidence from the model type, the interval's precision, the sample and the diagnostics.

    Returns are the pilot's CI upper bound, estimate and CI lower bound, each times
    ``value_per_unit`` (``R_best``, ``R_med``, ``R_worst``).
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        measurement = MeasureResult.from_dict(event)  # validates the estimate and its CI
        value_per_unit = event.get("value_per_unit", 1.0)
        if isinstance(value_per_unit, bool) or not isinstance(value_per_unit, (int, float)):
            raise ValueError(f"value_per_unit: must be a number > 0, got {value_per_unit!r}")
        if not (math.isfinite(value_per_unit) and value_per_unit > 0):
            raise ValueError(f"value_per_unit: must be a number > 0, got {value_per_unit!r}")
        return EvaluateResult(
            initiative_id=measurement.initiative_id,
            confidence=confidence_score(
                measurement.model_type,
                measurement.effect_estimate,
                measurement.ci_lower,
                measurement.ci_upper,
                measurement.sample_size,
                measurement.diagnostics,
            ),
            cost=event["cost_to_scale"],
            R_best=measurement.ci_upper * value_per_unit,
            R_med=measurement.effect_estimate * value_per_unit,
            R_worst=measurement.ci_lower * value_per_unit,
            model_type=measurement.model_type,
            sample_size=measurement.sample_size,
            loop_id=event.get("loop_id"),
        ).to_dict()
