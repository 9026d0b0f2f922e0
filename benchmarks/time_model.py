"""The parts of the loop's time model, each measured alone: ``python benchmarks/time_model.py``.

- ``event``: one Dagster event write (an asset materialization with metadata, through
  the public ``report_runless_asset_event``) on a fresh SQLite instance, on PostgreSQL
  with this project's pooled storage, and on PostgreSQL with the stock
  ``dagster-postgres`` storage (a connection per statement);
- ``task``: the overhead of one Dask task through the MEASURE fan-out (a task that
  does nothing, on a fresh ``scripts/cluster.py`` with W workers), per task;
- ``measure``: one statistical measurement of a simulated experiment (pilot of
  50-500 units, scale of 5,000), in this process, one BLAS thread;
- ``check``: what Dagster does for each ``add_asset_metadata(..., partition_key=k)`` of
  a step over n dynamic partitions (it checks k against the step's partition range:
  two ``has_dynamic_partition`` queries and one ``get_dynamic_partitions`` reading all
  n keys, through the public instance methods), at n = 1,000 and 10,000, so the cost
  is ``check0 + check1 * n`` per call.

``python benchmarks/time_model.py --fit RUNS.json [RUNS.json ...]`` fits the rest of
the model to whole loops measured by ``loop_scale.py --json`` (one profile):

    wall(n) = fixed + n * per_initiative + events(n) * event + calls(n) * (check0 + check1 * n)

``event``, ``check0`` and ``check1`` measured alone (``--events-ms``, ``--check-ms``
give them), ``events(n)`` and ``calls(n)`` (partition metadata calls: 2n plus the scale
partitions with their own metadata) counted in each run; ``fixed`` and
``per_initiative`` (the plain loop's work plus Dagster's other per-initiative costs)
by least squares, and the fit's prediction for each n and for 100,000. See the
README's Performance.
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
CHECKS = 20
CHECK_SIZES = (1_000, 10_000)


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


def check_ms(settings: str, env: dict[str, str] | None = None) -> dict[int, float]:
    """Milliseconds of one partition-key check (``add_asset_metadata``), by partition count."""
    home = Path(tempfile.mkdtemp(prefix="impact_model_home_"))
    (home / "dagster.yaml").write_text(settings)
    saved = dict(os.environ)
    os.environ.update(env or {})
    name = f"model_{os.getpid()}"
    times = {}
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for count in CHECK_SIZES:
                have = len(instance.get_dynamic_partitions(name))
                instance.add_dynamic_partitions(name, [f"k{i:06d}" for i in range(have, count)])
                first, last = "k000000", f"k{count - 1:06d}"
                start = time.perf_counter()
                for _ in range(CHECKS):
                    instance.has_dynamic_partition(name, first)
                    instance.has_dynamic_partition(name, last)
                    instance.get_dynamic_partitions(name)
                times[count] = 1000 * (time.perf_counter() - start) / CHECKS
            for key in instance.get_dynamic_partitions(name):
                instance.delete_dynamic_partition(name, key)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)
    return times


def check_line(times: dict[int, float]) -> tuple[float, float]:
    """``check0`` (ms) and ``check1`` (ms per partition) through the measured points."""
    (n1, t1), (n2, t2) = sorted(times.items())[:2]
    slope = (t2 - t1) / (n2 - n1)
    return t1 - slope * n1, slope


def metadata_calls(row: dict) -> float:
    """Partition metadata calls of a loop: pilot and evaluation partitions, and the scale
    partitions that have their own (the selected ones; the rest share one entry)."""
    return 2 * row["n"] + row.get("selected", 0.3 * row["n"])


def fit(rows: list[dict], event_ms: float, check0_ms: float, check1_ms: float) -> dict:
    """Least-squares ``fixed`` and ``per_initiative`` (s) of ``wall`` over the rows."""
    import numpy as np

    n = np.array([row["n"] for row in rows], dtype=float)
    known = np.array(
        [
            row["events"] * event_ms / 1000
            + metadata_calls(row) * (check0_ms + check1_ms * row["n"]) / 1000
            for row in rows
        ]
    )
    wall = np.array([row["wall"] for row in rows])
    design = np.column_stack([np.ones_like(n), n])
    (fixed, per_initiative), *_ = np.linalg.lstsq(design, wall - known, rcond=None)
    return {"fixed": float(fixed), "per_initiative": float(per_initiative)}


def predict(n: float, model: dict, events_per_initiative: float, selected_share: float) -> float:
    calls = (2 + selected_share) * n
    check = (model["check0"] + model["check1"] * n) / 1000
    events = events_per_initiative * n * model["event"] / 1000
    return model["fixed"] + n * model["per_initiative"] + events + calls * check


def fit_main(paths: list[Path], event_ms: float, check: tuple[float, float]) -> None:
    import json

    rows = [row for path in paths for row in json.loads(path.read_text())]
    for row in rows:
        row.setdefault("selected", 0.3 * row["n"])
    model = {**fit(rows, event_ms, *check), "event": event_ms}
    model["check0"], model["check1"] = check
    per_event = statistics.median(r["events"] / r["n"] for r in rows if r["n"] >= 100)
    share = statistics.median(r["selected"] / r["n"] for r in rows)
    print(
        f"fixed {model['fixed']:.1f} s; per initiative {1000 * model['per_initiative']:.2f} ms; "
        f"per event {event_ms:.2f} ms ({per_event:.2f} events per initiative); per "
        f"metadata call {check[0]:.2f} ms + {1000 * check[1]:.3f} ms per 1,000 partitions "
        f"({2 + share:.2f} calls per initiative)"
    )
    print(f"{'n':>8} {'wall':>9} {'model':>9} {'plain':>8}")
    for row in sorted(rows, key=lambda r: r["n"]):
        predicted = predict(row["n"], model, per_event, share)
        print(f"{row['n']:>8} {row['wall']:>9.1f} {predicted:>9.1f} {row.get('plain', 0):>8.1f}")
    for n in (100_000,):
        terms = {
            "fixed": model["fixed"],
            "per initiative": n * model["per_initiative"],
            "events": per_event * n * event_ms / 1000,
            "metadata checks": (2 + share) * n * (check[0] + check[1] * n) / 1000,
        }
        total = sum(terms.values())
        detail = ", ".join(f"{name} {value / 3600:.2f} h" for name, value in terms.items())
        print(f"{n:>8} {'':>9} {total:>9.0f} s = {total / 3600:.1f} h ({detail})")


def main(dask_workers: int = 2) -> None:
    rows = {}
    rows["event write, SQLite (ms)"] = event_write_ms(local_instance_settings())
    for count, ms in check_ms(local_instance_settings()).items():
        rows[f"partition-key check at {count:,} partitions, SQLite (ms)"] = ms
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "config.yaml"
        config_path.write_text(yaml.safe_dump(portfolio_config("mock", 5, 1)))
        with cluster(config_path, dask_workers) as variables:
            pooled = (Path(variables["DAGSTER_HOME"]) / "dagster.yaml").read_text()
            rows["event write, PostgreSQL pooled (ms)"] = event_write_ms(pooled, variables)
            rows["event write, PostgreSQL stock (ms)"] = event_write_ms(
                stock_postgres_settings(pooled), variables
            )
            for count, ms in check_ms(pooled, variables).items():
                rows[f"partition-key check at {count:,} partitions, PostgreSQL (ms)"] = ms
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
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dask_workers", nargs="?", type=int, default=2)
    parser.add_argument("--fit", type=Path, nargs="+", help="loop_scale.py --json files")
    parser.add_argument("--events-ms", type=float, help="one event write (ms)")
    parser.add_argument(
        "--check-ms", type=float, nargs=2, metavar=("AT_1000", "AT_10000"),
        help="one partition-key check at 1,000 and 10,000 partitions (ms)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.fit:
        if args.events_ms is None or args.check_ms is None:
            parser.error("--fit needs --events-ms and --check-ms (measure them: no --fit)")
        line = check_line(dict(zip(CHECK_SIZES, args.check_ms, strict=True)))
        fit_main(args.fit, args.events_ms, line)
    else:
        main(args.dask_workers)
