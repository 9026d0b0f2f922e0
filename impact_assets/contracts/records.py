"""Per-initiative records: what one stage did for one initiative in one loop.

A record always exists, whatever happened: the result when the stage
succeeded, the cause when it failed, the reason when there was nothing to do.
Nothing downstream ever waits on a partition that will not come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from impact_assets.contracts._validation import coerce_enum, require_text
from impact_assets.contracts.evaluate import EvaluateResult
from impact_assets.contracts.measure import MeasureResult
from impact_assets.contracts.types import (
    EVALUATION_STATUSES,
    PILOT_STATUSES,
    SCALE_STATUSES,
    RecordStatus,
    Stage,
)

_WITH_RESULT = {RecordStatus.MEASURED, RecordStatus.SCALED, RecordStatus.EVALUATED}
_WITH_CAUSE = {RecordStatus.FAILED, RecordStatus.SKIPPED, RecordStatus.AWAITING_DATA}


def _check_shape(owner: str, status: RecordStatus, result: object, cause: str | None) -> None:
    if status in _WITH_RESULT and result is None:
        raise ValueError(f"{owner}.result: required when status is {status.value}")
    if status not in _WITH_RESULT and result is not None:
        raise ValueError(f"{owner}.result: must be null when status is {status.value}")
    if status in _WITH_CAUSE and not cause:
        raise ValueError(f"{owner}.cause: required when status is {status.value}")


@dataclass(frozen=True)
class MeasurementRecord:
    """One initiative's pilot or scale measurement in one loop.

    Pilot records are ``measured`` or ``failed``; scale records are
    ``scaled``, ``not_selected``, ``awaiting_data`` or ``failed``.
    """

    initiative_id: str
    loop_id: str
    stage: Stage
    status: RecordStatus
    result: MeasureResult | None = None
    cause: str | None = None

    def __post_init__(self) -> None:
        owner = "MeasurementRecord"
        require_text(owner, "initiative_id", self.initiative_id)
        require_text(owner, "loop_id", self.loop_id)
        object.__setattr__(self, "stage", coerce_enum(owner, "stage", Stage, self.stage))
        status = coerce_enum(owner, "status", RecordStatus, self.status)
        allowed = PILOT_STATUSES if self.stage is Stage.PILOT else SCALE_STATUSES
        if status not in allowed:
            names = ", ".join(sorted(s.value for s in allowed))
            raise ValueError(
                f"{owner}.status: a {self.stage.value} record must be one of {names}; "
                f"got {status.value}"
            )
        object.__setattr__(self, "status", status)
        _check_shape(owner, status, self.result, self.cause)
        if self.result is not None and self.result.initiative_id != self.initiative_id:
            raise ValueError(
                f"{owner}.result: belongs to {self.result.initiative_id}, not {self.initiative_id}"
            )

    @property
    def ok(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiative_id": self.initiative_id,
            "loop_id": self.loop_id,
            "stage": self.stage.value,
            "status": self.status.value,
            "result": self.result.to_dict() if self.result else None,
            "cause": self.cause,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasurementRecord:
        result = data.get("result")
        return cls(
            initiative_id=data["initiative_id"],
            loop_id=data["loop_id"],
            stage=data["stage"],
            status=data["status"],
            result=MeasureResult.from_dict(result) if result else None,
            cause=data.get("cause"),
        )


@dataclass(frozen=True)
class EvaluationRecord:
    """One initiative's evaluation in one loop: ``evaluated``, ``failed`` or ``skipped``."""

    initiative_id: str
    loop_id: str
    status: RecordStatus
    result: EvaluateResult | None = None
    cause: str | None = None

    def __post_init__(self) -> None:
        owner = "EvaluationRecord"
        require_text(owner, "initiative_id", self.initiative_id)
        require_text(owner, "loop_id", self.loop_id)
        status = coerce_enum(owner, "status", RecordStatus, self.status)
        if status not in EVALUATION_STATUSES:
            names = ", ".join(sorted(s.value for s in EVALUATION_STATUSES))
            raise ValueError(f"{owner}.status: must be one of {names}; got {status.value}")
        object.__setattr__(self, "status", status)
        _check_shape(owner, status, self.result, self.cause)

    @property
    def ok(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiative_id": self.initiative_id,
            "loop_id": self.loop_id,
            "status": self.status.value,
            "result": self.result.to_dict() if self.result else None,
            "cause": self.cause,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationRecord:
        result = data.get("result")
        return cls(
            initiative_id=data["initiative_id"],
            loop_id=data["loop_id"],
            status=data["status"],
            result=EvaluateResult.from_dict(result) if result else None,
            cause=data.get("cause"),
        )
