"""The instance the CLI creates: Dagster's own storage, a run queue, bounded open files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import dagster as dg
import yaml
from helpers import PROJECT_ROOT, open_instance, run_cli

from impact_assets.lib.keys import LOOP_ASSETS, LOOP_POOL

ASSETS = [key.to_user_string() for key in LOOP_ASSETS]


def test_a_new_cli_home_has_dagsters_storage_and_a_run_queue_for_one_loop(tmp_path):
    home = tmp_path / "home"
    completed = run_cli("--config", "examples/mock.yaml", "--quiet", dagster_home=home)
    assert completed.returncode == 0, completed.stderr

    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert "impact_assets" not in (home / "dagster.yaml").read_text()  # nothing of ours
    assert settings["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert settings["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    with open_instance(home) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        (run,) = instance.get_runs()
        assert run.status is dg.DagsterRunStatus.SUCCESS
        # the run queue counts it against the loop's pool
        assert run.run_op_concurrency.all_pools == {LOOP_POOL}
        records = instance.get_asset_records([dg.AssetKey(name) for name in ASSETS])
        assert {r.asset_entry.asset_key.path[0] for r in records} == set(ASSETS)
        assert all(r.asset_entry.last_materialization is not None for r in records)


READ_MANY_LOGS = textwrap.dedent(
    """
    import os, sys
    import dagster as dg

    def open_files():
        return len(os.listdir("/proc/self/fd"))

    with dg.DagsterInstance.get() as instance:
        run_ids = [run.run_id for run in instance.get_runs()]
        before = open_files()
        events = sum(len(instance.all_logs(run_id)) for run_id in run_ids)
        after = open_files()
    print(len(run_ids), events, before, after)
    """
)


def test_reading_300_runs_event_logs_keeps_open_files_bounded(tmp_path):
    # Many runs' event logs in one long-lived process (the webserver, the daemon) must
    # not hold a database connection per run.
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    @dg.op
    def noop():
        return None

    @dg.job
    def tiny():
        noop()

    with open_instance(home) as instance:
        for index in range(300):
            run = instance.create_run_for_job(tiny)
            instance.report_engine_event(f"event {index}", run)
    reader = subprocess.run(
        [sys.executable, "-c", READ_MANY_LOGS],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert reader.returncode == 0, reader.stderr
    runs, events, before, after = map(int, reader.stdout.split())
    assert runs == 300 and events >= 300
    # A connection kept per run database would add about 300 (measured: 9 -> 609).
    assert after - before < 20, (before, after)
