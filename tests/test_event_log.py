"""The pooled SQLite event log: same files as Dagster's own, partition cache kept honest."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from helpers import run_cli

from impact_assets.lib.event_log import PooledSqliteEventLogStorage

ASSETS = ["pilot_results", "evaluations", "allocation", "scale_results", "outcome_reports"]


def test_a_new_cli_home_uses_it_and_dagsters_own_storage_reads_what_it_wrote(tmp_path):
    home = tmp_path / "home"
    completed = run_cli("--config", "examples/mock.yaml", "--quiet", dagster_home=home)
    assert completed.returncode == 0, completed.stderr
    assert "PooledSqliteEventLogStorage" in (home / "dagster.yaml").read_text()

    stock = SqliteEventLogStorage(str(home / "history" / "runs"))
    try:
        partitions = stock.get_dynamic_partitions("initiatives")
        assert sorted(partitions) == sorted(
            [
                "product-desc-enhancement",
                "checkout-flow-optimization",
                "search-relevance-tuning",
                "pricing-display-test",
                "recommendation-engine-v2",
            ]
        )
        records = stock.get_asset_records([dg.AssetKey(name) for name in ASSETS])
        assert {r.asset_entry.asset_key.path[0] for r in records} == set(ASSETS)
        assert all(r.asset_entry.last_materialization is not None for r in records)
    finally:
        stock.dispose()


def test_partition_cache_sees_another_connections_changes(tmp_path):
    base = str(tmp_path / "runs")
    pooled = PooledSqliteEventLogStorage(base)
    other = SqliteEventLogStorage(base)
    try:
        pooled.add_dynamic_partitions("initiatives", ["a", "b"])
        assert pooled.get_dynamic_partitions("initiatives") == ["a", "b"]
        assert pooled.has_dynamic_partition("initiatives", "a")

        other.add_dynamic_partitions("initiatives", ["c"])  # another process, in effect
        assert pooled.get_dynamic_partitions("initiatives") == ["a", "b", "c"]
        other.delete_dynamic_partition("initiatives", "a")
        assert not pooled.has_dynamic_partition("initiatives", "a")

        pooled.delete_dynamic_partition("initiatives", "b")  # its own change
        assert pooled.get_dynamic_partitions("initiatives") == ["c"]
        assert other.get_dynamic_partitions("initiatives") == ["c"]
    finally:
        pooled.dispose()
        other.dispose()
