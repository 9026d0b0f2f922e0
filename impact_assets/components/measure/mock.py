"""MockMeasure: the seed's deterministic fake measurement."""

from __future__ import annotations

import random
from typing import Any

from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import MeasureResult, ModelType
from impact_assets.seeding import stable_seed

_MODEL_TYPES = [model_type.value for model_type in ModelType]


class MockMeasure(PipelineComponent):
    """A plausible effect in 0.05..0.25 with a CI of 30-60% of it, seeded per initiative.

    Every draw comes from a stable hash of the config's seed and the initiative
    id, so each process sees the same numbers. The sample noise is seeded by the
    stage and sample size too: the scale run is a new sample, related to the
    pilot but not a copy of it.
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        initiative_id = event["initiative_id"]
        root_seed = event.get("seed", 0)
        rng = random.Random(stable_seed(root_seed, initiative_id))

        effect = rng.uniform(0.05, 0.25)
        ci_width = effect * rng.uniform(0.3, 0.6)
        pilot_sample_size = rng.randint(50, 500)
        sample_size = event.get("sample_size") or pilot_sample_size
        p_value = rng.uniform(0.001, 0.05)
        model_type = rng.choice(_MODEL_TYPES)
        r_squared = rng.uniform(0.6, 0.95)

        stage = event.get("stage", "pilot")
        sample_seed = stable_seed(root_seed, initiative_id, stage, sample_size)
        effect += random.Random(sample_seed).gauss(0, 0.01)

        return MeasureResult(
            initiative_id=initiative_id,
            effect_estimate=effect,
            ci_lower=effect - ci_width / 2,
            ci_upper=effect + ci_width / 2,
            p_value=p_value,
            sample_size=sample_size,
            model_type=model_type,
            diagnostics={"r_squared": r_squared, "sample_id": f"mock:{sample_seed:016x}"},
        ).to_dict()
