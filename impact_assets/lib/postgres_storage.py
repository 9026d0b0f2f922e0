"""Dagster's PostgreSQL storage, with each process keeping its connections open.

Stock ``dagster-postgres`` opens a new connection for every statement outside the
webserver (its engines use SQLAlchemy's ``NullPool``): a run worker storing the
events of 300 initiatives made 10,281 connections, half of the run's time. This
class is ``dagster_postgres.DagsterPostgresStorage`` with the same configuration
(``postgres_db`` or ``postgres_url``) and tables; once built, it switches its run,
event-log and schedule storage to the pooled engines Dagster's webserver uses
(``optimize_for_webserver``: one connection kept open, up to :data:`MAX_OVERFLOW`
more under load, each recycled after :data:`POOL_RECYCLE_SECONDS`). The stock
class reads the same database, so ``storage: postgres:`` works on it too.

In ``dagster.yaml``::

    storage:
      custom:
        module: impact_assets.lib.postgres_storage
        class: PooledPostgresStorage
        config:
          postgres_db: {hostname: ..., port: ..., username: ..., db_name: ...,
                        password: {env: IMPACT_PG_PASSWORD}, scheme: postgresql+psycopg2}
"""

from __future__ import annotations

from typing import Any

from dagster_postgres import DagsterPostgresStorage

# Statements are not cut short (as with the stock storage); connections older than
# an hour are replaced, so a restarted or failed-over server is picked up.
STATEMENT_TIMEOUT_MS = 0
POOL_RECYCLE_SECONDS = 3600
MAX_OVERFLOW = 10


class PooledPostgresStorage(DagsterPostgresStorage):
    """``DagsterPostgresStorage`` whose engines keep a connection open per process."""

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> DagsterPostgresStorage:
        storage = super().from_config_value(inst_data, config_value)
        for part in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
            part.optimize_for_webserver(
                statement_timeout=STATEMENT_TIMEOUT_MS,
                pool_recycle=POOL_RECYCLE_SECONDS,
                max_overflow=MAX_OVERFLOW,
            )
        return storage
