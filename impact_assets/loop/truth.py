"""The true effects of the pilot and at scale, where the data are simulated and so known."""

from __future__ import annotations

from impact_assets.config.models import PortfolioConfig, SimulatedData
from impact_assets.registry import component_class


def _simulated_spec(config: PortfolioConfig, initiative_id: str) -> SimulatedData | None:
    """The initiative's simulated data spec, when the configured MEASURE draws from it.

    The mock MEASURE ignores the data, so its numbers have no truth behind them.
    """
    initiative = config.initiative(initiative_id)
    measure = component_class("measure", config.measure.component)
    if not isinstance(initiative.data, SimulatedData) or not getattr(
        measure, "measures_simulated_truth", False
    ):
        return None
    return initiative.data


def pilot_effect(config: PortfolioConfig, initiative_id: str) -> float | None:
    """``true_effect`` in outcome units (the pilot's truth), or None when it is unknown."""
    spec = _simulated_spec(config, initiative_id)
    if spec is None:
        return None
    from impact_assets.components.measure.simulate import true_effect

    return true_effect(spec, root_seed=config.seed, initiative_id=initiative_id)


def effect_at_scale(config: PortfolioConfig, initiative_id: str) -> float | None:
    """``true_effect * scale_effect_ratio`` in outcome units, or None when it is unknown."""
    spec = _simulated_spec(config, initiative_id)
    if spec is None:
        return None
    from impact_assets.components.measure.simulate import effect_at_scale as simulated

    return simulated(spec, root_seed=config.seed, initiative_id=initiative_id)
