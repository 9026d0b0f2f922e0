"""MockEvaluate: the seed's confidence draw within the model type's range."""

from __future__ import annotations

import random
from typing import Any

from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import EvaluateResult, ModelType
from impact_assets.contracts.types import CONFIDENCE_RANGES
from impact_assets.seeding import stable_seed


class MockEvaluate(PipelineComponent):
    """Confidence drawn uniformly within the model type's range, seeded per initiative.

    A stand-in, not evidence: use ``evidence`` for a score that reflects precision,
    sample size and diagnostics. Returns are the pilot's CI and estimate times
    ``value_per_unit`` (1 unless the config says otherwise).
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        model_type = ModelType(event["model_type"])
        low, high = CONFIDENCE_RANGES[model_type]
        rng = random.Random(stable_seed(event.get("seed", 0), event["initiative_id"], "confidence"))
        value_per_unit = event.get("value_per_unit", 1.0)
        return EvaluateResult(
            initiative_id=event["initiative_id"],
            confidence=rng.uniform(low, high),
            cost=event["cost_to_scale"],
            R_best=event["ci_upper"] * value_per_unit,
            R_med=event["effect_estimate"] * value_per_unit,
            R_worst=event["ci_lower"] * value_per_unit,
            model_type=model_type,
            sample_size=event["sample_size"],
        ).to_dict()
