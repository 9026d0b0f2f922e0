"""StatisticalMeasure end to end: simulated and file data, pilot vs scale, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from impact_assets.components.base import DataNotAvailable
from impact_assets.components.measure import simulate
from impact_assets.components.measure.data import file_sample_id
from impact_assets.components.measure.statistical import StatisticalMeasure
from impact_assets.config.models import SimulatedData
from impact_assets.contracts import MeasureResult, Method

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = PROJECT_ROOT / "data"
METHODS = [method.value for method in Method]
SIMULATED = {"source": "simulated", "true_effect": 0.3, "pilot_sample_size": 200}


@pytest.mark.parametrize("method", METHODS)
def test_pilot_and_scale_are_different_samples_and_scale_is_more_precise(method, make_event):
    measure = StatisticalMeasure()
    pilot = measure.execute(make_event(method, SIMULATED))
    scale = measure.execute(make_event(method, SIMULATED, stage="scale", sample_size=2000))
    assert pilot["diagnostics"]["sample_id"] != scale["diagnostics"]["sample_id"]
    assert pilot["effect_estimate"] != scale["effect_estimate"]
    # unit-period observations for the panels (DiD: n units x 8 periods; synthetic
    # control: 40 units x n periods), else n
    per_unit = {"difference_in_differences": 8, "synthetic_control": 40}.get(method, 1)
    assert (pilot["sample_size"], scale["sample_size"]) == (200 * per_unit, 2000 * per_unit)
    assert scale["sample_size"] == simulate.observations(method, 2000)
    assert scale["ci_upper"] - scale["ci_lower"] < pilot["ci_upper"] - pilot["ci_lower"]
    assert pilot["model_type"] == Method(method).model_type.value
    MeasureResult.from_dict(scale)  # a valid contract


@pytest.mark.parametrize("method", METHODS)
def test_same_event_gives_identical_results(method, make_event):
    event = make_event(method, {"source": "simulated"})  # effect and size drawn from the seed
    assert StatisticalMeasure().execute(event) == StatisticalMeasure().execute(event)


def test_results_do_not_depend_on_the_process_hash_seed(make_event):
    code = (
        "import json, sys\n"
        "from impact_assets.components.measure.statistical import StatisticalMeasure\n"
        "events = json.loads(sys.stdin.read())\n"
        "print(json.dumps([StatisticalMeasure().execute(e) for e in events], sort_keys=True))\n"
    )
    events = [
        make_event(method, {"source": "simulated"}, initiative_id=f"x-{method}")
        for method in METHODS
    ]
    expected = json.dumps([StatisticalMeasure().execute(e) for e in events], sort_keys=True)
    for hash_seed in ("1", "987654"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(events),
            capture_output=True,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
        )
        assert done.stdout.strip() == expected


def test_drawn_truth_and_sizes_are_seeded_and_in_range():
    spec = SimulatedData(source="simulated", scale_effect_ratio=0.5)
    effects = {simulate.true_effect(spec, root_seed=7, initiative_id=f"i{k}") for k in range(50)}
    assert len(effects) == 50 and all(0.05 <= e <= 0.5 for e in effects)
    effect = simulate.true_effect(spec, root_seed=7, initiative_id="i1")
    assert simulate.true_effect(spec, root_seed=7, initiative_id="i1") == effect
    assert simulate.effect_at_scale(spec, root_seed=7, initiative_id="i1") == effect * 0.5
    sizes = {simulate.pilot_sample_size(spec, 7, f"i{k}") for k in range(200)}
    assert min(sizes) >= 50 and max(sizes) <= 500 and len(sizes) > 100
    fixed = SimulatedData(source="simulated", true_effect=0.2, pilot_sample_size=80)
    assert simulate.true_effect(fixed, root_seed=1, initiative_id="a") == 0.2
    assert simulate.pilot_sample_size(fixed, 1, "a") == 80


def test_scale_sample_carries_the_effect_at_scale(make_event):
    data = {"source": "simulated", "true_effect": 1.0, "scale_effect_ratio": 0.0}
    scale = StatisticalMeasure().execute(
        make_event("experiment", data, stage="scale", sample_size=20000)
    )
    assert scale["ci_lower"] < 0.0 < scale["ci_upper"]
    pilot = StatisticalMeasure().execute(make_event("experiment", data))
    assert pilot["ci_lower"] > 0.0


def file_spec(name: str, **columns) -> dict:
    return {"source": "file", "path": f"data/{name}", **columns}


EXPERIMENT_COLUMNS = {
    "outcome": "basket_value",
    "treatment": "new_checkout",
    "covariates": ["prior_spend", "returning_customer"],
}


def test_file_data_pilot_and_scale(make_event):
    event = make_event(
        "experiment",
        file_spec("experiment_pilot.csv", **EXPERIMENT_COLUMNS),
        scale_data=file_spec("experiment_scale.csv", **EXPERIMENT_COLUMNS),
        config_dir=PROJECT_ROOT,
    )
    pilot = StatisticalMeasure().execute(event)
    scale = StatisticalMeasure().execute({**event, "stage": "scale", "sample_size": 5000})
    assert pilot["diagnostics"]["sample_id"] == file_sample_id(
        EXAMPLE_DATA / "experiment_pilot.csv"
    )
    assert pilot["diagnostics"]["sample_id"].startswith("file:")
    assert len(pilot["diagnostics"]["sample_id"]) == len("file:") + 16
    assert pilot["diagnostics"]["sample_id"] != scale["diagnostics"]["sample_id"]
    assert (pilot["sample_size"], scale["sample_size"]) == (300, 800)  # the files' own sizes
    assert scale["ci_upper"] - scale["ci_lower"] < pilot["ci_upper"] - pilot["ci_lower"]


def test_scale_without_scale_data_is_data_not_available(make_event):
    event = make_event(
        "experiment",
        file_spec("experiment_pilot.csv", **EXPERIMENT_COLUMNS),
        stage="scale",
        sample_size=5000,
        config_dir=PROJECT_ROOT,
    )
    with pytest.raises(DataNotAvailable, match="init-a: no scale_data"):
        StatisticalMeasure().execute(event)


def test_scale_file_not_there_yet_is_data_not_available(make_event):
    event = make_event(
        "experiment",
        file_spec("experiment_pilot.csv", **EXPERIMENT_COLUMNS),
        scale_data=file_spec("experiment_next_quarter.csv", **EXPERIMENT_COLUMNS),
        stage="scale",
        sample_size=5000,
        config_dir=PROJECT_ROOT,
    )
    with pytest.raises(DataNotAvailable, match="experiment_next_quarter.csv does not exist"):
        StatisticalMeasure().execute(event)


def test_file_is_re_read_when_it_changes(make_event, tmp_path):
    frame = pd.read_csv(EXAMPLE_DATA / "experiment_pilot.csv")
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "pilot.csv"
    frame.to_csv(path, index=False)
    event = make_event(
        "experiment", file_spec("pilot.csv", **EXPERIMENT_COLUMNS), config_dir=tmp_path
    )
    first = StatisticalMeasure().execute(event)
    frame.iloc[::-1].iloc[:250].to_csv(path, index=False)
    second = StatisticalMeasure().execute(event)
    assert second["sample_size"] == 250
    assert second["diagnostics"]["sample_id"] != first["diagnostics"]["sample_id"]


def test_missing_method_or_data_is_a_clear_error(make_event):
    event = make_event("experiment", SIMULATED)
    del event["initiative"]["method"]
    with pytest.raises(ValueError, match="init-a: method is required"):
        StatisticalMeasure().execute(event)
    event = make_event("experiment", SIMULATED)
    del event["initiative"]["data"]
    with pytest.raises(ValueError, match="init-a: data is required"):
        StatisticalMeasure().execute(event)
    with pytest.raises(ValueError, match="'sample_size' is required for the scale stage"):
        StatisticalMeasure().execute(make_event("experiment", SIMULATED, stage="scale"))
