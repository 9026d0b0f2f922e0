"""The true effect at scale, where the data are simulated and so the truth is known."""

from __future__ import annotations

from impact_assets.config.models import PortfolioConfig, SimulatedData
from impact_assets.registry import component_class


def effect_at_scale(config: PortfolioConfig, initiative_id: str) -> float | None:
    """``true_effect * scale_effect_ratio`` in outcome units, or None when it is unknown.

    Known only when the initiative's data are simulated and the configured
    MEASURE draws from that simulation (the mock MEASURE ignores the data, so
    its numbers have no truth behind them).
    """
    initiative = config.initiative(initiative_id)
    measure = component_class("measure", config.measure.component)
    if not isinstance(initiative.data, SimulatedData) or not getattr(
        measure, "measures_simulated_truth", False
    ):
        return None
    from impact_assets.components.measure.simulate import effect_at_scale as simulated

    return simulated(initiative.data, root_seed=config.seed, initiative_id=initiative_id)
