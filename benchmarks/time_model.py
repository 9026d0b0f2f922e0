"""The parts of the loop's time model, each measured alone (``loop_scale.py --model``).

- ``event``: one Dagster event write (an asset materialization with metadata, through
  the public ``report_runless_asset_event``) on a fresh SQLite instance, on PostgreSQL
  with this project's pooled storage, and on PostgreSQL with the stock
  ``dagster-postgres`` storage (a connection per statement);
- ``task``: the overhead of one Dask task through the MEASURE fan-out (a task that
  does nothing, on a fresh ``scripts/cluster.py`` with W workers), per task;
- ``measure``: one statistical measurement of a simulated experiment (pilot of
  50-500 units, scale of 5,000), in this process, one BLAS thread.

Together with the per-asset-partition overhead of a real loop (``loop_scale.py``'s
``evaluate`` step over n: EVALUATE does almost no work, so its step time is Dagster's
per-partition cost), they predict a loop's wall time; see the README's Performance.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_scale import cluster, portfolio_config  # noqa: E402

from impact_assets.lib.instance_settings import local_instance_settings  # noqa: E402

EVENTS = 300
TASKS = 2000
MEASUREMENTS = 200


def event_write_ms(settings: str, env: dict[str, str] | None = None) -> float:
    """Milliseconds per materialization event written to the instance ``settings`` describe."""
    home = Path(tempfile.mkdtemp(prefix="impact_model_home_"))
    (home / "dagster.yaml").write_text(settings)
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            metadata = {"estimate": 0.1, "ci_95": "[0.05, 0.15]", "status": "measured"}
            instance.report_runless_asset_event(dg.AssetMaterialization("warm_up"))
            start = time.perf_counter()
            for index in range(EVENTS):
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(f"model_{index % 10}", metadata=metadata)
                )
            return 1000 * (time.perf_counter() - start) / EVENTS
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)


def stock_postgres_settings(pooled: str) -> str:
    """The same database through the stock ``storage: postgres:`` (NullPool)."""
    settings = yaml.safe_load(pooled)
    settings["storage"] = {"postgres": settings["storage"]["custom"]["config"]}
    return yaml.safe_dump(settings)


def dask_task_ms(address: str) -> float:
    from impact_assets.loop.dask_fan_out import dask_fan_out

    # ``abs`` does next to nothing and every worker can import it
    dask_fan_out(abs, list(range(50)), address, lost=lambda error: -1)  # connect, warm up
    start = time.perf_counter()
    results = dask_fan_out(abs, list(range(TASKS)), address, lost=lambda error: -1)
    elapsed = time.perf_counter() - start
    assert [value for value, _ in results] == list(range(TASKS))
    return 1000 * elapsed / TASKS


def measure_ms() -> dict[str, float]:
    """Milliseconds per pilot and per scale measurement of a simulated experiment."""
    from threadpoolctl import threadpool_limits

    from impact_assets.config.models import PortfolioConfig
    from impact_assets.contracts import Stage
    from impact_assets.loop.stages import measure_event, measure_outcome
    from impact_assets.registry import create_component

    config = PortfolioConfig.model_validate(portfolio_config("statistical", MEASUREMENTS, 1))
    component = create_component("measure", "statistical")
    times = {}
    with threadpool_limits(limits=1):
        for stage in (Stage.PILOT, Stage.SCALE):
            events = [measure_event(config, i, stage) for i in config.initiative_ids]
            measure_outcome(component, events[0])  # imports, caches
            start = time.perf_counter()
            for event in events:
                measure_outcome(component, event)
            times[stage.value] = 1000 * (time.perf_counter() - start) / len(events)
    return times


def main(dask_workers: int = 2) -> None:
    rows = {}
    rows["event write, SQLite (ms)"] = event_write_ms(local_instance_settings())
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "config.yaml"
        config_path.write_text(yaml.safe_dump(portfolio_config("mock", 5, 1)))
        with cluster(config_path, dask_workers) as variables:
            pooled = (Path(variables["DAGSTER_HOME"]) / "dagster.yaml").read_text()
            rows["event write, PostgreSQL pooled (ms)"] = event_write_ms(pooled, variables)
            rows["event write, PostgreSQL stock (ms)"] = event_write_ms(
                stock_postgres_settings(pooled), variables
            )
            address = variables["DASK_SCHEDULER_ADDRESS"]
            rows[f"Dask task overhead, {dask_workers} workers (ms/task)"] = statistics.median(
                dask_task_ms(address) for _ in range(3)
            )
    for stage, milliseconds in measure_ms().items():
        rows[f"measurement, {stage} (ms)"] = milliseconds
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        print(f"{name:<{width}}  {value:8.2f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
