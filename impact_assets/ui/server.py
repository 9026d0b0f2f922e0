"""Start ``dagster dev`` on this project, wait until it serves, and stop it cleanly.

``dagster dev`` started from a non-interactive shell ignores SIGTERM unless it
runs in its own process session, so it is started with ``start_new_session``
and stopped by signalling every process of that session (its code servers may
sit in process groups of their own), waiting until none is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from impact_assets.config import CONFIG_ENV_VAR, PROJECT_ROOT
from impact_assets.lib.instance_settings import ensure_instance_settings

LOCALHOST = "127.0.0.1"
LOOP_JOB = {
    "repositoryLocationName": "impact_engine",
    "repositoryName": "__repository__",
    "jobName": "impact_loop",
}
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return probe.getsockname()[1]


class GraphQLError(RuntimeError):
    """The webserver answered a GraphQL request with errors."""


class DagsterDevServer:
    """``dagster dev -w workspace.yaml`` on 127.0.0.1 with a given DAGSTER_HOME and config."""

    def __init__(
        self,
        dagster_home: Path,
        config_path: Path | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        host: str | None = LOCALHOST,
    ):
        """``host=None`` leaves the address to ``dagster dev`` (its default)."""
        self.dagster_home = Path(dagster_home)
        self.host = host
        self.config_path = config_path
        self.port = port or free_port()
        self.log_path = log_path or self.dagster_home / "dagster-dev.log"
        self.process: subprocess.Popen | None = None
        self.ready_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self, timeout: float = 180) -> DagsterDevServer:
        """Start the server and wait until it answers; a server already started is kept."""
        if self.process is not None and self.process.poll() is None:
            return self
        # a new home gets the CLI's settings: the run queue that runs one loop at a time
        ensure_instance_settings(self.dagster_home)
        env = {**os.environ, "DAGSTER_HOME": str(self.dagster_home)}
        if self.config_path is not None:
            env[CONFIG_ENV_VAR] = str(self.config_path)
        command = [
            sys.executable, "-m", "dagster", "dev",
            "-w", str(PROJECT_ROOT / "workspace.yaml"),
            *(["-h", self.host] if self.host else []), "-p", str(self.port),
        ]  # fmt: skip
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as answer:
                    if answer.status == 200:
                        self.ready_seconds = time.monotonic() - started
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(
            f"dagster dev did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def stop(self, timeout: float = 30) -> int | None:
        """Stop the server and every process of its session; return its exit code.

        SIGTERM to the session's processes (the webserver, the daemon, code servers and
        run workers, whatever process group each chose), SIGKILL to what remains after
        ``timeout``; returns once none of them runs.
        """
        if self.process is None:
            return None
        session = self.process.pid
        for pid in session_processes(session):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while session_processes(session) and time.monotonic() < deadline:
            self.process.poll()  # reap the server itself once it exits
            time.sleep(0.2)
        for pid in session_processes(session):
            _signal(pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        while session_processes(session) and time.monotonic() < deadline + 10:
            time.sleep(0.1)  # killed children are reaped by init, a moment later
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> DagsterDevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a GraphQL query; return its ``data`` or raise :class:`GraphQLError`."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            payload = json.load(answer)
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"])[:2000])
        return payload["data"]

    def launch_loop(self, tags: dict[str, str]) -> str:
        """Launch ``impact_loop`` with ``tags``; return the run id."""
        params = {
            "selector": LOOP_JOB,
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            "runConfigData": {},
        }
        launched = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"impact_loop was not launched: {json.dumps(launched)[:2000]}")
        return launched["run"]["runId"]

    def wait_for_run(self, run_id: str, timeout: float = 300, poll: float = 0.5) -> str:
        """Wait until the run finishes; return its status (``SUCCESS``, ``FAILURE``, ...)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
            if status in FINISHED:
                return status
            time.sleep(poll)
        raise TimeoutError(f"run {run_id} still running after {timeout:.0f} s")

    def session_rss(self) -> int:
        """Resident memory, in bytes, of every process in the server's session (Linux /proc)."""
        if self.process is None:
            return 0
        return session_rss(self.process.pid)


def _session_entries(session_id: int):
    """``(pid, /proc entry)`` of every live process whose session id is ``session_id``."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp session ...
            if int(fields[3]) == session_id and fields[0] != "Z":
                yield int(entry.name), entry
        except (OSError, ValueError, IndexError):
            continue  # the process ended while being read


def session_processes(session_id: int) -> list[int]:
    """The live processes of a session (``dagster dev`` and everything it started)."""
    return [pid for pid, _ in _session_entries(session_id)]


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def session_rss(session_id: int) -> int:
    """Sum of the resident set sizes of the processes whose session id is ``session_id``.

    ``dagster dev`` runs the webserver, the daemon, a code server and one process
    per run; all share the session it was started in. Returns 0 without /proc.
    """
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    for _, entry in _session_entries(session_id):
        try:
            total += int((entry / "statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


class PeakMemory:
    """Sample a ``dagster dev`` session's resident memory in the background; keep the peak."""

    def __init__(self, server: DagsterDevServer, interval: float = 0.2):
        self.server = server
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.server.session_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self.server.session_rss())

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20
