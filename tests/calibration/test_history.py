"""The history: append-only by loop, one record per initiative in a fit, and the history file."""

from __future__ import annotations

import pandas as pd
import pytest

from impact_assets.calibration.history import merge_history, records_for_fit
from impact_assets.calibration.history_file import HistoryFileError, read_history_file
from impact_assets.config import ConfigError, parse_config
from impact_assets.contracts import CalibrationHistory, CalibrationRecord, ModelType
from impact_assets.contracts.calibration import SOURCE_FILE
from impact_assets.contracts.codec import decode, encode


def record(initiative_id: str, loop_id: str, scaled: bool = False, **fields) -> CalibrationRecord:
    values = {
        "method": "experiment",
        "model_type": ModelType.EXPERIMENT,
        "value_per_unit": 10.0,
        "pilot_estimate": 0.3,
        "pilot_se": 0.1,
        "selected": scaled,
        "scale_estimate": 0.25 if scaled else None,
        "scale_se": 0.02 if scaled else None,
        **fields,
    }
    return CalibrationRecord(initiative_id=initiative_id, loop_id=loop_id, **values)


def test_a_loop_seen_again_replaces_its_records_and_never_adds_to_them():
    first = [record("a", "L1", scaled=True), record("b", "L1")]
    history = merge_history(None, first, None, None, "L2")
    assert len(history.records) == 2 and history.loop_ids == ["L1"]
    again = merge_history(history, first, None, None, "L3")  # the same loop, read again
    assert again.records == history.records
    completed = [record("a", "L1", scaled=True), record("b", "L1", scaled=True)]
    updated = merge_history(again, completed, None, None, "L3")  # scale data arrived later
    assert len(updated.pairs) == 2 and len(updated.records) == 2
    grown = merge_history(updated, [record("c", "L2", scaled=True)], None, None, "L4")
    assert grown.loop_ids == ["L1", "L2"] and len(grown.records) == 3
    assert decode(encode(grown)) == grown  # stored as JSON and read back unchanged


def test_the_history_file_rows_follow_the_current_file():
    file_rows = [record("old-1", "2019", scaled=True, source=SOURCE_FILE)]
    history = merge_history(None, [record("a", "L1")], file_rows, "past.csv", "L2")
    assert [r.source for r in history.records] == ["history_file", "loop"]
    newer = [record("old-2", "2019", scaled=True, source=SOURCE_FILE)]
    history = merge_history(history, None, newer, "past.csv", "L3")
    assert [r.initiative_id for r in history.records] == ["old-2", "a"]
    history = merge_history(history, None, None, None, "L4")  # the config dropped the file
    assert [r.initiative_id for r in history.records] == ["a"]


def test_a_fit_uses_one_record_per_initiative_and_keeps_file_rows_out_of_the_prior():
    history = CalibrationHistory(
        [
            record("kept", "L1", scaled=True, scale_estimate=0.1),
            record("kept", "L2"),  # piloted again, not scaled: the L1 pair is its evidence
            record("newest", "L1"),
            record("newest", "L3"),
            record("current", "L1", scaled=True),
            record("from-file", "2019", scaled=True, source=SOURCE_FILE),
        ]
    )
    prior_records, pairs = records_for_fit(history, {"current"})
    assert [(r.initiative_id, r.loop_id) for r in prior_records] == [
        ("kept", "L1"),
        ("newest", "L3"),
    ]
    assert [(r.initiative_id, r.loop_id) for r in pairs] == [
        ("current", "L1"),
        ("kept", "L1"),
        ("from-file", "2019"),
    ]


def test_a_fit_for_a_loop_leaves_out_that_loop_s_own_records():
    """A loop run again is calibrated as its first run was, not on its own scale results."""
    history = CalibrationHistory(
        [
            record("a", "L1", scaled=True),
            record("b", "L2", scaled=True),
            record("c", "L2"),
        ]
    )
    prior_records, pairs = records_for_fit(history, set(), "L2")
    assert [(r.initiative_id, r.loop_id) for r in prior_records] == [("a", "L1")]
    assert [(r.initiative_id, r.loop_id) for r in pairs] == [("a", "L1")]
    _, all_pairs = records_for_fit(history, set())
    assert len(all_pairs) == 2


