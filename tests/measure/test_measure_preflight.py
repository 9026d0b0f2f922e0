"""Pre-flight checks of file data under the statistical MEASURE: one line per problem."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from impact_assets.components.measure.data import preflight
from impact_assets.config import ConfigError, load_config, parse_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path) -> Path:
    """A config folder with a data/ subfolder holding small files of each design."""
    data = tmp_path / "data"
    data.mkdir()
    units = pd.DataFrame(
        {
            "earnings": [float(i % 7) for i in range(40)],
            "treated": [i % 2 for i in range(40)],
            "dose": [i % 3 for i in range(40)],
            "age": [20.0 + i for i in range(40)],
        }
    )
    units.to_csv(data / "units.csv", index=False)
    panel = pd.DataFrame(
        [
            {"store": f"s{u:02d}", "year": y, "group": int(u < 12), "sales": float(u + y)}
            for u in range(36)
            for y in range(2019, 2024)
        ]
    )
    panel.to_csv(data / "panel.csv", index=False)
    series = pd.DataFrame({"week": range(60), "visits": [float(w % 5) for w in range(60)]})
    series.to_parquet(data / "series.parquet")
    return tmp_path


def config(folder: Path, *initiatives: dict, measure: str = "statistical"):
    raw = {
        "budget": 1000,
        "measure": {"component": measure},
        "initiatives": [
            {"initiative_id": f"init-{i}", "cost_to_scale": 10, **initiative}
            for i, initiative in enumerate(initiatives)
        ],
    }
    return parse_config(raw, source=folder / "config.yaml")


def problems(folder: Path, *initiatives: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        config(folder, *initiatives)
    return raised.value.problems


EXPERIMENT = {
    "method": "experiment",
    "data": {
        "source": "file",
        "path": "data/units.csv",
        "outcome": "earnings",
        "treatment": "treated",
    },
}
DID = {
    "method": "difference_in_differences",
    "data": {
        "source": "file",
        "path": "data/panel.csv",
        "outcome": "sales",
        "unit": "store",
        "time": "year",
        "treatment_start": 2022,
    },
}
ITS = {
    "method": "interrupted_time_series",
    "data": {
        "source": "file",
        "path": "data/series.parquet",
        "outcome": "visits",
        "time": "week",
        "intervention_time": 30,
    },
}


def with_data(initiative: dict, **changes) -> dict:
    return {**initiative, "data": {**initiative["data"], **changes}}


pytestmark = pytest.mark.usefixtures("statistical_config")


def test_valid_files_pass(folder):
    did = with_data(DID, treated="group")
    loaded = config(folder, EXPERIMENT, did, ITS)
    assert preflight(loaded) == []


def test_missing_file(folder):
    assert problems(folder, EXPERIMENT, with_data(EXPERIMENT, path="data/absent.csv")) == [
        "initiatives[1].data.path: file not found: data/absent.csv "
        f"(looked for {folder / 'data' / 'absent.csv'})"
    ]


def test_missing_columns(folder):
    found = problems(
        folder, with_data(EXPERIMENT, treatment="assigned", covariates=["age", "educ"])
    )
    columns = "(columns: earnings, treated, dose, age)"
    assert found == [
        f"initiatives[0].data.treatment: column 'assigned' not in data/units.csv {columns}",
        f"initiatives[0].data.covariates: column 'educ' not in data/units.csv {columns}",
    ]


def test_treatment_not_0_1(folder):
    found = problems(folder, with_data(EXPERIMENT, treatment="dose"))
    assert found == [
        "initiatives[0].data.treatment: column 'dose' in data/units.csv must be 0/1 "
        "(found values: 0, 1, 2)"
    ]


def test_did_without_treated_units(folder):
    found = problems(folder, with_data(DID, treated_units=["x1", "x2"]))
    assert found == [
        "initiatives[0].data.treated_units: not in column 'store' of data/panel.csv: 'x1', 'x2'",
        "initiatives[0].data.treated_units: none of the listed units is in data/panel.csv; "
        "DiD needs treated units",
    ]
    pd.read_csv(folder / "data" / "panel.csv").assign(group=0).to_csv(
        folder / "data" / "untreated.csv", index=False
    )
    found = problems(folder, with_data(DID, path="data/untreated.csv", treated="group"))
    assert len(found) == 1
    assert found[0].startswith("initiatives[0].data.treated: column 'group' in data/untreated.csv")
    assert "must contain both 0 and 1; found only 0" in found[0]


def test_did_without_control_units(folder):
    every_store = [f"s{u:02d}" for u in range(36)]
    assert problems(folder, with_data(DID, treated_units=every_store)) == [
        "initiatives[0].data.treated_units: every unit in data/panel.csv is listed as treated; "
        "DiD needs control units"
    ]


def test_did_treatment_start_outside_the_periods(folder):
    found = problems(folder, with_data(DID, treated="group", treatment_start=2030))
    assert found == [
        "initiatives[0].data.treatment_start: 2030 is after every value of column 'year' in "
        "data/panel.csv; DiD needs post-treatment periods"
    ]


def test_its_intervention_outside_the_series(folder):
    found = problems(folder, with_data(ITS, intervention_time=59))
    assert len(found) == 1
    assert found[0].startswith("initiatives[0].data.intervention_time: 59 leaves 59 time points")
    assert "time range 0..59" in found[0]


def test_method_keys_missing(folder):
    no_outcome = {**EXPERIMENT, "data": {"source": "file", "path": "data/units.csv"}}
    did_without_group = DID  # neither treated nor treated_units
    found = problems(folder, no_outcome, did_without_group)
    assert "initiatives[0].data.outcome: is required" in found
    assert "initiatives[0].data.treatment: required for method experiment" in found
    assert any(
        line.startswith("initiatives[1].data: method difference_in_differences needs exactly one")
        for line in found
    )


def test_method_and_data_required_by_the_statistical_measure(folder):
    found = problems(folder, {"data": EXPERIMENT["data"]}, {"method": "experiment"})
    assert found == [
        "initiatives[0].method: required by the statistical measure (one of experiment, "
        "difference_in_differences, interrupted_time_series, observational, synthetic_control)",
        "initiatives[1].data: required by the statistical measure",
    ]


def test_other_measures_need_no_data(folder):
    loaded = config(folder, {"method": "experiment"}, {}, measure="mock")
    assert preflight(loaded) == []


def test_scale_data_still_to_come_is_not_a_problem(folder):
    later = {**EXPERIMENT, "scale_data": {**EXPERIMENT["data"], "path": "data/later.csv"}}
    assert preflight(config(folder, later)) == []


def test_scale_data_that_exists_is_checked(folder):
    bad = {**EXPERIMENT, "scale_data": {**EXPERIMENT["data"], "outcome": "income"}}
    found = problems(folder, bad)
    assert found == [
        "initiatives[0].scale_data.outcome: column 'income' not in data/units.csv "
        "(columns: earnings, treated, dose, age)"
    ]


def test_too_few_units(folder):
    pd.read_csv(folder / "data" / "units.csv").head(20).to_csv(
        folder / "data" / "small.csv", index=False
    )
    assert problems(folder, with_data(EXPERIMENT, path="data/small.csv")) == [
        "initiatives[0].data.path: data/small.csv has 20 rows (units); the statistical "
        "measure needs at least 30"
    ]


def test_every_problem_is_reported_at_once(folder):
    found = problems(
        folder,
        with_data(EXPERIMENT, path="data/absent.csv"),
        EXPERIMENT,
        with_data(EXPERIMENT, treatment="dose"),
        {"method": "experiment"},
    )
    assert [line.split(".")[0] for line in found] == [
        "initiatives[0]",
        "initiatives[2]",
        "initiatives[3]",
    ]


def test_the_shipped_example_validates():
    loaded = load_config(PROJECT_ROOT / "examples" / "files.yaml")
    assert loaded.measure.component == "statistical"
    assert preflight(loaded) == []
    with_scale = [i.initiative_id for i in loaded.initiatives if i.scale_data is not None]
    assert 0 < len(with_scale) < len(loaded.initiatives)


def test_a_small_did_panel_is_judged_by_what_the_method_needs(folder):
    """27 states x 6 quarters: fewer than 30 units, 162 observations; the method needs
    treated and control units and periods on both sides, not 30 units."""
    states = pd.DataFrame(
        [
            {"state": f"st{u:02d}", "quarter": q, "sales": float(u + q + (u < 9) * (q >= 4))}
            for u in range(27)
            for q in range(6)
        ]
    )
    states.to_csv(folder / "data" / "states.csv", index=False)
    did = with_data(
        DID,
        path="data/states.csv",
        unit="state",
        time="quarter",
        treatment_start=4,
        treated_units=[f"st{u:02d}" for u in range(9)],
    )
    assert preflight(config(folder, did)) == []
    found = problems(
        folder,
        with_data(did, treated_units=[f"st{u:02d}" for u in range(26)]),
        with_data(did, treatment_start=1),
    )
    assert found == [
        "initiatives[0].data.treated_units: data/states.csv has 1 control unit(s); DiD needs "
        "at least 2 (treatment_start 4)",
        "initiatives[1].data.treatment_start: data/states.csv has 1 pre-treatment period(s); "
        "DiD needs at least 2 (treatment_start 1)",
    ]
    tiny = states[states["state"].isin(["st00", "st01", "st02", "st03"])]
    tiny.to_csv(folder / "data" / "tiny.csv", index=False)
    assert problems(folder, with_data(did, path="data/tiny.csv", treated_units=["st00"])) == [
        "initiatives[0].data.path: data/tiny.csv has 24 rows (unit-period observations); the "
        "statistical measure needs at least 30"
    ]


SYNTHETIC_CONTROL = {**DID, "method": "synthetic_control"}


def test_synthetic_control_needs_donors_and_a_balanced_panel(folder):
    regions = pd.DataFrame(
        [
            {"region": f"r{u:02d}", "week": w, "sales": float((u * 7 + w * 3) % 11)}
            for u in range(21)
            for w in range(10)
        ]
    )
    regions.to_csv(folder / "data" / "regions.csv", index=False)
    sc = with_data(
        SYNTHETIC_CONTROL,
        path="data/regions.csv",
        unit="region",
        time="week",
        treatment_start=6,
        treated_units=["r00"],
    )
    assert preflight(config(folder, sc)) == []
    regions.iloc[1:].to_csv(folder / "data" / "gappy.csv", index=False)
    found = problems(
        folder,
        with_data(sc, treated_units=["r00", "r01", "r02"]),
        with_data(sc, path="data/gappy.csv"),
    )
    assert found == [
        "initiatives[0].data.treated_units: data/regions.csv has 18 control (donor) units; "
        "synthetic control's placebo inference needs at least 19",
        "initiatives[1].data.time: data/gappy.csv is unbalanced (1 unit-period rows missing); "
        "synthetic control needs every unit in every period",
    ]
