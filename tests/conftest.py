"""Fixtures: a fresh Dagster instance per test and an isolated config path."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from pathlib import Path

import dagster as dg
import pytest

from impact_assets.config import CONFIG_ENV_VAR


@pytest.fixture
def instance(tmp_path):
    """A real, persistent (SQLite) Dagster instance in a temporary folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance


@pytest.fixture(autouse=True)
def _isolated_config_env(monkeypatch):
    """No test inherits another's config path."""
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)


# --- nothing left running -------------------------------------------------------------------
#
# Every process a test starts inherits this marker in its environment; when the session
# ends, any process still carrying it (other than pytest and the helpers multiprocessing
# keeps for pytest's own lifetime) was left behind: it is killed, named, and the session
# fails.

SESSION_MARKER = "IMPACT_TEST_SESSION"
_PYTEST_HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def pytest_configure(config):
    os.environ.setdefault(SESSION_MARKER, f"{os.getpid()}-{uuid.uuid4().hex}")


def _marked_processes(marker: str) -> dict[int, str]:
    found: dict[int, str] = {}
    needle = f"{SESSION_MARKER}={marker}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # ended while being read, or not ours to read
        if state == "Z" or any(helper in command for helper in _PYTEST_HELPERS):
            continue
        found[pid] = command.strip()
    return found


def pytest_sessionfinish(session, exitstatus):
    marker = os.environ.get(SESSION_MARKER)
    if not marker or not Path("/proc").is_dir():
        return
    leftovers = _marked_processes(marker)
    if not leftovers:
        return
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    lines = "\n".join(f"  {pid}: {command[:160]}" for pid, command in sorted(leftovers.items()))
    message = f"{len(leftovers)} process(es) started by the tests were still running:\n{lines}"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
