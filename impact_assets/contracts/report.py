"""OutcomeReport: predicted against actual for one scaled initiative, and the loop's summary."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from impact_assets.contracts._validation import (
    coerce_enum,
    require_finite,
    require_int,
    require_text,
)
from impact_assets.contracts.calibration import CalibrationRecord
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE
from impact_assets.contracts.types import ModelType


@dataclass(frozen=True)
class OutcomeReport:
    """The prediction for one scaled initiative against its measurement at scale.

    Returns are in currency (effect times ``value_per_unit``). ``predicted_return`` is
    the evaluation's ``R_med`` (the calibrated prediction at scale, or the raw pilot
    estimate under the ``evidence`` EVALUATE), ``pilot_return`` the raw pilot estimate,
    ``R_worst``/``R_best`` the evaluation's interval;
    ``prediction_error = actual_return - predicted_return``. ``true_effect`` is the
    simulated effect at scale (``true_effect * scale_effect_ratio``, outcome units) and
    ``pilot_true_effect`` the pilot's, null for real data.
    ``interval_covers_actual``/``interval_covers_truth``: ``[R_worst, R_best]`` contains
    the actual return / the true return at scale (how honest was the prediction?).
    ``pilot_ci_covers_pilot_truth`` says whether the pilot's 95% interval contains the
    effect the pilot was drawn with (is the pilot's interval honest?),
    ``pilot_ci_covers_scale_truth`` whether it contains the effect at scale (did the
    pilot predict the rollout?), and ``pilot_ci_covers_actual`` (descriptive) whether it
    contains the scale estimate.
    """

    initiative_id: str
    predicted_return: float
    actual_return: float
    prediction_error: float
    sample_size_pilot: int
    sample_size_scale: int
    budget_allocated: float
    confidence_score: float
    model_type: ModelType
    true_effect: float | None = None
    pilot_ci_covers_pilot_truth: bool | None = None
    pilot_ci_covers_scale_truth: bool | None = None
    pilot_ci_covers_actual: bool | None = None
    loop_id: str | None = None
    pilot_return: float | None = None
    method: str | None = None
    value_per_unit: float | None = None
    pilot_true_effect: float | None = None
    R_worst: float | None = None
    R_best: float | None = None
    interval_covers_actual: bool | None = None
    interval_covers_truth: bool | None = None

    def __post_init__(self) -> None:
        owner = "OutcomeReport"
        require_text(owner, "initiative_id", self.initiative_id)
        for name in ("predicted_return", "actual_return", "prediction_error", "budget_allocated"):
            object.__setattr__(self, name, require_finite(owner, name, getattr(self, name)))
        if not math.isclose(
            self.prediction_error,
            self.actual_return - self.predicted_return,
            rel_tol=1e-9,
            abs_tol=1e-9,
        ):
            raise ValueError(
                f"{owner}.prediction_error: must equal actual_return - predicted_return"
            )
        for name in ("sample_size_pilot", "sample_size_scale"):
            object.__setattr__(
                self, name, require_int(owner, name, getattr(self, name), MIN_SAMPLE_SIZE)
            )
        confidence = require_finite(owner, "confidence_score", self.confidence_score)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"{owner}.confidence_score: must be within [0, 1], got {confidence}")
        object.__setattr__(
            self, "model_type", coerce_enum(owner, "model_type", ModelType, self.model_type)
        )
        for name in ("pilot_ci_covers_pilot_truth", "pilot_ci_covers_scale_truth"):
            if self.true_effect is None and getattr(self, name) is not None:
                raise ValueError(f"{owner}.{name}: must be null when true_effect is")
        if self.true_effect is None and self.interval_covers_truth is not None:
            raise ValueError(f"{owner}.interval_covers_truth: must be null when true_effect is")
        for name in ("pilot_return", "value_per_unit", "pilot_true_effect", "R_worst", "R_best"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, require_finite(owner, name, getattr(self, name)))
        if self.R_worst is not None and self.R_best is not None and self.R_worst > self.R_best:
            raise ValueError(f"{owner}.R_worst: must be <= R_best")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model_type"] = self.model_type.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutcomeReport:
        return cls(**data)


@dataclass(frozen=True)
class PortfolioSummary:
    """How the loop's decision turned out, over the selected initiatives.

    The realised and oracle values are in currency, known only when every
    candidate's true effect is (simulated data); ``oracle_omitted_reason``
    says why they are missing otherwise. ``evaluator`` names the EVALUATE that made
    the predictions; ``interval_coverage_actual``/``_truth`` are the shares of scaled
    initiatives whose actual return / true return at scale fell inside their
    ``[R_worst, R_best]``.
    """

    loop_id: str
    rule: str
    budget: float
    initiatives_evaluated: int
    initiatives_selected: int
    initiatives_scaled: int
    total_budget_used: float
    mean_abs_prediction_error: float | None
    mean_prediction_error: float | None
    pilot_ci_coverage_pilot_truth: float | None
    pilot_ci_coverage_scale_truth: float | None
    pilot_ci_coverage_actual: float | None
    realised_value: float | None
    oracle_value: float | None
    oracle_ratio: float | None
    oracle_omitted_reason: str | None
    failed: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    awaiting_data: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    evaluator: str | None = None
    interval_coverage_actual: float | None = None
    interval_coverage_truth: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortfolioSummary:
        return cls(**data)


@dataclass(frozen=True)
class LoopReport:
    """The value of the ``outcome_reports`` asset: every report of one loop and its summary.

    ``calibration_records`` holds every pilot measured in the loop, with its
    measurement at scale when it was scaled: what the next loop's
    ``calibration_history`` learns from.
    """

    loop_id: str
    reports: list[OutcomeReport]
    summary: PortfolioSummary
    calibration_records: list[CalibrationRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        require_text("LoopReport", "loop_id", self.loop_id)
        for report in self.reports:
            if report.loop_id != self.loop_id:
                raise ValueError(
                    f"LoopReport.reports: {report.initiative_id} belongs to loop "
                    f"{report.loop_id}, not {self.loop_id}"
                )
        for record in self.calibration_records:
            if record.loop_id != self.loop_id:
                raise ValueError(
                    f"LoopReport.calibration_records: {record.initiative_id} belongs to loop "
                    f"{record.loop_id}, not {self.loop_id}"
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "loop_id": self.loop_id,
            "reports": [report.to_dict() for report in self.reports],
            "summary": self.summary.to_dict(),
            "calibration_records": [record.to_dict() for record in self.calibration_records],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopReport:
        return cls(
            loop_id=data["loop_id"],
            reports=[OutcomeReport.from_dict(r) for r in data["reports"]],
            summary=PortfolioSummary.from_dict(data["summary"]),
            calibration_records=[
                CalibrationRecord.from_dict(r) for r in data.get("calibration_records") or []
            ],
        )
