"""StatisticalMeasure: estimate an initiative's causal effect from simulated or observed data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from impact_assets.components.base import DataNotAvailable, PipelineComponent
from impact_assets.components.measure import simulate as simulation
from impact_assets.components.measure.data import file_sample_id, read_table, resolve_data_path
from impact_assets.components.measure.estimators import estimate
from impact_assets.config.models import FileData, InitiativeConfig, SimulatedData
from impact_assets.contracts import MeasureResult, Method, Stage


@dataclass(frozen=True)
class Sample:
    """The data one measurement is estimated on, and what identifies it."""

    frame: pd.DataFrame
    columns: dict[str, Any]
    sample_id: str


class StatisticalMeasure(PipelineComponent):
    """Estimates the effect with the estimator of the initiative's method (statsmodels).

    The event is MEASURE's (see :mod:`impact_assets.components.base`). Simulated
    data: the pilot has ``pilot_sample_size`` units, the scale sample
    ``event["sample_size"]`` (time points for ITS and synthetic control), each an
    independent draw
    with its stage's true effect. File data: the pilot reads ``data``, the scale
    stage ``scale_data``; without ``scale_data``, or while its file does not
    exist, the scale stage raises :class:`DataNotAvailable`. The sample size is
    what the estimator fitted: units, unit-period observations for the panel
    methods (DiD, synthetic control), time points for ITS.
    """

    # Simulated samples carry simulate.true_effect / effect_at_scale: the report may compare.
    measures_simulated_truth = True

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        initiative = _initiative(event)
        if initiative.method is None:
            raise ValueError(
                f"{initiative.initiative_id}: method is required by the statistical measure"
            )
        if initiative.data is None:
            raise ValueError(
                f"{initiative.initiative_id}: data is required by the statistical measure"
            )
        stage = Stage(event.get("stage", Stage.PILOT.value))
        sample = _SOURCES[initiative.data.source](initiative, stage, event)
        options = {"its_model": initiative.its_model}
        result = estimate(initiative.method, sample.frame, sample.columns, options)
        return MeasureResult(
            initiative_id=initiative.initiative_id,
            effect_estimate=result["estimate"],
            ci_lower=result["ci_lower"],
            ci_upper=result["ci_upper"],
            p_value=result["p_value"],
            sample_size=result["sample_size"],
            model_type=initiative.method.model_type,
            diagnostics={**result["diagnostics"], "sample_id": sample.sample_id},
            loop_id=event.get("loop_id"),
        ).to_dict()


def _initiative(event: dict[str, Any]) -> InitiativeConfig:
    raw = event.get("initiative")
    if raw is None:
        raise ValueError("MEASURE event: 'initiative' (the initiative's config) is required")
    initiative = raw if isinstance(raw, InitiativeConfig) else InitiativeConfig.model_validate(raw)
    expected = event.get("initiative_id")
    if expected is not None and expected != initiative.initiative_id:
        raise ValueError(
            f"MEASURE event: initiative_id {expected!r} does not match the initiative's "
            f"config ({initiative.initiative_id!r})"
        )
    return initiative


def _simulated_sample(initiative: InitiativeConfig, stage: Stage, event: dict[str, Any]) -> Sample:
    spec = cast(SimulatedData, initiative.data)  # dispatched on its source
    if "seed" not in event:
        raise ValueError("MEASURE event: 'seed' (the config's root seed) is required")
    root_seed = int(event["seed"])
    method = Method(initiative.method)
    if stage is Stage.PILOT:
        sample_size = simulation.pilot_sample_size(spec, root_seed, initiative.initiative_id)
    elif event.get("sample_size") is None:
        raise ValueError("MEASURE event: 'sample_size' is required for the scale stage")
    else:
        sample_size = int(event["sample_size"])
    frame = simulation.simulate(
        method,
        spec,
        root_seed=root_seed,
        initiative_id=initiative.initiative_id,
        stage=stage,
        sample_size=sample_size,
    )
    return Sample(
        frame=frame,
        columns=simulation.simulated_columns(method, sample_size),
        sample_id=simulation.sample_id(root_seed, initiative.initiative_id, stage, sample_size),
    )


def _file_sample(initiative: InitiativeConfig, stage: Stage, event: dict[str, Any]) -> Sample:
    spec = initiative.data if stage is Stage.PILOT else initiative.scale_data
    if spec is None:
        raise DataNotAvailable(
            f"{initiative.initiative_id}: no scale_data in the config; the scale "
            "measurement awaits data"
        )
    spec = cast(FileData, spec)  # dispatched on the pilot data's source
    path = resolve_data_path(event.get("config_dir"), spec.path)
    if not path.is_file():
        if stage is Stage.SCALE:
            raise DataNotAvailable(
                f"{initiative.initiative_id}: scale data file {spec.path} does not exist yet "
                f"(looked for {path}); the scale measurement awaits data"
            )
        raise FileNotFoundError(f"{initiative.initiative_id}: data file not found: {path}")
    columns = {key: getattr(spec, key) for key in FileData.model_fields}
    return Sample(frame=read_table(path), columns=columns, sample_id=file_sample_id(path))


# Where a sample comes from, by the data's ``source``.
_SOURCES: dict[str, Callable[[InitiativeConfig, Stage, dict[str, Any]], Sample]] = {
    "simulated": _simulated_sample,
    "file": _file_sample,
}
