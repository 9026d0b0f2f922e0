"""The Dagster daemon that dequeues loop runs: the instance's own, or one started for a loop.

A queued run starts only when a daemon serves the instance (``dagster dev``, a
deployment, or ``scripts/cluster.py``). When none does, the CLI starts
``dagster-daemon run`` for the length of its loop, under a guard process
(:mod:`impact_assets.lib.daemon_guard`) that stops it, and everything it
started, when the CLI ends, however it ends.

One such daemon per home at a time: a lock file in ``DAGSTER_HOME`` says a
loop's daemon is running, and its owner keeps it until the run queue is empty,
so the runs other loops queued meanwhile are started and finished by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from impact_assets.config import PROJECT_ROOT
from impact_assets.lib.instance_settings import dagster_environment

try:
    import fcntl
except ImportError:  # Windows: no lock; a second loop there starts a second daemon
    fcntl = None

# The daemon type that dequeues runs, as Dagster names it in its heartbeats.
QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
GUARD_STOP_SECONDS = 30
# Twice the daemons' heartbeat interval, and a little more.
HEARTBEAT_FRESH_SECONDS = 65
LOCK_FILE = "loop-daemon.lock"
# How long the daemon waits for queued runs that nothing of its own runs ahead of.
QUEUE_PATIENCE_SECONDS = 60
# The tag Dagster puts on a run launched through a code server: its gRPC address.
GRPC_INFO_TAG = ".dagster/grpc_info"
RECORD_FILE = "loop-daemon.json"
QUEUED = dg.DagsterRunStatus.QUEUED
UNFINISHED = [
    QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def console_script(name: str) -> str:
    """A command of this Python environment (``dagster``, ``dagster-daemon``), by full path."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def _last_loop_daemon_stop(home: Path | None) -> float:
    if home is None:
        return 0.0
    try:
        return float(json.loads((home / RECORD_FILE).read_text())["stopped_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def queue_daemon_alive(instance: dg.DagsterInstance, home: Path | None = None) -> bool:
    """Whether a daemon that dequeues runs has sent a heartbeat to this instance lately.

    Daemons send one every 30 s; Dagster's own "healthy" tolerates 30 minutes of
    silence, far too long to wait on a daemon that was stopped. A heartbeat from
    before the last loop daemon of ``home`` stopped may be that daemon's, and does
    not count.
    """
    try:
        heartbeat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    except Exception:  # an instance that cannot say has no daemon we can count on
        return False
    if heartbeat is None or heartbeat.timestamp <= _last_loop_daemon_stop(home):
        return False
    return time.time() - heartbeat.timestamp <= HEARTBEAT_FRESH_SECONDS


class LoopDaemon:
    """``dagster-daemon run`` on this project's workspace, owned by this process."""

    def __init__(self, dagster_home: Path, log_path: Path | None = None):
        self.dagster_home = Path(dagster_home)
        self.log_path = log_path or self.dagster_home / "loop-daemon.log"
        self.process: subprocess.Popen | None = None
        self._lock = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The guard's process id (the daemon's process group)."""
        return self.process.pid if self.process is not None else None

    def try_start(self) -> bool:
        """Start the daemon unless another loop's daemon runs on this home; whether it did."""
        if self.running:
            return True
        if not self._take_lock():
            return False
        env = dagster_environment({**os.environ, "DAGSTER_HOME": str(self.dagster_home)})
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
        return True

    def stop(
        self,
        instance: dg.DagsterInstance | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> None:
        """Stop the daemon and everything it started; waits until they are gone.

        With ``instance``, first let it finish what the queue holds: runs other
        loops queued while it served the home (``on_wait(count)`` says how many).
        """
        process = self.process
        if process is None:
            return
        if instance is not None:
            self._drain(instance, on_wait)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=GUARD_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.process = None
        record = {"stopped_at": time.time(), "pid": process.pid}
        with contextlib.suppress(OSError):
            (self.dagster_home / RECORD_FILE).write_text(json.dumps(record))
        self._release_lock()

    def _drain(self, instance: dg.DagsterInstance, on_wait: Callable[[int], None] | None) -> None:
        """Wait while runs this daemon launched are in progress, or runs wait in the queue.

        Queued runs that nothing of ours is running ahead of (a run held up by a
        run elsewhere) are left to the next daemon after ``QUEUE_PATIENCE_SECONDS``.
        """
        said = None
        idle_since = time.monotonic()
        while self.running:
            ours = self._runs_in_progress(instance)
            queued = len(instance.get_run_ids(dg.RunsFilter(statuses=[QUEUED])))
            if ours:
                idle_since = time.monotonic()
            elif not queued or time.monotonic() - idle_since > QUEUE_PATIENCE_SECONDS:
                return
            pending = ours + queued
            if on_wait is not None and pending != said:
                on_wait(pending)
                said = pending
            time.sleep(0.5)

    def _runs_in_progress(self, instance: dg.DagsterInstance) -> int:
        """How many runs in progress this daemon's code servers launched."""
        sockets = self._code_server_sockets()
        count = 0
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED[1:])):
            try:
                launched_by = json.loads(run.tags.get(GRPC_INFO_TAG, "{}")).get("socket")
            except ValueError:
                continue
            count += launched_by in sockets
        return count

    def _code_server_sockets(self) -> set[str]:
        """The gRPC sockets of the code servers in this daemon's process group (Linux)."""
        sockets: set[str] = set()
        if self.process is None or not Path("/proc").is_dir():
            return sockets
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if os.getpgid(int(entry.name)) != self.process.pid:
                    continue
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except (OSError, ProcessLookupError):
                continue
            sockets.update(argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--socket")
        return sockets

    def _take_lock(self) -> bool:
        if fcntl is None:
            return True
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        handle = open(self.dagster_home / LOCK_FILE, "a+b")  # noqa: SIM115 (held until stop)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
