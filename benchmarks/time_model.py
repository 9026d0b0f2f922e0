"""The parts of the loop's time model, each measured alone: ``python benchmarks/time_model.py``.

- ``event``: one materialization event of a partition, written by a step that
  materialises n static partitions in one run (one planned event per asset, as the CLI
  creates its runs), on a fresh SQLite instance and on PostgreSQL with this project's
  pooled storage and Dagster's event batching (``DAGSTER_EVENT_BATCH_SIZE=1000``, as
  the distributed profile sets it), and without batching;
- ``metadata``: what one step pays for adding each partition's own metadata
  (``add_asset_metadata(..., partition_key=k)``, one call per partition: Dagster
  re-validates every entry added before in the step), at n = 1,000 and 5,000: the step
  with metadata against the same step without, fitted to ``metadata * n**2``;
- ``task``: the overhead of one Dask task through the MEASURE fan-out (a task that
  does nothing, on a fresh ``scripts/cluster.py`` with W workers), per task;
- ``measure``: one statistical measurement of a simulated experiment (pilot of
  50-500 units, scale of 5,000), in this process, one BLAS thread.

``python benchmarks/time_model.py --fit RUNS.json [RUNS.json ...] --events-ms E
--metadata-us M`` fits the rest of the model to whole loops measured by
``loop_scale.py --json`` (one profile):

    wall(n) = fixed + n * per_initiative + events(n) * event + (2 + s**2) * metadata * n**2

``event`` and ``metadata`` measured alone; ``events(n)`` counted in each run; ``s`` the
share of initiatives selected (the scale step's partitions with their own metadata);
``fixed`` and ``per_initiative`` (the plain loop's work plus Dagster's other
per-initiative costs) by least squares, and the fit's prediction for each n and for
100,000. See docs/performance.md.
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

from impact_assets.lib.instance_settings import (  # noqa: E402
    EVENT_BATCH_ENV_VAR,
    PLANNED_EVENTS_ENV_VAR,
    local_instance_settings,
)
from impact_assets.lib.partitions import partition_range_tags  # noqa: E402

EVENT_PARTITIONS = 1000
METADATA_SIZES = (1_000, 5_000)
TASKS = 2000
MEASUREMENTS = 200
STEP_ENDS = dg.DagsterEventType.STEP_SUCCESS


def step_seconds(settings: str, n: int, metadata: bool, env: dict[str, str] | None = None) -> float:
    """Seconds of one step materialising ``n`` static partitions in one run on the instance
    ``settings`` describe; with ``metadata``, each partition's own numbers added to it."""
    keys = [f"initiative-{index:06d}" for index in range(n)]
    partitions = dg.StaticPartitionsDefinition(keys)

    @dg.asset(
        name="model_partitions",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="nothing_stored",
    )
    def model_partitions(context) -> dict[str, int]:  # no annotation: nested in a function
        if metadata:
            for index, key in enumerate(context.partition_keys):
                own = {"estimate": 0.1 + index, "ci_95": "[0.05, 0.15]", "status": "measured"}
                context.add_asset_metadata(own, partition_key=key)
        return dict.fromkeys(context.partition_keys, 1)

    class NothingStored(dg.IOManager):
        def handle_output(self, context, obj) -> None:
            pass

        def load_input(self, context) -> None:
            return None

    home = Path(tempfile.mkdtemp(prefix="impact_model_home_"))
    (home / "dagster.yaml").write_text(settings)
    saved = dict(os.environ)
    os.environ.update({**(env or {}), PLANNED_EVENTS_ENV_VAR: "1"})
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = dg.materialize(
                [model_partitions],
                instance=instance,
                resources={"nothing_stored": NothingStored()},
                tags=partition_range_tags(keys),
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            (success,) = [
                record
                for record in instance.all_logs(result.run_id, of_type=STEP_ENDS)
                if record.step_key == "model_partitions"
            ]
            (start,) = [
                record
                for record in instance.all_logs(
                    result.run_id, of_type=dg.DagsterEventType.STEP_START
                )
                if record.step_key == "model_partitions"
            ]
            return success.timestamp - start.timestamp
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)


def event_ms(settings: str, env: dict[str, str] | None = None) -> float:
    """Milliseconds per partition materialization (the step at EVENT_PARTITIONS, no metadata)."""
    return 1000 * step_seconds(settings, EVENT_PARTITIONS, False, env) / EVENT_PARTITIONS


def metadata_us(settings: str) -> dict[int, float]:
    """The per-partition metadata of a step of n partitions, in microseconds per n**2."""
    costs = {}
    for n in METADATA_SIZES:
        extra = step_seconds(settings, n, True) - step_seconds(settings, n, False)
        costs[n] = 1e6 * extra / n**2
    return costs


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


