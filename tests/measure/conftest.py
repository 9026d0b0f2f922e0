"""Fixtures for the statistical MEASURE tests: the component registered, events, data files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from impact_assets.components import registry
from impact_assets.components.measure import data as measure_data
from impact_assets.components.measure.statistical import StatisticalMeasure
from impact_assets.config import loader

STATISTICAL = "statistical"


@pytest.fixture
def statistical_config(monkeypatch):
    """'statistical' resolvable by name and its pre-flight run by the loader (as once wired)."""
    registered_here = STATISTICAL not in registry.component_names("measure")
    if registered_here:
        registry.register_component("measure", STATISTICAL, StatisticalMeasure)
    checks = [c for c in loader.PREFLIGHT_CHECKS if c is not measure_data.preflight]
    monkeypatch.setattr(loader, "PREFLIGHT_CHECKS", [*checks, measure_data.preflight])
    yield
    if registered_here:
        registry.unregister_component("measure", STATISTICAL)


@pytest.fixture
def make_event() -> Callable[..., dict[str, Any]]:
    """Build a MEASURE event for one initiative (the shape ``impact_assets.loop`` sends)."""

    def build(
        method: str,
        data: dict[str, Any],
        *,
        stage: str = "pilot",
        sample_size: int | None = None,
        scale_data: dict[str, Any] | None = None,
        config_dir: Path | str | None = None,
        initiative_id: str = "init-a",
        seed: int = 42,
    ) -> dict[str, Any]:
        initiative: dict[str, Any] = {
            "initiative_id": initiative_id,
            "cost_to_scale": 1000.0,
            "method": method,
            "data": data,
        }
        if scale_data is not None:
            initiative["scale_data"] = scale_data
        event: dict[str, Any] = {
            "initiative_id": initiative_id,
            "seed": seed,
            "stage": stage,
            "initiative": initiative,
        }
        if sample_size is not None:
            event["sample_size"] = sample_size
        if config_dir is not None:
            event["config_dir"] = str(config_dir)
        return event

    return build
