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

# What [R_worst, R_best] is: the pilot's own confidence interval in currency (``mock``,
# ``evidence``), or a predictive interval of the return at scale that already counts
# every uncertainty the evaluation knows of (``calibrated``). The penalised allocation
# rules pull returns towards R_worst by 1 - confidence only for the first kind.
INTERVAL_PILOT_CI = "pilot_ci"
INTERVAL_PREDICTIVE = "predictive"
INTERVAL_KINDS = (INTERVAL_PILOT_CI, INTERVAL_PREDICTIVE)


@dataclass(frozen=True)
class EvaluateResult:
    """Confidence in [0, 1], the cost to scale, and three return scenarios.

    ``R_best``, ``R_med`` and ``R_worst`` are the pilot's CI upper bound,
    estimate and CI lower bound, each times the initiative's ``value_per_unit``
    (``interval_kind`` ``pilot_ci``), or the 95th percentile, mean and 5th percentile
    of the predictive distribution of the return at scale (``predictive``).
    ``confidence`` is what the evaluation means by it (``calibrated``: the
    probability that the true return at scale is positive; ``evidence``, ``mock``: a
    trust score within the design's range). ``pilot_weight``: the weight of the pilot's
    own estimate against a prior, for an evaluation that has one (else None).
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
    pilot_weight: float | None = None
    interval_kind: str = INTERVAL_PILOT_CI

    def __post_init__(self) -> None:
        owner = "EvaluateResult"
        require_text(owner, "initiative_id", self.initiative_id)
        confidence = require_finite(owner, "confidence", self.confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"{owner}.confidence: must be within [0, 1], got {confidence}")
        object.__setattr__(self, "confidence", confidence)
        if self.pilot_weight is not None:
            weight = require_finite(owner, "pilot_weight", self.pilot_weight)
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"{owner}.pilot_weight: must be within [0, 1], got {weight}")
            object.__setattr__(self, "pilot_weight", weight)
        if self.interval_kind not in INTERVAL_KINDS:
            raise ValueError(
                f"{owner}.interval_kind: must be one of {', '.join(INTERVAL_KINDS)}; "
                f"got {self.interval_kind!r}"
            )
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

    @property
    def predictive(self) -> bool:
        """Whether [R_worst, R_best] is a predictive interval of the return at scale."""
        return self.interval_kind == INTERVAL_PREDICTIVE

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
            "pilot_weight": self.pilot_weight,
            "interval_kind": self.interval_kind,
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
            pilot_weight=data.get("pilot_weight"),
            interval_kind=data.get("interval_kind", INTERVAL_PILOT_CI),
        )
