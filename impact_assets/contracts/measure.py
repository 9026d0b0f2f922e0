"""MeasureResult: one causal estimate of one initiative's effect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from impact_assets.contracts._validation import (
    coerce_enum,
    require_finite,
    require_int,
    require_text,
)
from impact_assets.contracts.types import ModelType

MIN_SAMPLE_SIZE = 30


@dataclass(frozen=True)
class MeasureResult:
    """An effect estimate with its 95% interval, in outcome units.

    ``p_value`` is ``None`` where a method has none: never a made-up 0.0.
    ``sample_size`` counts the observations the estimate rests on (units,
    unit-period rows of a panel, or time points), at least 30.
    ``diagnostics`` holds ``r_squared`` and, for the statistical methods, the
    interval method's name (``inference``), plain descriptive values, and each
    diagnostic as ``{"value": ..., "passed": bool}``.
    """

    initiative_id: str
    effect_estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    sample_size: int
    model_type: ModelType
    diagnostics: dict[str, Any] = field(default_factory=dict)
    loop_id: str | None = None

    def __post_init__(self) -> None:
        owner = "MeasureResult"
        require_text(owner, "initiative_id", self.initiative_id)
        for name in ("effect_estimate", "ci_lower", "ci_upper"):
            object.__setattr__(self, name, require_finite(owner, name, getattr(self, name)))
        if not self.ci_lower <= self.effect_estimate <= self.ci_upper:
            raise ValueError(
                f"{owner}.ci_lower <= effect_estimate <= ci_upper does not hold for "
                f"{self.initiative_id}: "
                f"{self.ci_lower} <= {self.effect_estimate} <= {self.ci_upper}"
            )
        if self.p_value is not None:
            p_value = require_finite(owner, "p_value", self.p_value)
            if not 0.0 <= p_value <= 1.0:
                raise ValueError(f"{owner}.p_value: must be within [0, 1] or null, got {p_value}")
            object.__setattr__(self, "p_value", p_value)
        object.__setattr__(
            self,
            "sample_size",
            require_int(owner, "sample_size", self.sample_size, MIN_SAMPLE_SIZE),
        )
        object.__setattr__(
            self, "model_type", coerce_enum(owner, "model_type", ModelType, self.model_type)
        )
        if not isinstance(self.diagnostics, dict):
            raise ValueError(f"{owner}.diagnostics: must be a mapping, got {self.diagnostics!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiative_id": self.initiative_id,
            "effect_estimate": self.effect_estimate,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "p_value": self.p_value,
            "sample_size": self.sample_size,
            "model_type": self.model_type.value,
            "diagnostics": self.diagnostics,
            "loop_id": self.loop_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasureResult:
        return cls(
            initiative_id=data["initiative_id"],
            effect_estimate=data["effect_estimate"],
            ci_lower=data["ci_lower"],
            ci_upper=data["ci_upper"],
            p_value=data.get("p_value"),
            sample_size=data["sample_size"],
            model_type=data["model_type"],
            diagnostics=dict(data.get("diagnostics") or {}),
            loop_id=data.get("loop_id"),
        )
