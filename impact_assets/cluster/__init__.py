"""The distributed profile on one machine: PostgreSQL, a Dask cluster and the Dagster daemon.

``python scripts/cluster.py up | down | status`` (:mod:`impact_assets.cluster.main`).
"""