def fit(rows: list[dict], event: float, metadata: float) -> dict:
    """Least-squares ``fixed`` and ``per_initiative`` (s) of ``wall`` over the rows."""
    import numpy as np

    n = np.array([row["n"] for row in rows], dtype=float)
    known = np.array([known_seconds(row["n"], row["events"], row["selected"] / row["n"], event,
                                    metadata) for row in rows])  # fmt: skip
    wall = np.array([row["wall"] for row in rows])
    design = np.column_stack([np.ones_like(n), n])
    (fixed, per_initiative), *_ = np.linalg.lstsq(design, wall - known, rcond=None)
    return {"fixed": float(fixed), "per_initiative": float(per_initiative)}


def known_seconds(n: float, events: float, share: float, event: float, metadata: float) -> float:
    """The event writes and the per-partition metadata of a loop of ``n`` (seconds)."""
    return events * event / 1000 + (2 + share**2) * metadata * n**2 / 1e6


def fit_main(paths: list[Path], event: float, metadata: float) -> None:
    import json

    rows = [row for path in paths for row in json.loads(path.read_text())]
    model = fit(rows, event, metadata)
    per_event = statistics.median(r["events"] / r["n"] for r in rows if r["n"] >= 100)
    share = statistics.median(r["selected"] / r["n"] for r in rows)
    print(
        f"fixed {model['fixed']:.1f} s; per initiative {1000 * model['per_initiative']:.2f} ms; "
        f"per event {event:.2f} ms ({per_event:.2f} events per initiative); per-partition "
        f"metadata {metadata:.3f} us x n^2 per step ({2 + share**2:.2f} steps' worth)"
    )
    print(f"{'n':>8} {'wall':>9} {'model':>9} {'plain':>8}")
    for row in sorted(rows, key=lambda r: r["n"]):
        predicted = (
            model["fixed"]
            + row["n"] * model["per_initiative"]
            + known_seconds(row["n"], per_event * row["n"], share, event, metadata)
        )
        print(f"{row['n']:>8} {row['wall']:>9.1f} {predicted:>9.1f} {row.get('plain', 0):>8.1f}")
    n = 100_000
    terms = {
        "fixed": model["fixed"],
        "per initiative": n * model["per_initiative"],
        "events": per_event * n * event / 1000,
        "partition metadata": (2 + share**2) * metadata * n**2 / 1e6,
    }
    total = sum(terms.values())
    detail = ", ".join(f"{name} {value / 3600:.2f} h" for name, value in terms.items())
    print(f"{n:>8} {'':>9} {total:>9.0f} s = {total / 3600:.1f} h ({detail})")


def main(dask_workers: int = 2) -> None:
    rows = {}
    local = local_instance_settings()
    rows[f"event, SQLite, {EVENT_PARTITIONS:,} partitions in a step (ms)"] = event_ms(local)
    for n, cost in metadata_us(local).items():
        rows[f"partition metadata, step of {n:,} (us x n^2)"] = cost
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "config.yaml"
        config_path.write_text(yaml.safe_dump(portfolio_config("mock", 5, 1)))
        with cluster(config_path, dask_workers) as variables:
            pooled = (Path(variables["DAGSTER_HOME"]) / "dagster.yaml").read_text()
            unbatched = {**variables, EVENT_BATCH_ENV_VAR: "0"}
            rows["event, PostgreSQL pooled, batches of 1,000 (ms)"] = event_ms(pooled, variables)
            rows["event, PostgreSQL pooled, no batching (ms)"] = event_ms(pooled, unbatched)
            rows["event, PostgreSQL stock, no batching (ms)"] = event_ms(
                stock_postgres_settings(pooled), unbatched
            )
            address = variables["DASK_SCHEDULER_ADDRESS"]
            rows[f"Dask task overhead, {dask_workers} workers (ms/task)"] = statistics.median(
                dask_task_ms(address) for _ in range(3)
            )
    for stage, milliseconds in measure_ms().items():
        rows[f"measurement, {stage} (ms)"] = milliseconds
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        print(f"{name:<{width}}  {value:8.3f}", flush=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dask_workers", nargs="?", type=int, default=2)
    parser.add_argument("--fit", type=Path, nargs="+", help="loop_scale.py --json files")
    parser.add_argument("--events-ms", type=float, help="one event write (ms)")
    parser.add_argument(
        "--metadata-us", type=float, help="per-partition metadata of a step, us x n^2"
    )
    args = parser.parse_args()
    if args.fit:
        if args.events_ms is None or args.metadata_us is None:
            parser.error("--fit needs --events-ms and --metadata-us (measure them: no --fit)")
        fit_main(args.fit, args.events_ms, args.metadata_us)
    else:
        main(args.dask_workers)
