"""One loop at a time per instance, whoever launches it: the UI through Dagster's run queue,
the CLI in its own process; each loop's work ends before the next one's begins."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading

import dagster as dg
import pytest
from helpers import PROJECT_ROOT, RUN_ONCE, open_instance, skip_or_fail, work_spans

from impact_assets.config import CONFIG_ENV_VAR, load_config
from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.lib.partitions import partition_range_tags
from impact_assets.lib.turns import OWNER_TAG
from impact_assets.ui.server import DagsterDevServer

pytestmark = pytest.mark.live

CONFIG = PROJECT_ROOT / "config.yaml"


def test_a_cli_loop_and_a_ui_run_launched_together_do_not_overlap(tmp_path):
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    home = tmp_path / "home"
    tags = {
        **partition_range_tags(load_config(CONFIG).initiative_ids),
        LOOP_ID_TAG: "20260101T000000Z-fromui00",
    }
    with DagsterDevServer(home, config_path=CONFIG) as dev:
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
            runs = {run.run_id: run for run in instance.get_runs()}
            spans = work_spans(instance)
    assert len(runs) == 2 and launched["run_id"] in runs
    assert {run.status for run in runs.values()} == {dg.DagsterRunStatus.SUCCESS}
    (_, first_end), (second_start, _) = sorted(spans.values())
    assert first_end < second_start, "the two loops changed values at the same time"
    # the CLI ran its loop in its own process; the UI's went through the queue to a worker
    (cli_run,) = [run for run in runs.values() if run.run_id != launched["run_id"]]
    assert cli_run.tags[LOOP_ID_TAG] == "20260101T000000Z-fromcli0"
    assert cli_run.tags[OWNER_TAG].split("/")[1] == str(cli.pid)
    assert OWNER_TAG not in runs[launched["run_id"]].tags  # Dagster's run monitoring watches it
