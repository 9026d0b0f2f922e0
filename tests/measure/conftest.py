"""Fixtures for the statistical MEASURE tests: the component registered, events, data files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from impact_assets import registry
from impact_assets.components.measure.statistical import StatisticalMeasure

STATISTICAL = "statistical"


@pytest.fixture
def statistical_config():
    """The statistical component is built in and its data pre-flight runs in the loader."""
    assert STATISTICAL in registry.component_names("measure")
    assert registry.component_class("measure", STATISTICAL) is StatisticalMeasure
    yield


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
