"""Dagster's SQLite event log with one open connection per database file.

Dagster's ``SqliteEventLogStorage`` opens a new SQLite connection for every
statement it runs (and closing the last connection checkpoints the write-ahead
log), so storing one materialization costs several connects, commits and
checkpoints. A run over a thousand initiatives stores thousands, and per
partition Dagster also looks the partition key up among the ``initiatives``
partitions. This storage writes the same files in the same schema (``dagster dev``
and ``dagster instance`` read them with the stock class), but keeps one
connection per database open for the life of the process, under the
storage's own lock (with ``synchronous=NORMAL``, SQLite's recommendation for
WAL), and remembers the dynamic partition keys until the index database changes
(SQLite's ``data_version``: another process wrote) or this process adds
or deletes one.

``scripts/run_once.py`` configures it in the ``dagster.yaml`` of a new
``DAGSTER_HOME``; an existing instance keeps its own ``dagster.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

EVENT_LOG_MODULE = __name__
EVENT_LOG_CLASS = "PooledSqliteEventLogStorage"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage that reuses one connection per database file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}
        self._tables: set[str] = set()
        self._partition_keys: dict[str, tuple[int, list[str], frozenset[str]]] = {}
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=StaticPool,
                    # one connection, used by one thread at a time: the lock above
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                )
                event.listen(engine, "connect", _commit_without_fsync)
                self._engines[shard] = engine
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)  # tables are only ever added
        return table_name in self._tables

    def _index_version(self) -> int:
        with self.index_connection() as connection:
            return int(connection.exec_driver_sql("PRAGMA data_version").scalar())

    def _known_partitions(self, partitions_def_name: str) -> tuple[list[str], frozenset[str]]:
        version = self._index_version()
        cached = self._partition_keys.get(partitions_def_name)
        if cached is None or cached[0] != version:
            keys = list(super().get_dynamic_partitions(partitions_def_name))
            cached = (version, keys, frozenset(keys))
            self._partition_keys[partitions_def_name] = cached
        return cached[1], cached[2]

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return list(self._known_partitions(partitions_def_name)[0])

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in self._known_partitions(partitions_def_name)[1]

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        self._partition_keys.pop(partitions_def_name, None)
        try:
            super().add_dynamic_partitions(partitions_def_name, partition_keys)
        finally:
            self._partition_keys.pop(partitions_def_name, None)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        self._partition_keys.pop(partitions_def_name, None)
        try:
            super().delete_dynamic_partition(partitions_def_name, partition_key)
        finally:
            self._partition_keys.pop(partitions_def_name, None)

    def wipe(self) -> None:
        self._partition_keys.clear()
        super().wipe()
        self._partition_keys.clear()

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _commit_without_fsync(connection, _record) -> None:
    # In WAL mode, NORMAL still keeps the database consistent after a crash; a power
    # loss may drop the last commits. FULL syncs the log on every one of thousands.
    connection.execute("PRAGMA synchronous=NORMAL")


def instance_settings(home: Path) -> str:
    """The ``dagster.yaml`` of a new instance at ``home``: this event log, no telemetry."""
    return (
        "# Dagster's SQLite storage in this folder; the event log keeps its connections open\n"
        "# (impact_assets/lib/event_log.py). No usage statistics are sent.\n"
        "telemetry:\n"
        "  enabled: false\n"
        "event_log_storage:\n"
        f"  module: {EVENT_LOG_MODULE}\n"
        f"  class: {EVENT_LOG_CLASS}\n"
        "  config:\n"
        f"    base_dir: {json.dumps(str(home / 'history' / 'runs'))}\n"
    )
