"""MEASURE on a process pool (``measure.pool: processes``): same records, isolation kept.

The worker processes import the component by name, so the fault-injecting component
here lives at module level and decides its faults from the initiative id alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import PROJECT_ROOT, cli_output_json, write_config
from test_statistical_loop import mixed_portfolio

from impact_assets.components import register_component, unregister_component
from impact_assets.components.base import DataNotAvailable
from impact_assets.components.measure.mock import MockMeasure
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import AllocateResult, RecordStatus
from impact_assets.loop import stages
from impact_assets.loop.execution import process_fan_out

LOOP_ID = "20260101T000000Z-pool0000"


def _square_and_pid(value: int) -> tuple[int, int, str | None]:
    return value * value, os.getpid(), os.environ.get("OPENBLAS_NUM_THREADS")


def test_process_fan_out_keeps_the_order_and_runs_in_other_processes():
    results = process_fan_out(_square_and_pid, list(range(40)), max_workers=2)
    assert [square for square, _, _ in results] == [value * value for value in range(40)]
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2
    # one BLAS thread per worker process, unless the user set it
    assert {threads for _, _, threads in results} == {os.environ.get("OPENBLAS_NUM_THREADS", "1")}


def test_process_fan_out_with_one_worker_stays_in_this_process():
    results = process_fan_out(_square_and_pid, [1, 2, 3], max_workers=1)
    assert {pid for _, pid, _ in results} == {os.getpid()}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, not yet reaped


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_workers_exit_when_the_loop_process_is_killed(tmp_path):
    (tmp_path / "slow_work.py").write_text(
        textwrap.dedent(
            """
            import os, pathlib, time

            def work(folder):
                pathlib.Path(folder, str(os.getpid())).touch()
                time.sleep(120)
            """
        )
    )
    pids_folder = tmp_path / "pids"
    pids_folder.mkdir()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from slow_work import work; "
            "from impact_assets.loop.execution import process_fan_out; "
            "process_fan_out(work, [sys.argv[2]] * 4, max_workers=2)",
            str(tmp_path),
            str(pids_folder),
        ],
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(pids_folder.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(path.name) for path in pids_folder.iterdir()]
        assert len(workers) == 2, "the two workers did not start"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), "workers outlived the killed parent"
    finally:
        parent.kill()


class PidMeasure(MockMeasure):
    """The mock MEASURE, except that ids name their fault and the pid is recorded.

    ``raise-*``: a deterministic error; ``missing-*``: no data (every stage).
    """

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        initiative_id = event["initiative_id"]
        if initiative_id.startswith("raise-"):
            raise RuntimeError(f"singular design matrix in {initiative_id}")
        if initiative_id.startswith("missing-"):
            raise DataNotAvailable(f"no {event['stage']} data for {initiative_id} yet")
        result = super().execute(event, context)
        result["diagnostics"] = {**result.get("diagnostics", {}), "pid": os.getpid()}
        return result


@pytest.fixture
def pid_measure():
    register_component("measure", "pid_for_test", PidMeasure)
    yield
    unregister_component("measure", "pid_for_test")


def pool_config(pool: str, ids: list[str]) -> PortfolioConfig:
    return PortfolioConfig.model_validate(
        {
            "budget": 1e9,
            "max_workers": 2,
            "measure": {"component": "pid_for_test", "pool": pool},
            "initiatives": [{"initiative_id": i, "cost_to_scale": 1000} for i in ids],
        }
    )


def test_processes_isolate_each_initiative_like_threads(pid_measure):
    ids = [f"ok-{k}" for k in range(6)] + ["raise-a", "missing-b"]
    records = {
        pool: stages.measure_pilots(pool_config(pool, ids), ids, LOOP_ID)
        for pool in ("threads", "processes")
    }
    in_processes = records["processes"]
    assert list(in_processes) == ids
    assert {in_processes[i].status for i in ids[:6]} == {RecordStatus.MEASURED}
    assert (in_processes["raise-a"].status, in_processes["raise-a"].cause) == (
        RecordStatus.FAILED,
        "RuntimeError: singular design matrix in raise-a",
    )
    assert in_processes["missing-b"].status is RecordStatus.FAILED
    assert "no pilot data for missing-b yet" in in_processes["missing-b"].cause

    pids = {in_processes[i].result.diagnostics["pid"] for i in ids[:6]}
    assert os.getpid() not in pids
    thread_pids = {records["threads"][i].result.diagnostics["pid"] for i in ids[:6]}
    assert thread_pids == {os.getpid()}
    for initiative_id in ids:  # the same records but for the pid
        threads, processes = records["threads"][initiative_id], in_processes[initiative_id]
        assert (threads.status, threads.cause) == (processes.status, processes.cause)
        if threads.result is not None:
            assert threads.result.effect_estimate == processes.result.effect_estimate


def test_scale_on_processes_measures_exactly_the_selected(pid_measure):
    ids = ["ok-1", "ok-2", "ok-3", "missing-4", "raise-5"]
    config = pool_config("processes", ids)
    selected = ["ok-1", "ok-3", "missing-4", "raise-5"]
    allocation = AllocateResult.from_dict(
        {
            "selected_initiatives": selected,
            "predicted_returns": {i: 1.0 for i in selected},
            "budget_allocated": {i: 1000.0 for i in selected},
            "budget": 1e9,
            "rule": "mock",
            "status": "optimal",
            "loop_id": LOOP_ID,
        }
    )
    records = stages.measure_at_scale(config, allocation, ids, LOOP_ID)
    assert list(records) == ids
    assert {i: r.status for i, r in records.items()} == {
        "ok-1": RecordStatus.SCALED,
        "ok-2": RecordStatus.NOT_SELECTED,
        "ok-3": RecordStatus.SCALED,
        "missing-4": RecordStatus.AWAITING_DATA,
        "raise-5": RecordStatus.FAILED,
    }
    assert records["missing-4"].cause == "no scale data for missing-4 yet"
    assert os.getpid() not in {records[i].result.diagnostics["pid"] for i in ("ok-1", "ok-3")}


def test_a_component_workers_cannot_import_stays_on_threads(pid_measure):
    config = pool_config("processes", ["ok-1"])
    in_main = type("NotebookMeasure", (MockMeasure,), {"__module__": "__main__"})
    assert not stages._runs_in_processes(config, in_main())

    class LocalMeasure(MockMeasure):  # defined in a function: not importable by name
        pass

    assert not stages._runs_in_processes(config, LocalMeasure())
    assert stages._runs_in_processes(config, PidMeasure())


def test_run_once_gives_the_same_output_on_processes_as_on_threads(tmp_path):
    shutil.copytree(PROJECT_ROOT / "data", tmp_path / "data")
    documents = {}
    for pool in ("threads", "processes"):
        config = mixed_portfolio()
        config.update(max_workers=2, measure={"component": "statistical", "pool": pool})
        config_path = write_config(tmp_path, config, name=f"{pool}.yaml")
        documents[pool] = cli_output_json(config_path, LOOP_ID, tmp_path / f"home-{pool}")
    assert documents["threads"] == documents["processes"]
    document = json.loads(documents["processes"])
    assert len(document["pilot_results"]) == len(mixed_portfolio()["initiatives"])
    assert document["outcome_reports"]
