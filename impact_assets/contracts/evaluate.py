"""EvaluateResult: how far to trust a pilot estimate, and its returns in currency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from impact_assets.contracts._validation import (
    coerce_enum,
    require_finite,
    require_int,
    require_text,
)
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE
from impact_assets.contracts.types import ModelType


@dataclass(frozen=True)
class EvaluateResult:
    """Confidence in [0, 1], the cost to scale, and three return scenarios.

    ``R_best``, ``R_med`` and ``R_worst`` are the pilot's CI upper bound,
    estimate and CI lower bound, each times the initiative's ``value_per_unit``.
    """

    initiative_id: str
    confidence: float
    cost: float
    R_best: float
    R_med: float
    R_worst: float
    model_type: ModelType
    sample_size: int
    loop_id: str | None = None

    def __post_init__(self) -> None:
        owner = "EvaluateResult"
        require_text(owner, "initiative_id", self.initiative_id)
        confidence = require_finite(owner, "confidence", self.confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"{owner}.confidence: must be within [0, 1], got {confidence}")
        object.__setattr__(self, "confidence", confidence)
        cost = require_finite(owner, "cost", self.cost)
        if cost <= 0:
            raise ValueError(f"{owner}.cost: must be > 0, got {cost}")
        object.__setattr__(self, "cost", cost)
        for name in ("R_best", "R_med", "R_worst"):
            object.__setattr__(self, name, require_finite(owner, name, getattr(self, name)))
        if not self.R_worst <= self.R_med <= self.R_best:
            raise ValueError(
                f"{owner}.R_worst <= R_med <= R_best does not hold for {self.initiative_id}: "
                f"{self.R_worst} <= {self.R_med} <= {self.R_best}"
            )
        object.__setattr__(
            self, "model_type", coerce_enum(owner, "model_type", ModelType, self.model_type)
        )
        object.__setattr__(
            self,
            "sample_size",
            require_int(owner, "sample_size", self.sample_size, MIN_SAMPLE_SIZE),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiative_id": self.initiative_id,
            "confidence": self.confidence,
            "cost": self.cost,
            "R_best": self.R_best,
            "R_med": self.R_med,
            "R_worst": self.R_worst,
            "model_type": self.model_type.value,
            "sample_size": self.sample_size,
            "loop_id": self.loop_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluateResult:
        return cls(
            initiative_id=data["initiative_id"],
            confidence=data["confidence"],
            cost=data["cost"],
            R_best=data["R_best"],
            R_med=data["R_med"],
            R_worst=data["R_worst"],
            model_type=data["model_type"],
            sample_size=data["sample_size"],
            loop_id=data.get("loop_id"),
        )
