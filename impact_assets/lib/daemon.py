"""The Dagster daemon that dequeues loop runs: the instance's own, or one started for a loop.

A queued run starts only when a daemon serves the instance (``dagster dev``, a
deployment, or ``scripts/cluster.py``). When none does, the CLI starts
``dagster-daemon run`` for the length of its loop, under a guard process
(:mod:`impact_assets.lib.daemon_guard`) that stops it, and everything it
started, when the CLI ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from impact_assets.config import PROJECT_ROOT

# The daemon type that dequeues runs, as Dagster names it in its heartbeats.
QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
GUARD_STOP_SECONDS = 30
# Twice the daemons' heartbeat interval, and a little more.
HEARTBEAT_FRESH_SECONDS = 65


def console_script(name: str) -> str:
    """A command of this Python environment (``dagster``, ``dagster-daemon``), by full path."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def queue_daemon_alive(instance: dg.DagsterInstance) -> bool:
    """Whether a daemon that dequeues runs has sent a heartbeat to this instance lately.

    Daemons send one every 30 s; Dagster's own "healthy" tolerates 30 minutes of
    silence, far too long to wait on a daemon that was stopped.
    """
    try:
        heartbeat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    except Exception:  # an instance that cannot say has no daemon we can count on
        return False
    return heartbeat is not None and time.time() - heartbeat.timestamp <= HEARTBEAT_FRESH_SECONDS


class LoopDaemon:
    """``dagster-daemon run`` on this project's workspace, owned by this process."""

    def __init__(self, dagster_home: Path, log_path: Path | None = None):
        self.dagster_home = Path(dagster_home)
        self.log_path = log_path or self.dagster_home / "loop-daemon.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> LoopDaemon:
        if self.process is not None:
            return self
        env = {**os.environ, "DAGSTER_HOME": str(self.dagster_home)}
        command = [
            sys.executable,
            "-m",
            "impact_assets.lib.daemon_guard",
            str(os.getpid()),
            "--",
            console_script("dagster-daemon"),
            "run",
            "-w",
            str(WORKSPACE_FILE),
        ]
        with open(self.log_path, "ab") as log:
            # its own session: a Ctrl-C meant for the CLI reaches the guard through stop()
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the daemon and everything it started; waits until they are gone."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=GUARD_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def daemon_for_loop(
    instance: dg.DagsterInstance, dagster_home: Path
) -> Iterator[LoopDaemon | None]:
    """The instance's own daemon (yields None), or one started here and stopped on exit."""
    if queue_daemon_alive(instance):
        yield None
        return
    daemon = LoopDaemon(dagster_home).start()
    try:
        yield daemon
    finally:
        daemon.stop()


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
