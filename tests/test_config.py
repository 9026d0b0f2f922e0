"""Config loading: every problem at once, each naming its field; YAML is data, never code."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PROJECT_ROOT, portfolio, write_config

from impact_assets.config import ConfigError, load_config, parse_config
from impact_assets.lib.config_resource import ImpactConfigResource


def problems_of(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="test.yaml")
    return caught.value.problems


SEED_IDS = [
    "product-desc-enhancement",
    "checkout-flow-optimization",
    "search-relevance-tuning",
    "pricing-display-test",
    "recommendation-engine-v2",
]


def test_default_config_runs_the_real_components_on_the_seeds_portfolio():
    config = load_config(PROJECT_ROOT / "config.yaml")
    assert config.initiative_ids == SEED_IDS
    assert (config.measure.component, config.evaluate.component, config.allocate.component) == (
        "statistical",
        "calibrated",
        "expected_return",
    )
    methods = {initiative.method.value for initiative in config.initiatives}
    assert len(methods) >= 3
    assert all(initiative.data.source == "simulated" for initiative in config.initiatives)
    effects = [
        initiative.data.true_effect / initiative.data.noise_sd for initiative in config.initiatives
    ]
    assert all(0.1 <= effect <= 0.5 for effect in effects)
    assert sum(initiative.cost_to_scale for initiative in config.initiatives) > config.budget
    assert any(initiative.data.scale_effect_ratio < 1 for initiative in config.initiatives)


def test_mock_example_is_the_seeds_config():
    config = load_config(PROJECT_ROOT / "examples" / "mock.yaml")
    assert config.budget == 100000
    assert config.initiative_ids == SEED_IDS
    assert [i.cost_to_scale for i in config.initiatives] == [15000, 25000, 20000, 10000, 30000]
    assert {config.measure.component, config.evaluate.component, config.allocate.component} == {
        "mock"
    }


def test_every_problem_is_reported_at_once():
    raw = portfolio(budget=-5, scale_sample_size=10, max_workers=0)
    raw["initiatives"][1]["cost_to_scale"] = -1
    raw["initiatives"][2]["surprise"] = True
    problems = problems_of(raw)
    assert "budget: must be >= 0 (got -5)" in problems
    assert "scale_sample_size: must be >= 30 (got 10)" in problems
    assert "max_workers: must be >= 1 (got 0)" in problems
    assert "initiatives[1].cost_to_scale: must be > 0 (got -1)" in problems
    assert "initiatives[2].surprise: is not a known key" in problems


def test_statistical_keys_are_validated_now():
    raw = portfolio()
    raw["initiatives"][0].update(
        method="experiment",
        value_per_unit=0,
        data={"source": "file", "path": "x.csv", "outcome": "y"},
    )
    raw["initiatives"][1].update(
        method="interrupted_time_series",
        data={"source": "simulated", "noise_sd": -1, "pilot_sample_size": 10},
    )
    problems = problems_of(raw)
    assert "initiatives[0].value_per_unit: must be > 0 (got 0)" in problems
    assert "initiatives[0].data.treatment: required for method experiment" in problems
    assert "initiatives[1].data.noise_sd: must be > 0 (got -1)" in problems
    assert "initiatives[1].data.pilot_sample_size: must be >= 30 (got 10)" in problems


def test_its_model_belongs_to_interrupted_time_series_only():
    raw = portfolio()
    raw["initiatives"][0].update(method="interrupted_time_series", its_model="level_and_slope")
    assert parse_config(raw).initiatives[0].its_model == "level_and_slope"
    raw["initiatives"] += [
        {"initiative_id": f"extra-{k}", "cost_to_scale": 10.0}
        for k in range(5 - len(raw["initiatives"]))
    ]
    raw["initiatives"][1].update(method="experiment", its_model="level")
    raw["initiatives"][2].update(its_model="level")  # no method at all
    raw["initiatives"][3].update(method="interrupted_time_series", its_model="slope")
    raw["initiatives"][4].update(cost_to_scale=0, method="observational", its_model="level")
    problems = problems_of(raw)
    assert (
        "initiatives[1].its_model: only for method interrupted_time_series (this initiative "
        "has method experiment)" in problems
    )
    assert (
        "initiatives[2].its_model: only for method interrupted_time_series (this initiative "
        "has no method)" in problems
    )
    assert (
        "initiatives[3].its_model: must be 'level' or 'level_and_slope' (got 'slope')" in problems
    )
    assert (  # reported even beside another invalid field of the same initiative
        "initiatives[4].its_model: only for method interrupted_time_series (this initiative "
        "has method observational)" in problems
    )


def test_synthetic_control_takes_the_panel_keys():
    raw = portfolio()
    raw["initiatives"][0].update(
        method="synthetic_control",
        data={"source": "file", "path": "x.csv", "outcome": "y", "unit": "region"},
    )
    problems = problems_of(raw)
    assert "initiatives[0].data.time: required for method synthetic_control" in problems
    assert "initiatives[0].data.treatment_start: required for method synthetic_control" in problems
    assert any(
        p.startswith("initiatives[0].data: method synthetic_control needs exactly one of")
        for p in problems
    )
    raw["initiatives"][0]["method"] = "synthetic_control"
    raw["initiatives"][0]["data"] = {"source": "simulated"}
    assert parse_config(raw).initiatives[0].method.model_type.value == "quasi-experiment"


def test_scale_sample_must_exceed_every_pilot():
    raw = portfolio(scale_sample_size=100)
    raw["initiatives"][0]["data"] = {"source": "simulated", "pilot_sample_size": 400}
    assert any(
        "pilot_sample_size: 400 exceeds scale_sample_size 100" in p for p in problems_of(raw)
    )


def test_allocation_options():
    assert any(
        "min_portfolio_worst_return" in p
        for p in problems_of(
            portfolio(allocate={"component": "mock", "min_portfolio_worst_return": 5})
        )
    )
    assert any(
        "weights must sum to 1" in p
        for p in problems_of(
            portfolio(allocate={"component": "mock", "weights": {"best": 1, "med": 1, "worst": 1}})
        )
    )
    assert problems_of(portfolio(allocate={"min_confidence": 2}))


def test_python_tags_are_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write_config(
        tmp_path, f"budget: !!python/object/apply:os.system ['touch {marker}']\ninitiatives: []\n"
    )
    with pytest.raises(ConfigError, match="refused YAML tag"):
        load_config(path)
    assert not marker.exists()


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    folder = tmp_path / "nested"
    folder.mkdir()
    config = load_config(write_config(folder, portfolio()))
    assert config.base_dir == folder.resolve()


def test_resource_reads_the_env_var_and_reports_failures(tmp_path, monkeypatch):
    good = write_config(tmp_path, portfolio(budget=7))
    monkeypatch.setenv("IMPACT_ENGINE_CONFIG", str(good))
    assert ImpactConfigResource().load().budget == 7
    bad = write_config(tmp_path, portfolio(budget="x"), name="bad.yaml")
    import dagster as dg

    with pytest.raises(dg.Failure, match="budget: must be a number"):
        ImpactConfigResource(path=str(bad)).load_or_fail()
    with pytest.raises(ConfigError, match="config file not found"):
        ImpactConfigResource(path=str(Path(tmp_path, "missing.yaml"))).load()


def test_a_stage_left_out_runs_its_real_component_and_a_mock_only_when_named():
    simulated = {"method": "experiment", "data": {"source": "simulated"}}
    config = parse_config(
        {"budget": 10, "initiatives": [{"initiative_id": "a", "cost_to_scale": 1, **simulated}]}
    )
    assert (config.measure.component, config.evaluate.component, config.allocate.component) == (
        "statistical",
        "calibrated",
        "expected_return",
    )
    # the seed's bare initiatives need the mock MEASURE, and the problems say how to name it
    bare = {"budget": 10, "initiatives": [{"initiative_id": "a", "cost_to_scale": 1}]}
    assert problems_of(bare) == [
        "initiatives[0].method: required by the statistical measure (one of experiment, "
        "difference_in_differences, interrupted_time_series, observational, synthetic_control)",
        "initiatives[0].data: required by the statistical measure",
        "measure: not given, so the statistical measure is used; for the seed's mock write "
        "`measure: {component: mock}`",
    ]
    named = parse_config({**bare, "measure": {"component": "mock"}})
    assert named.measure.component == "mock" and named.evaluate.component == "calibrated"
