"""The ``dagster.yaml`` of a new local instance: a run queue that runs one loop at a time.

Dagster's own SQLite storage in the folder; runs go through the queue
(``QueuedRunCoordinator``), which starts one run of the loop job at a time (a tag
concurrency limit on the job's ``impact/loop_run`` tag: the next starts once the
previous has ended) among the runs it launches: the UI's, the schedule's and the
sensors'. The CLI and the API run the loop in their own process, outside the queue;
their first steps wait for earlier loop runs instead (``impact_assets.lib.turns``).
Concurrency pools are counted per run with a limit of 1 as well (every loop asset is in
the ``impact_loop`` pool), which also covers runs outside the queue (an in-process run
from Python) and other jobs that select loop assets; a pool slot is released as a run's
last step starts, so pools alone let the next run's first step overlap the last step of
the one before. No usage statistics are sent.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from impact_assets.files import write_atomically
from impact_assets.lib.keys import LOOP_POOL, LOOP_RUN_TAG

# How often the daemon looks at the queue; Dagster's default (5 s) would add seconds
# to every loop launched from the UI or the schedule.
DEQUEUE_INTERVAL_SECONDS = 1


def run_queue_settings() -> str:
    """The run-queue and pool settings, shared by every profile's ``dagster.yaml``."""
    return (
        "run_coordinator:\n"
        "  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\n"
        "  config:\n"
        f"    dequeue_interval_seconds: {DEQUEUE_INTERVAL_SECONDS}\n"
        "concurrency:\n"
        "  runs:\n"
        "    # one run of the loop job in progress at a time, start to end\n"
        "    tag_concurrency_limits:\n"
        f"      - key: {LOOP_RUN_TAG}\n"
        "        limit: 1\n"
        "  pools:\n"
        f"    # every loop asset is in the `{LOOP_POOL}` pool: one loop run in progress at a time\n"
        "    granularity: run\n"
        "    default_limit: 1\n"
        "run_monitoring:\n"
        "  enabled: true\n"
        "  start_timeout_seconds: 300\n"
    )


def local_instance_settings() -> str:
    """``dagster.yaml`` for a new local (SQLite) instance."""
    return (
        "# Impact Engine's local instance: Dagster's SQLite storage in this folder, a run\n"
        "# queue that runs one loop at a time, no usage statistics.\n"
        "telemetry:\n"
        "  enabled: false\n" + run_queue_settings()
    )


# The database password reaches Dagster only through the environment (`env:` in
# dagster.yaml), never a file in the repository.
PG_PASSWORD_ENV_VAR = "IMPACT_PG_PASSWORD"


def distributed_instance_settings(host: str, port: int, username: str, db_name: str) -> str:
    """``dagster.yaml`` of the distributed profile: PostgreSQL storage and the same run queue.

    Every host's instance with these settings shares one run queue and one event log
    (see :mod:`impact_assets.lib.postgres_storage` for the pooled connections).
    """
    return (
        "# Impact Engine's distributed instance: runs, events and schedules in PostgreSQL,\n"
        "# the run queue that runs one loop at a time, no usage statistics. The password\n"
        f"# comes from ${PG_PASSWORD_ENV_VAR}.\n"
        "telemetry:\n"
        "  enabled: false\n"
        "storage:\n"
        "  custom:\n"
        "    module: impact_assets.lib.postgres_storage\n"
        "    class: PooledPostgresStorage\n"
        "    config:\n"
        "      postgres_db:\n"
        f"        hostname: {host}\n"
        f"        port: {port}\n"
        f"        username: {username}\n"
        "        password:\n"
        f"          env: {PG_PASSWORD_ENV_VAR}\n"
        f"        db_name: {db_name}\n"
        "        # psycopg2: with SQLAlchemy 2.1 a bare postgresql:// means psycopg 3\n"
        "        scheme: postgresql+psycopg2\n" + run_queue_settings()
    )


# Dagster reads these from the environment, not from dagster.yaml.
# In the process that creates a run: one ASSET_MATERIALIZATION_PLANNED event per asset
# for the run's partition range, instead of one per partition (3n events fewer per loop:
# on SQLite a third of a 1,000-initiative loop's time). Dagster's own switch, which its
# maintainers point users with wide partition ranges to; not a documented setting. Its
# price, pinned by tests/test_planned_events.py and stated in docs/ui.md: while a run is
# in progress, or after it failed, the partitions it did not materialise are not shown
# as "in progress" or "failed" in the UI's partition status (their last materialization
# shows). ``IMPACT_ENGINE_PLANNED_EVENTS=per_partition`` keeps Dagster's default.
PLANNED_EVENTS_ENV_VAR = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
PLANNED_EVENTS_CHOICE_ENV_VAR = "IMPACT_ENGINE_PLANNED_EVENTS"
PLANNED_EVENT_CHOICES = ("per_asset", "per_partition")
# In a run worker: a step's materializations are written in batches of this many; the
# PostgreSQL storage writes a batch in one statement (SQLite writes them one by one, so
# the local profile does not set it).
EVENT_BATCH_ENV_VAR = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = 1000


def planned_events_choice() -> str:
    """``per_asset`` (the default) or ``per_partition``, from ``$IMPACT_ENGINE_PLANNED_EVENTS``."""
    choice = os.environ.get(PLANNED_EVENTS_CHOICE_ENV_VAR, "").strip() or "per_asset"
    if choice not in PLANNED_EVENT_CHOICES:
        raise ValueError(
            f"{PLANNED_EVENTS_CHOICE_ENV_VAR}={choice!r}: choose one of "
            + ", ".join(PLANNED_EVENT_CHOICES)
        )
    return choice


@contextlib.contextmanager
def one_planned_event_per_asset() -> Iterator[None]:
    """Within the block, runs this process creates plan one event per asset (see above),
    unless ``$IMPACT_ENGINE_PLANNED_EVENTS`` is ``per_partition``."""
    if planned_events_choice() == "per_partition":
        yield
        return
    previous = os.environ.get(PLANNED_EVENTS_ENV_VAR)
    os.environ[PLANNED_EVENTS_ENV_VAR] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PLANNED_EVENTS_ENV_VAR, None)
        else:
            os.environ[PLANNED_EVENTS_ENV_VAR] = previous


def distributed_environment() -> dict[str, str]:
    """The Dagster settings every process of the distributed profile runs with (the CLI,
    which executes its runs, the daemon and the run workers it starts)."""
    env = {EVENT_BATCH_ENV_VAR: str(EVENT_BATCH_SIZE)}
    if planned_events_choice() == "per_asset":
        env[PLANNED_EVENTS_ENV_VAR] = "1"
    return env


def ensure_instance_settings(home: Path) -> Path:
    """Write ``home/dagster.yaml`` unless the instance already has one; return its path."""
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        # atomically: another loop starting now may be reading it
        write_atomically(settings, local_instance_settings())
    return settings
