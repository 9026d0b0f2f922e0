"""Measurement worker processes: exit with the process that started them."""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path


def exit_with_parent(parent_pid: int) -> None:
    """Run in each worker as it starts: exit when ``parent_pid`` ends, however it ends.

    A worker forked from the fork server would otherwise wait forever for work from
    a parent that was killed (``kill -9``, an out-of-memory kill), and keep the fork
    server alive with it.
    """
    watcher = threading.Thread(
        target=_exit_when_gone, args=(parent_pid,), name="impact-parent-watch", daemon=True
    )
    watcher.start()


def _exit_when_gone(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, or an old kernel): poll
        while process_alive(pid):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has ended
    os._exit(1)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (ended, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc: the signal answered, so it runs
        return True
    return state != "Z"
