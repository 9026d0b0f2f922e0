"""Measurement worker processes: exit with the process that started them."""

from __future__ import annotations

import os
import select
import threading
import time


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
        while _alive(pid):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])  # readable once the process has ended
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
