"""The Dagster instance the CLI records into: ``$DAGSTER_HOME``, else ``.dagster_home/``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from impact_assets.config import PROJECT_ROOT
from impact_assets.lib.instance_settings import ensure_instance_settings

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"
INIT_LOCK_FILE = "instance-init.lock"


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``.dagster_home/`` at the project root.

    A new home gets the local instance settings (a run queue that runs one loop
    at a time); an existing ``dagster.yaml`` is left as it is. The instance's
    storage is created here, under a lock: two loops started at once on a new
    home would otherwise both create its SQLite tables.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    ensure_instance_settings(home)
    os.environ["DAGSTER_HOME"] = str(home)
    with _home_lock(home):
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            # first use creates the run, event log and schedule storages
            instance.get_run_ids(limit=1)
            instance.all_instigator_state()
    return home


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    if fcntl is None:  # Windows
        yield
        return
    with open(home / INIT_LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
