"""One loop at a time per instance, enforced by Dagster's run queue, whoever launches it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading

import dagster as dg
import pytest
from helpers import PROJECT_ROOT, RUN_ONCE, open_instance, skip_or_fail

from impact_assets.config import CONFIG_ENV_VAR, load_config
from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.lib.partitions import partition_range_tags, sync_initiative_partitions
from impact_assets.lib.queue import DAEMON_TAG
from impact_assets.ui.server import DagsterDevServer

pytestmark = pytest.mark.live

CONFIG = PROJECT_ROOT / "config.yaml"


def intervals(instance: dg.DagsterInstance) -> dict[str, tuple[float, float, str]]:
    """Each run's (start, end, status), keyed by run id."""
    return {
        record.dagster_run.run_id: (record.start_time, record.end_time, record.dagster_run.status)
        for record in instance.get_run_records()
    }


def test_a_cli_loop_and_a_ui_run_launched_together_do_not_overlap(tmp_path):
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    home = tmp_path / "home"
    with DagsterDevServer(home, config_path=CONFIG) as dev:
        with open_instance(home) as instance:
            sync_initiative_partitions(instance, load_config(CONFIG).initiative_ids)
            tags = {**partition_range_tags(instance), LOOP_ID_TAG: "20260101T000000Z-fromui00"}
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        env.pop(CONFIG_ENV_VAR, None)
        cli = subprocess.Popen(
            [sys.executable, str(RUN_ONCE), "--config", str(CONFIG), "--quiet",
             "--loop-id", "20260101T000000Z-fromcli0"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        launched: dict[str, str] = {}
        ui = threading.Thread(target=lambda: launched.update(run_id=dev.launch_loop(tags)))
        ui.start()
        try:
            stdout, stderr = cli.communicate(timeout=600)
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()
        ui.join(timeout=120)
        assert cli.returncode == 0, stderr
        assert dev.wait_for_run(launched["run_id"]) == "SUCCESS"

        with open_instance(home) as instance:
            runs = intervals(instance)
            cli_runs = instance.get_runs(
                filters=dg.RunsFilter(tags={LOOP_ID_TAG: "20260101T000000Z-fromcli0"})
            )
    assert len(runs) == 2 and launched["run_id"] in runs
    assert [status for _, _, status in runs.values()] == [dg.DagsterRunStatus.SUCCESS] * 2
    (first_start, first_end, _), (second_start, second_end, _) = sorted(runs.values())
    assert first_end <= second_start, "the two loops were in progress at the same time"
    # The CLI saw the UI's daemon and queued its run there: the same mechanism.
    assert len(cli_runs) == 1 and DAEMON_TAG not in cli_runs[0].tags
