"""Reliability and safety: bad input, faults, concurrent and killed loops; nothing lost or run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from helpers import (
    PROJECT_ROOT,
    RUN_ONCE,
    cli_output_json,
    portfolio,
    run_cli,
    run_loop,
    stored_allocation,
    stored_pilots,
    stored_report,
    stored_scales,
    write_config,
)

from impact_assets import cli
from impact_assets.components import register_component, unregister_component
from impact_assets.components.allocate.mock import MockAllocate
from impact_assets.components.base import TransientComponentError
from impact_assets.components.measure.mock import MockMeasure
from impact_assets.config import CONFIG_ENV_VAR, ConfigError, load_config
from impact_assets.contracts import RecordStatus
from impact_assets.contracts.codec import decode
from impact_assets.files import write_atomically
from impact_assets.lib.io_manager import LOOPS_FOLDER, STORAGE_FOLDER
from impact_assets.loop.execution import RETRY_ATTEMPTS

IDS = ["init-001", "init-002", "init-003"]

# --- bad configurations: exit 2, one line per problem, never a traceback ----------------------

UNITS = 40
PANEL_UNITS, PANEL_MONTHS = 32, 4


def write_data_files(folder: Path) -> None:
    """Small data files in ``folder``: an experiment and a store-by-month panel."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["basket,arm,arm3,spend"]
    rows += [f"{1 + (i % 7) / 10},{i % 2},{i % 3},{i / 10}" for i in range(UNITS)]
    (folder / "experiment.csv").write_text("\n".join(rows) + "\n")
    rows = ["store,month,all_treated,none_treated,sales"]
    rows += [
        f"s{unit},{month},1,0,{unit + month}"
        for unit in range(PANEL_UNITS)
        for month in range(PANEL_MONTHS)
    ]
    (folder / "panel.csv").write_text("\n".join(rows) + "\n")


def measured(method: str = "experiment", **data: Any) -> dict[str, Any]:
    """A one-initiative config for the statistical MEASURE on file data in ``data/``."""
    spec = {"source": "file", "path": "data/experiment.csv", "outcome": "basket"}
    if method == "experiment":
        spec["treatment"] = "arm"
    spec.update(data)
    initiative = {"initiative_id": "a", "cost_to_scale": 1, "method": method, "data": spec}
    return portfolio(measure={"component": "statistical"}, initiatives=[initiative])


def panel(**data: Any) -> dict[str, Any]:
    spec = {"path": "data/panel.csv", "outcome": "sales", "unit": "store", "time": "month"}
    return measured("difference_in_differences", treatment_start=2, **{**spec, **data})


def one(**initiative: Any) -> dict[str, Any]:
    return portfolio(initiatives=[{"initiative_id": "a", "cost_to_scale": 1, **initiative}])


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in portfolio().items() if k != key}


