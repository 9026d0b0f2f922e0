"""Run a command (the Dagster daemon) for as long as its parent process lives.

Usage: ``python -m impact_assets.lib.daemon_guard PARENT_PID -- COMMAND...``

Runs the command (the Dagster daemon) in this process's group and stops the
whole group (the daemon, its code server and the run workers it launched) when
the parent process ends, however it ends (even ``kill -9``), or when this guard
receives SIGTERM. Never left behind: a daemon started for one loop must not
outlive the command that started it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading

STOP_GRACE_SECONDS = 15


def _parent_gone(parent_pid: int) -> threading.Event:
    gone = threading.Event()

    def watch() -> None:
        try:
            handle = os.pidfd_open(parent_pid)
        except ProcessLookupError:
            gone.set()
            return
        except (AttributeError, OSError):  # no pidfd: poll
            while True:
                try:
                    os.kill(parent_pid, 0)
                except ProcessLookupError:
                    gone.set()
                    return
                except PermissionError:
                    pass
                if gone.wait(1.0):
                    return
        select.select([handle], [], [])
        gone.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return gone


def _stop_group(child: subprocess.Popen) -> None:
    """SIGTERM to everything in this group but the guard, then SIGKILL what remains."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    group = os.getpgid(0)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=STOP_GRACE_SECONDS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.killpg(group, signal.SIGKILL)  # the guard too: nothing of the group survives


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(
            "usage: python -m impact_assets.lib.daemon_guard PARENT_PID -- COMMAND...",
            file=sys.stderr,
        )
        return 2
    parent_pid = int(argv[0])
    stop = _parent_gone(parent_pid)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    child = subprocess.Popen(argv[2:])
    threading.Thread(target=lambda: (child.wait(), stop.set()), daemon=True).start()
    stop.wait()
    _stop_group(child)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
