"""``scripts/cluster.py`` fails clearly, and fast, when a server cannot start; nothing is left.

The full cluster is exercised by test_distributed.py; these cases stop before a
server starts, so they take seconds.
"""

from __future__ import annotations

import socket
import time

import pytest
from distributed_cluster import cluster_script, require_prerequisites

pytestmark = pytest.mark.distributed


@pytest.fixture
def folder(tmp_path):
    require_prerequisites()
    return tmp_path / "cluster"


def test_a_taken_port_is_named_and_nothing_starts(folder):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = cluster_script(folder, "up", "--pg-port", str(port))
    assert done.returncode == 1
    assert f"PostgreSQL: port {port} on 127.0.0.1 is taken" in done.stderr
    assert "--pg-port" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 60
    assert cluster_script(folder, "status").returncode == 3  # no cluster was recorded


def test_a_taken_scheduler_port_is_named_too(folder):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cluster_script(folder, "up", "--scheduler-port", str(port))
    assert done.returncode == 1
    assert f"the Dask scheduler: port {port} on 127.0.0.1 is taken" in done.stderr


def test_missing_postgresql_binaries_say_what_to_install(folder, tmp_path):
    empty = tmp_path / "no-postgres-here"
    empty.mkdir()
    done = cluster_script(folder, "up", env={"IMPACT_PG_BIN": str(empty)})
    assert done.returncode == 1
    assert "PostgreSQL server binaries (initdb, postgres) not found" in done.stderr
    assert "apt-get install postgresql" in done.stderr


def test_down_and_status_without_a_cluster(folder):
    down = cluster_script(folder, "down")
    assert down.returncode == 0 and "nothing to stop" in down.stdout
    status = cluster_script(folder, "status")
    assert status.returncode == 3 and "no cluster runs" in status.stdout


def test_a_server_just_started_is_running_not_taken_for_one_that_exited(tmp_path):
    """Between fork and exec a child's command line is its parent's: checked then, a
    starting server looked exited (about 4 starts in 100 here), ``up`` failed with
    "dask-scheduler exited" and an empty log, and the scheduler ran on, unrecorded.
    ``start`` returns once the child runs its own program: 100 starts in a row, each
    running when checked at once (without the wait, 0.96^100: under 2% pass)."""
    import shutil
    import sys
    from pathlib import Path

    from impact_assets.cluster.processes import start, stop

    sleep = shutil.which("sleep") or sys.executable
    command = [sleep, "60"] if sleep != sys.executable else [sleep, "-c", "input()"]
    for index in range(100):
        server = start(f"s{index}", command, tmp_path / "log", {}, Path(tmp_path))
        try:
            assert server.running, f"start {index}: taken for exited"
        finally:
            stop(server)