BAD_CONFIGS = [
    pytest.param(without("budget"), ["budget: is required (a number >= 0)"], id="missing-budget"),
    pytest.param(
        portfolio(budget="lots"), ["budget: must be a number (got 'lots')"], id="text-budget"
    ),
    pytest.param(
        "budget: yes\ninitiatives: [{initiative_id: a, cost_to_scale: 1}]\n",
        ["budget: must be a number, not a boolean (got True)"],
        id="boolean-budget",
    ),
    pytest.param(
        one(cost_to_scale=-5), ["initiatives[0].cost_to_scale: must be > 0 (got -5)"], id="neg-cost"
    ),
    pytest.param(
        one(cost_to_scale=0), ["initiatives[0].cost_to_scale: must be > 0 (got 0)"], id="zero-cost"
    ),
    pytest.param(
        "budget: 1\ninitiatives: [{initiative_id: a, cost_to_scale: .inf}]\n",
        ["initiatives[0].cost_to_scale: must be a finite number (got inf)"],
        id="infinite-cost",
    ),
    pytest.param(
        portfolio(initiatives=[{"initiative_id": "a"}]),
        ["initiatives[0].cost_to_scale: is required (a number > 0)"],
        id="missing-cost",
    ),
    pytest.param(
        portfolio(
            initiatives=[
                {"initiative_id": "a", "cost_to_scale": 1},
                {"initiative_id": "a", "cost_to_scale": 2},
            ]
        ),
        ["initiatives[1].initiative_id: duplicate of initiatives[0] ('a'); ids must be unique"],
        id="duplicate-ids",
    ),
    pytest.param(
        portfolio(
            initiatives=[
                {"initiative_id": "a/b", "cost_to_scale": 1},
                {"initiative_id": "new pricing", "cost_to_scale": 1},
            ]
        ),
        [
            "initiatives[0].initiative_id: must match [A-Za-z0-9_-]+ (got 'a/b')",
            "initiatives[1].initiative_id: must match [A-Za-z0-9_-]+ (got 'new pricing')",
        ],
        id="id-characters",
    ),
    pytest.param(
        portfolio(allocate={"component": "magic"}),
        [
            "allocate.component: unknown allocate component 'magic'; "
            "choose one of bayesian, expected_return, minimax_regret, mock"
        ],
        id="unknown-component",
    ),
    pytest.param(
        portfolio(measure={"component": "os:system"}),
        ["measure.component: unknown measure component 'os:system'; choose one of mock"],
        id="component-as-import-path",
    ),
    pytest.param(
        portfolio(evaluate={"component": "impact_assets.components.evaluate.mock.MockEvaluate"}),
        ["evaluate.component: unknown evaluate component 'impact_assets.components"],
        id="component-as-dotted-name",
    ),
    pytest.param(
        one(method="vibes"),
        [
            "initiatives[0].method: must be one of 'experiment', 'difference_in_differences', "
            "'interrupted_time_series', 'observational' or 'synthetic_control' (got 'vibes')"
        ],
        id="unknown-method",
    ),
    pytest.param(
        measured(method=None),
        ["initiatives[0].method: required by the statistical measure (one of experiment,"],
        id="statistical-without-method",
    ),
    pytest.param(
        measured(treatment=None),
        ["initiatives[0].data.treatment: required for method experiment"],
        id="experiment-keys-missing",
    ),
    pytest.param(
        panel(),
        [
            "initiatives[0].data: method difference_in_differences needs exactly one of "
            "treated_units (list of unit values) or treated (0/1 column)"
        ],
        id="did-keys-missing",
    ),
    pytest.param(
        measured(path="data/nope.csv"),
        ["initiatives[0].data.path: file not found: data/nope.csv (looked for "],
        id="data-file-missing",
    ),
    pytest.param(
        measured(outcome="revenue"),
        [
            "initiatives[0].data.outcome: column 'revenue' not in data/experiment.csv "
            "(columns: basket, arm, arm3, spend)"
        ],
        id="column-missing",
    ),
    pytest.param(
        measured(treatment="arm3"),
        [
            "initiatives[0].data.treatment: column 'arm3' in data/experiment.csv must be 0/1 "
            "(found values: 0, 1, 2)"
        ],
        id="treatment-not-binary",
    ),
    pytest.param(
        panel(treated="none_treated"),
        [
            "initiatives[0].data.treated: column 'none_treated' in data/panel.csv must contain "
            "both 0 and 1; found only 0: DiD needs treated and control units"
        ],
        id="did-no-treated-units",
    ),
    pytest.param(
        panel(treated="all_treated"),
        ["initiatives[0].data.treated: column 'all_treated' in data/panel.csv must contain both"],
        id="did-no-control-units",
    ),
    pytest.param(
        panel(treated_units=[f"s{unit}" for unit in range(PANEL_UNITS)]),
        [
            "initiatives[0].data.treated_units: every unit in data/panel.csv is listed as "
            "treated; DiD needs control units"
        ],
        id="did-all-listed-treated",
    ),
    pytest.param(
        portfolio(
            scale_sample_size=100,
            initiatives=[
                {
                    "initiative_id": "a",
                    "cost_to_scale": 1,
                    "data": {"source": "simulated", "pilot_sample_size": 400},
                }
            ],
        ),
        [
            "initiatives[0].data.pilot_sample_size: 400 exceeds scale_sample_size 100; "
            "the scale sample must be the larger"
        ],
        id="scale-below-pilot",
    ),
    pytest.param("budget: [1, 2\n", ["YAML syntax error at line 2, column 1: "], id="yaml-syntax"),
    pytest.param(
        "budget: 1\ninitiatives: [{initiative_id: a, cost_to_scale: 1}]\nbudget: 2\n",
        ["YAML syntax error at line 3, column 1: duplicate key 'budget' (first given on line 1)"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        "- just\n- a list\n",
        ["the config must be a mapping of keys to values, got a list"],
        id="not-a-mapping",
    ),
    pytest.param("", ["the config must be a mapping of keys to values, got empty"], id="empty"),
    pytest.param(None, ["config file not found: "], id="missing-config-file"),
]


@pytest.mark.parametrize(("config", "expected"), BAD_CONFIGS)
def test_bad_config_exits_2_with_one_line_per_problem(tmp_path, config, expected):
    folder = tmp_path / "configs"
    write_data_files(folder / "data")
    config_path = folder / "config.yaml"
    if config is not None:
        write_config(folder, config)

    completed = run_cli("--config", str(config_path), dagster_home=tmp_path / "home")

    assert completed.returncode == 2, (completed.stdout, completed.stderr)
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stdout == ""
    header, *problems = completed.stderr.splitlines()
    assert header == f"error: invalid config {config_path}:"
    assert len(problems) == len(expected), problems
    for fragment in expected:
        assert sum(fragment in line for line in problems) == 1, (fragment, problems)
    assert all(line.startswith("  ") and line.strip() for line in problems)
    assert not (tmp_path / "home").exists()  # nothing ran


def test_python_tags_are_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    config_path = write_config(
        tmp_path,
        "budget: !!python/object/apply:os.system ['touch " + str(marker) + "']\n"
        "initiatives: !!python/object/new:subprocess.Popen [['touch', '" + str(marker) + "']]\n",
    )
    completed = run_cli("--config", str(config_path), dagster_home=tmp_path / "home")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stdout + completed.stderr
    problems = completed.stderr.splitlines()[1:]
    assert len(problems) == 1
    assert problems[0].startswith("  refused YAML tag (line 1): ")
    assert "the config is data, not code" in problems[0]
    assert not marker.exists()


def test_data_paths_resolve_against_the_config_file_not_the_working_directory(
    tmp_path, monkeypatch
):
    folder = tmp_path / "portfolio"
    write_data_files(folder / "data")
    config_path = write_config(folder, measured())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert load_config(config_path).initiative_ids == ["a"]

    (folder / "data" / "experiment.csv").unlink()
    with pytest.raises(ConfigError) as caught:
        load_config(config_path)
    looked_for = (folder / "data" / "experiment.csv").resolve()
    assert caught.value.problems == [
        f"initiatives[0].data.path: file not found: data/experiment.csv (looked for {looked_for})"
    ]


# --- faults in one initiative: a failed record, the rest kept, retries around one call --------


class _FaultyMeasure(MockMeasure):
    """The mock MEASURE with faults chosen per test: ``faults[(initiative, stage)]``.

    A fault is ``(exception, times)``: raise ``exception`` on the first ``times``
    calls for that initiative and stage (``None``: every call). Calls are counted.
    """

    faults: dict[tuple[str, str], tuple[Exception, int | None]] = {}
    calls: Counter = Counter()
    _lock = threading.Lock()

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        key = (event["initiative_id"], event["stage"])
        with self._lock:
            self.calls[key] += 1
            count = self.calls[key]
        fault = self.faults.get(key)
        if fault is not None and (fault[1] is None or count <= fault[1]):
            raise fault[0]
        return super().execute(event, context)


@pytest.fixture
def faulty_measure():
    register_component("measure", "faulty_for_test", _FaultyMeasure)
    _FaultyMeasure.faults, _FaultyMeasure.calls = {}, Counter()
    yield _FaultyMeasure
    unregister_component("measure", "faulty_for_test")


def test_transient_errors_retry_the_single_call_and_deterministic_ones_do_not(
    faulty_measure, instance, tmp_path, monkeypatch
):
    faulty_measure.faults = {
        ("init-001", "pilot"): (TransientComponentError("data source timed out"), 2),
        ("init-002", "pilot"): (RuntimeError("singular design matrix"), None),
        ("init-003", "pilot"): (TransientComponentError("data source unreachable"), None),
    }
    config_path = write_config(tmp_path, portfolio(measure={"component": "faulty_for_test"}))

    outcome = run_loop(instance, config_path, monkeypatch=monkeypatch)

    assert outcome.success, outcome.step_failures  # one initiative's failure is not the run's
    calls = faulty_measure.calls
    assert calls["init-001", "pilot"] == 3  # two transient failures, then success
    assert calls["init-002", "pilot"] == 1  # deterministic: never retried
    assert calls["init-003", "pilot"] == RETRY_ATTEMPTS
    pilots = stored_pilots(instance, IDS)
    assert pilots["init-001"].status is RecordStatus.MEASURED
    assert (pilots["init-002"].status, pilots["init-002"].cause) == (
        RecordStatus.FAILED,
        "RuntimeError: singular design matrix",
    )
    assert (pilots["init-003"].status, pilots["init-003"].cause) == (
        RecordStatus.FAILED,
        "TransientComponentError: data source unreachable",
    )

    allocation = stored_allocation(instance)
    assert allocation.selected_initiatives == ["init-001"]
    assert "singular design matrix" in allocation.excluded["init-002"]
    assert "data source unreachable" in allocation.excluded["init-003"]
    scales = stored_scales(instance, IDS)
    assert scales["init-001"].status is RecordStatus.SCALED
    assert calls["init-002", "scale"] == calls["init-003", "scale"] == 0
    assert stored_report(instance).summary.failed == {
        "init-002": "RuntimeError: singular design matrix",
        "init-003": "TransientComponentError: data source unreachable",
    }
    # the retries wrapped the component call: each step started once
    starts = instance.all_logs(outcome.run_id, of_type=dg.DagsterEventType.STEP_START)
    steps = Counter(record.step_key for record in starts)
    assert steps["pilot_results"] == 1 and max(steps.values()) == 1


def test_failed_initiatives_exit_1_and_a_rerun_after_the_fix_recomputes_them(
    faulty_measure, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(CONFIG_ENV_VAR, "")
    faulty_measure.faults = {
        ("init-002", "pilot"): (RuntimeError("singular design matrix"), None),
        ("init-001", "scale"): (ValueError("degenerate sample: no variation in outcome"), None),
    }
    config_path = write_config(tmp_path, portfolio(measure={"component": "faulty_for_test"}))
    first, second = tmp_path / "first.json", tmp_path / "second.json"

    status = cli.main(["--config", str(config_path), "--output-json", str(first), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert "2 initiative(s) failed:" in err
    assert "init-002 (pilot): RuntimeError: singular design matrix" in err
    assert "init-001 (scale): ValueError: degenerate sample: no variation in outcome" in err
    assert "Traceback" not in err
    document = json.loads(first.read_text())
    assert [r["initiative_id"] for r in document["pilot_results"]] == ["init-001", "init-003"]
    assert "singular design matrix" in document["allocate_result"]["excluded"]["init-002"]
    assert {r["initiative_id"] for r in document["outcome_reports"]} == {"init-003"}

    faulty_measure.faults = {}  # the fix
    status = cli.main(
        ["--config", str(config_path), "--output-json", str(second), "--quiet", "--loop-id",
         "29990101T000000Z-rerun000"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    document = json.loads(second.read_text())
    assert document["failures"] == []
    assert [r["initiative_id"] for r in document["pilot_results"]] == IDS
    assert {r["initiative_id"] for r in document["outcome_reports"]} == set(IDS)
    assert document["summary"]["failed"] == {} and document["summary"]["stale"] == []
    assert document["allocate_result"]["excluded"] == {}
    records = [r for key in ("pilot_results", "evaluate_results", "outcome_reports")
               for r in document[key]]  # fmt: skip
    assert {r["loop_id"] for r in records} == {"29990101T000000Z-rerun000"}


class _BrokenAllocate(MockAllocate):
    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        raise RuntimeError("solver crashed")


def test_a_failed_stage_exits_1_naming_the_step_without_a_traceback(tmp_path, monkeypatch, capsys):
    register_component("allocate", "broken_for_test", _BrokenAllocate)
    try:
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
        monkeypatch.setenv(CONFIG_ENV_VAR, "")
        config_path = write_config(tmp_path, portfolio(allocate={"component": "broken_for_test"}))
        status = cli.main(["--config", str(config_path), "--quiet"])
    finally:
        unregister_component("allocate", "broken_for_test")
    err = capsys.readouterr().err
    assert status == 1
    assert "allocation: " in err and "solver crashed" in err
    assert "Traceback" not in err


# --- durability and concurrency ----------------------------------------------------------------

LOOP_ID = "20260101T000000Z-reliable"


def normalised(document: dict[str, Any]) -> str:
    """The output document with its loop id replaced, to compare loops with each other."""
    return json.dumps(document, sort_keys=True).replace(document["loop_id"], "<loop>")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """A config and the output of one uninterrupted loop on a fresh instance."""
    folder = tmp_path_factory.mktemp("reference")
    config_path = write_config(folder, portfolio(budget=30000))
    output = folder / "out.json"
    completed = run_cli(
        "--config", str(config_path), "--output-json", str(output), "--loop-id", LOOP_ID,
        dagster_home=folder / "home",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return config_path, json.loads(output.read_text())


def start_cli(*args: str, dagster_home: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    env.pop(CONFIG_ENV_VAR, None)
    return subprocess.Popen(
        [sys.executable, str(RUN_ONCE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )


def stored_files(home: Path) -> list[Path]:
    """The assets' latest values (not the files that keep each loop's values)."""
    root = home / "storage" / STORAGE_FOLDER
    return sorted(p for p in root.rglob("*.json") if p.parent != root / LOOPS_FOLDER)


def test_write_atomically_keeps_the_old_value_when_a_write_dies(tmp_path, monkeypatch):
    path = tmp_path / "allocation.json"
    write_atomically(path, '{"old": true}')

    def crash(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, '{"new": ' + "1" * 100_000)
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["allocation.json"]  # no temporary left


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_loop_killed_midway_reruns_to_the_same_results(tmp_path, reference):
    config_path, expected = reference
    home = tmp_path / "home"
    output = tmp_path / "out.json"
    args = ("--config", str(config_path), "--output-json", str(output), "--loop-id", LOOP_ID)

    process = start_cli(*args, dagster_home=home)
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "[1/5]" in line or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not output.exists()
    for path in stored_files(home):  # whatever was written is whole
        decode(path.read_text(encoding="utf-8"))

    completed = run_cli(*args, dagster_home=home)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(output.read_text()) == expected
    assert len(expected["pilot_results"]) == len(IDS) and expected["outcome_reports"]

    # the killed process's run no longer shows as in progress (its worker was stopped with
    # the daemon started for it, and said so, or the rerun marked it); the rerun succeeded
    with dg.DagsterInstance.from_config(str(home)) as instance:
        statuses = sorted(run.status.value for run in instance.get_runs())
    assert statuses == ["FAILURE", "SUCCESS"]


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_stops_the_loop_says_so_and_marks_its_run_failed(tmp_path, reference):
    config_path, expected = reference
    home = tmp_path / "home"
    process = start_cli("--config", str(config_path), "--loop-id", LOOP_ID, dagster_home=home)
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "[1/5]" in line or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert "interrupted (Ctrl-C): the run stopped here and is marked failed" in stderr
    assert "Traceback" not in stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.FAILURE]
    # and the next loop runs, its output as if nothing had happened
    output = tmp_path / "out.json"
    args = ("--config", str(config_path), "--output-json", str(output), "--loop-id", LOOP_ID)
    assert run_cli(*args, dagster_home=home).returncode == 0
    assert json.loads(output.read_text()) == expected


def test_two_loops_at_once_on_one_instance_take_turns(tmp_path, reference, monkeypatch):
    config_path, expected = reference
    home = tmp_path / "home"
    loop_ids = ["20260101T000001Z-loopaaaa", "20260101T000002Z-loopbbbb"]
    processes = [
        start_cli(
            "--config",
            str(config_path),
            "--output-json",
            str(tmp_path / f"{loop_id}.json"),
            "--loop-id",
            loop_id,
            "--quiet",
            dagster_home=home,
        )  # fmt: skip
        for loop_id in loop_ids
    ]
    results = [process.communicate(timeout=300) for process in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records()
        assert sorted(r.dagster_run.tags["impact/loop_id"] for r in records) == loop_ids
        assert all(r.dagster_run.status is dg.DagsterRunStatus.SUCCESS for r in records)
        spans = sorted((r.start_time, r.dagster_run.tags["impact/loop_id"]) for r in records)
    (_, first), (_, second) = spans

    documents = {
        loop_id: json.loads((tmp_path / f"{loop_id}.json").read_text()) for loop_id in loop_ids
    }
    for loop_id, document in documents.items():
        assert document["loop_id"] == loop_id
        assert document["allocate_result"]["loop_id"] == loop_id
    # the first is a loop on a fresh instance; the second learnt from the whole first
    # loop, as the same two loops run one after the other would: complete, not mixed
    assert normalised(documents[first]) == normalised(expected)
    sequential = tmp_path / "sequential"
    cli_output_json(config_path, first, sequential)
    after_first = json.loads(cli_output_json(config_path, second, sequential))
    assert normalised(documents[second]) == normalised(after_first)
    assert normalised(documents[second]) != normalised(expected)  # it did learn

    stored = {decode(path.read_text(encoding="utf-8")).loop_id for path in stored_files(home)}
    assert stored == {second}  # the last loop's values, whole
    kept = sorted(
        path.name for path in (home / "storage" / STORAGE_FOLDER / LOOPS_FOLDER).iterdir()
    )
    assert kept == sorted([f"{first}.json", f"{second}.json"])  # and each loop's, whole
