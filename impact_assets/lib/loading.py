"""Loading the Definitions for a given config (the CLI, the API, the multiprocess executor).

The definitions are built for the config ``$IMPACT_ENGINE_CONFIG`` names: its
initiatives are the ``initiatives`` partitions and its cron the schedule's. A run pins
the document it reads (``ImpactConfigResource``). ``impact_assets.definitions`` loads
them once for ``dagster dev`` and ``dg``; the CLI and the API load them here for the
config they run, without loading the default config's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.lib.keys import LOOP_JOB

DEFS_FOLDER = Path(__file__).resolve().parents[1] / "defs"


def load_definitions() -> dg.Definitions:
    """The Definitions for the config ``$IMPACT_ENGINE_CONFIG`` names, as they are now."""
    return dg.load_from_defs_folder(path_within_project=DEFS_FOLDER)


@contextlib.contextmanager
def config_in_environment(config_path: str | Path) -> Iterator[Path]:
    """``$IMPACT_ENGINE_CONFIG`` set to ``config_path`` inside the block (child processes
    the block starts load the same config), restored after it."""
    path = Path(config_path).resolve()
    previous = os.environ.get(CONFIG_ENV_VAR)
    os.environ[CONFIG_ENV_VAR] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(CONFIG_ENV_VAR, None)
        else:
            os.environ[CONFIG_ENV_VAR] = previous


def definitions_for(config_path: str | Path) -> dg.Definitions:
    """The Definitions built for the config at ``config_path``."""
    with config_in_environment(config_path):
        return load_definitions()


def loop_job() -> dg.JobDefinition:
    """The ``impact_loop`` job for ``$IMPACT_ENGINE_CONFIG``'s config (reconstructable: the
    multiprocess executor's step processes call it)."""
    return load_definitions().resolve_job_def(LOOP_JOB)
