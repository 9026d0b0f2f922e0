"""Start ``dagster dev`` on this project, wait until it serves, and stop it cleanly.

``dagster dev`` started from a non-interactive shell ignores SIGTERM unless it
runs in its own process session, so it is started with ``start_new_session``
and stopped by signalling the whole session.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from impact_assets.config import CONFIG_ENV_VAR, PROJECT_ROOT

LOCALHOST = "127.0.0.1"


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
    ):
        self.dagster_home = Path(dagster_home)
        self.config_path = config_path
        self.port = port or free_port()
        self.log_path = log_path or self.dagster_home / "dagster-dev.log"
        self.process: subprocess.Popen | None = None
        self.ready_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self, timeout: float = 180) -> DagsterDevServer:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        settings = self.dagster_home / "dagster.yaml"
        if not settings.exists():
            settings.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        env = {**os.environ, "DAGSTER_HOME": str(self.dagster_home)}
        if self.config_path is not None:
            env[CONFIG_ENV_VAR] = str(self.config_path)
        command = [
            sys.executable, "-m", "dagster", "dev",
            "-w", str(PROJECT_ROOT / "workspace.yaml"),
            "-h", LOCALHOST, "-p", str(self.port),
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
        """SIGTERM the server's whole session, then SIGKILL if it lingers; return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
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
