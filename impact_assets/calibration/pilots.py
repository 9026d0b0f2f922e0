"""A pilot as the calibration sees it: an estimate and a standard error in currency, per method."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from impact_assets.calibration.assumptions import FAILED_DIAGNOSTIC_VARIANCE_FACTOR, PILOT_CI_Z
from impact_assets.contracts.calibration import CalibrationRecord
from impact_assets.contracts.measure import MeasureResult


@dataclass(frozen=True)
class PilotEvidence:
    """One pilot in currency at scale: ``estimate`` and ``se`` are outcome units x value per unit.

    ``se`` is already widened for failed diagnostics; ``method`` keys the scale ratio.
    """

    initiative_id: str
    method: str
    estimate: float
    se: float


def standard_error(ci_lower: float, ci_upper: float) -> float:
    """The standard error a 95% interval states: its width over ``2 x 1.96``."""
    return (ci_upper - ci_lower) / (2 * PILOT_CI_Z)


def failed_diagnostics(diagnostics: Mapping[str, Any] | None) -> int:
    """How many ``{"value": ..., "passed": bool}`` diagnostics failed (other entries are not
    diagnostics: ``r_squared``, ``inference``, plain values)."""
    return sum(
        1
        for entry in (diagnostics or {}).values()
        if isinstance(entry, Mapping) and entry.get("passed") is False
    )


def widened_se(se: float, failed: int) -> float:
    """``se`` with its variance multiplied by the factor once per failed diagnostic."""
    return se * math.sqrt(FAILED_DIAGNOSTIC_VARIANCE_FACTOR**failed)


def method_key(method: str | None, model_type: str) -> str:
    """The key a pilot's scale ratio is learnt under: its method, else its model type."""
    return method or model_type


def evidence_from_measure(
    result: MeasureResult, value_per_unit: float, method: str | None
) -> PilotEvidence:
    """A pilot MeasureResult as evidence in currency (its interval gives the standard error)."""
    se = widened_se(
        standard_error(result.ci_lower, result.ci_upper), failed_diagnostics(result.diagnostics)
    )
    return PilotEvidence(
        initiative_id=result.initiative_id,
        method=method_key(method, result.model_type.value),
        estimate=result.effect_estimate * value_per_unit,
        se=se * value_per_unit,
    )


def evidence_from_record(record: CalibrationRecord) -> PilotEvidence:
    """A history record's pilot as evidence in currency."""
    se = widened_se(record.pilot_se, record.pilot_failed_diagnostics)
    return PilotEvidence(
        initiative_id=record.initiative_id,
        method=record.method,
        estimate=record.pilot_estimate * record.value_per_unit,
        se=se * record.value_per_unit,
    )