def test_a_history_names_a_duplicate_record():
    with pytest.raises(ValueError, match="a appears twice for loop L1"):
        CalibrationHistory([record("a", "L1"), record("a", "L1", scaled=True)])


# -- the history file -----------------------------------------------------------------------

GOOD_ROWS = pd.DataFrame(
    {
        "initiative_id": ["checkout", "search", "pricing"],
        "method": ["experiment", "observational", "interrupted_time_series"],
        "pilot_estimate": [0.31, 0.12, 0.4],
        "pilot_se": [0.08, 0.05, 0.2],
        "scale_estimate": [0.27, 0.09, 0.18],
        "scale_se": [0.02, 0.02, 0.05],
        "value_per_unit": [50_000, 80_000, 20_000],
        "loop_id": ["2024Q1", "2024Q1", "2024Q2"],
    }
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_valid_history_file_becomes_file_records(tmp_path, suffix):
    path = tmp_path / f"history{suffix}"
    if suffix == ".csv":
        GOOD_ROWS.to_csv(path, index=False)
    else:
        GOOD_ROWS.to_parquet(path, index=False)
    records = read_history_file(path)
    assert [r.initiative_id for r in records] == ["checkout", "search", "pricing"]
    assert all(r.source == SOURCE_FILE and r.scaled and r.selected for r in records)
    assert records[2].model_type is ModelType.TIME_SERIES
    assert records[1].value_per_unit == 80_000
    assert records[0].pilot_failed_diagnostics == 0


def test_a_bad_history_file_names_every_bad_row(tmp_path):
    rows = GOOD_ROWS.copy()
    rows.loc[1, "pilot_se"] = -0.05
    rows.loc[2, "method"] = "a_b_test"
    rows = pd.concat([rows, rows.iloc[[0]]])  # checkout again in 2024Q1
    path = tmp_path / "history.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(HistoryFileError) as raised:
        read_history_file(path)
    assert raised.value.problems == [
        "row 2 (line 3): pilot_se must be > 0, got -0.05",
        "row 3 (line 4): method must be one of experiment, difference_in_differences, "
        "interrupted_time_series, observational, synthetic_control; got 'a_b_test'",
        "row 4 (line 5): initiative_id 'checkout' appears again for loop_id '2024Q1' "
        "(first in row 1)",
    ]


def test_missing_columns_and_files_are_named(tmp_path):
    path = tmp_path / "history.csv"
    GOOD_ROWS.drop(columns=["scale_se"]).to_csv(path, index=False)
    with pytest.raises(HistoryFileError, match="missing column\\(s\\): scale_se"):
        read_history_file(path)
    with pytest.raises(HistoryFileError, match="file not found"):
        read_history_file(tmp_path / "absent.csv")


def test_the_config_reports_a_bad_history_file_as_config_errors(tmp_path):
    rows = GOOD_ROWS.astype({"scale_estimate": object})
    rows.loc[0, "scale_estimate"] = "pending"
    (tmp_path / "history.csv").write_text(rows.to_csv(index=False))
    raw = {
        "budget": 100,
        "measure": {"component": "mock"},
        "calibration": {"history_file": "history.csv"},
        "initiatives": [{"initiative_id": "a", "cost_to_scale": 10}],
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(raw, source=tmp_path / "config.yaml")
    assert raised.value.problems == [
        "calibration.history_file: row 1 (line 2): scale_estimate must be a number, got 'pending'"
    ]
    raw["calibration"]["history_file"] = "history.txt"
    with pytest.raises(ConfigError, match="calibration.history_file: must name a .csv or .parquet"):
        parse_config(raw, source=tmp_path / "config.yaml")
