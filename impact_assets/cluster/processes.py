"""The cluster's server processes: started in their own process group, stopped by it.

Each server is recorded (name, pid, command line, log) so that ``down`` stops
exactly what ``up`` started: a pid whose command line no longer matches was
reused by another program and is left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from impact_assets.lib.polling import wait_until

STOP_GRACE_SECONDS = 20
# How long a started process may take to replace the forked copy of this one with its
# own program (until then its command line is this process's).
EXEC_SECONDS = 10


class ClusterError(RuntimeError):
    """A server could not start (the message says which, why, and what to do)."""


@dataclass(frozen=True)
class Server:
    """One process ``up`` started."""

    name: str
    pid: int
    command: list[str]
    log: str
    address: str = ""
    cwd: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Server:
        return cls(**data)

    @property
    def running(self) -> bool:
        """Alive, and still the process that was started (not a reused pid)."""
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        actual = cmdline.split(b"\0")[:-1]
        expected = [argument.encode() for argument in self.command]
        # a script's interpreter comes first in its command line (``python3 dagster-daemon``)
        return state != "Z" and actual[-len(expected) :] == expected


def start(
    name: str,
    command: Sequence[str],
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    address: str = "",
) -> Server:
    """Start ``command`` in a new session (its own process group), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as stream:
        try:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise ClusterError(f"{name}: cannot run {command[0]}: {error}") from None
    server = Server(name, process.pid, list(command), str(log), address, str(cwd))
    # Between fork and exec the child's command line is still ours: a check then would
    # take a starting server for one that exited, and leave it running unrecorded.
    wait_until(lambda: process.poll() is not None or server.running, EXEC_SECONDS, 0.01)
    return server


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (an exited one, a zombie, does not)."""
    with contextlib.suppress(ChildProcessError):  # reap it, if it is a child of this process
        while os.waitpid(-pgid, os.WNOHANG)[0]:
            pass
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def stop(server: Server, first_signal: int = signal.SIGTERM) -> bool:
    """Stop the server's process group: ``first_signal``, then SIGKILL after a grace period.

    Returns whether it was running. Only a group whose leader is still the recorded
    process is signalled.
    """
    if not server.running:
        return False
    pgid = server.pid  # started with start_new_session: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, first_signal)
    if not wait_until(lambda: not _group_alive(pgid), STOP_GRACE_SECONDS):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        wait_until(lambda: not _group_alive(pgid), 10)
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def check_port_free(port: int, what: str, option: str, host: str = "127.0.0.1") -> None:
    """Raise a :class:`ClusterError` naming the port when something already listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ClusterError(
                f"{what}: port {port} on {host} is taken ({error.strerror}); stop what uses it, "
                f"or choose another port with {option} (or leave {option} out for a free one)"
            ) from None


def log_tail(path: str | Path, lines: int = 15) -> str:
    """The last lines of a log, indented, for an error message."""
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(f"    {line}" for line in text[-lines:])
