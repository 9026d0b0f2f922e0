"""Time the whole loop through Dagster against the same components in a plain Python loop.

    python benchmarks/loop_scale.py [--sizes 10 100 1000] [--kinds mock statistical]
                                    [--repeats 1] [--workers 2] [--pools threads]
                                    [--executor in_process] [--profiles local distributed]
                                    [--dask-workers 2]

For each portfolio kind and size ``n`` this writes a config to a temporary folder and
runs, as separate processes:

- ``dagster``: ``python scripts/run_once.py --config X --quiet`` on a fresh, persistent
  ``DAGSTER_HOME`` (SQLite storage, as a user's first ``run_once.py``), or, with the
  ``distributed`` profile, on a fresh ``scripts/cluster.py up --workers W`` (PostgreSQL
  storage, MEASURE on W Dask workers; starting the cluster is not timed);
- ``plain``: the same config through :mod:`impact_assets.loop.stages` called directly
  (MEASURE, EVALUATE, ALLOCATE, scale MEASURE, REPORT; no Dagster import, nothing
  stored), printing the same report.

Portfolio kinds: ``mock`` (the mock MEASURE, EVALUATE and ALLOCATE) and
``statistical`` (simulated experiments, pilot sizes drawn in 50..500, the scale sample
5,000 units; the statistical MEASURE, calibrated EVALUATE and expected-return ALLOCATE,
the default config's components).
Costs are uniform in 5,000-50,000 and the budget is 20% of their total.
A row is run for every ``--workers`` value (``max_workers``) and ``--pools`` value
(``measure.pool``: ``threads`` or ``processes``).

Columns (medians over ``--repeats``; times in seconds):

- ``wall``: whole-process wall time of ``run_once.py``; ``plain``: of the plain loop;
- ``run``: the run's own duration, start to end in its run record (the run worker's
  time); ``launch``: from ``run_once.py``'s start to the run's start (the config,
  the definitions' load, the run's creation); ``after``: from the run's end to the
  process's exit (reading the values back, the report);
- ``x plain``: ``wall / plain``; ``run/pl``: ``run / plain``;
- ``ms/ap``: Dagster's overhead per asset-partition,
  ``(wall - plain) / (3n + 4)`` in milliseconds: a run materialises ``3n + 4``
  asset-partitions (``pilot_results``, ``evaluations`` and ``scale_results`` per
  initiative, one ``calibration_history``, ``calibration``, ``allocation`` and
  ``outcome_reports``);
- ``runs``: runs in the instance; ``events``: rows in its event log (``ev/ap`` per
  asset-partition);
- ``pilot`` ... ``report``: each asset's step, STEP_START to STEP_SUCCESS in the event
  log (``calibrate``: ``calibration_history`` and ``calibration`` together);
  ``checks``: the asset-check steps together;
- ``rss MB``: peak resident memory of the ``run_once.py`` process (``plain MB``: of
  the plain loop), from ``wait4``;
- ``mw``: ``measure_workers`` of the pilot MEASURE (distinct processes that measured).

The parts of the time model, each measured alone, are ``benchmarks/time_model.py``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUN_ONCE = PROJECT_ROOT / "scripts" / "run_once.py"
CLUSTER = PROJECT_ROOT / "scripts" / "cluster.py"
PROFILES = ("local", "distributed")
KINDS = ("mock", "statistical")
ASSET_STEPS = {
    "pilot_results": "pilot",
    "calibration_history": "calibrate",
    "calibration": "calibrate",
    "evaluations": "evaluate",
    "allocation": "allocate",
    "scale_results": "scale",
    "outcome_reports": "report",
}
COMPONENTS = {
    "mock": {"measure": "mock", "evaluate": "mock", "allocate": "mock"},
    "statistical": {
        "measure": "statistical",
        "evaluate": "calibrated",
        "allocate": "expected_return",
    },
}


def portfolio_config(
    kind: str, n: int, workers: int, seed: int = 42, pool: str = "threads"
) -> dict:
    """A portfolio of ``n`` initiatives of ``kind``, as the config's YAML mapping."""
    rng = np.random.default_rng([seed, n])
    costs = rng.uniform(5_000, 50_000, n).round(2)
    values = rng.uniform(10_000, 100_000, n).round(2)
    initiatives = []
    for index in range(n):
        initiative = {
            "initiative_id": f"initiative-{index:05d}",
            "cost_to_scale": float(costs[index]),
        }
        if kind == "statistical":
            initiative.update(
                value_per_unit=float(values[index]),
                method="experiment",
                data={"source": "simulated"},
            )
        initiatives.append(initiative)
    components = COMPONENTS[kind]
    return {
        "budget": float(round(0.2 * costs.sum(), 2)),
        "scale_sample_size": 5000,
        "max_workers": workers,
        "seed": seed,
        "measure": {"component": components["measure"], "pool": pool},
        "evaluate": {"component": components["evaluate"]},
        "allocate": {"component": components["allocate"]},
        "initiatives": initiatives,
    }


def _run(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int, float]:
    """Run ``command``; its wall time (s), peak RSS (MB), exit code and start (epoch s)."""
    with log.open("w") as stream:
        started_at = time.time()
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=stream, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode, started_at


def run_timing(wall: float, started_at: float, summary: dict) -> dict[str, float]:
    """The run's own duration and what the process spent before and after it (s)."""
    run_start, run_end = summary.pop("run_start"), summary.pop("run_end")
    return {
        "run": run_end - run_start,
        "launch": run_start - started_at,
        "after": started_at + wall - run_end,
    }


def instance_summary(home: Path) -> dict:
    """Runs, event-log rows and per-step durations recorded in the instance at ``home``."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        events = 0
        starts: dict[str, float] = {}
        steps: dict[str, float] = {}
        for run in runs:
            records = instance.get_records_for_run(run.run_id).records
            events += len(records)
            for record in records:
                entry = record.event_log_entry
                kind = entry.dagster_event_type
                if kind is None or entry.step_key is None:
                    continue
                if kind == dg.DagsterEventType.STEP_START:
                    starts[entry.step_key] = entry.timestamp
                elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    steps[entry.step_key] = entry.timestamp - starts.get(entry.step_key, 0.0)
        pilot = instance.fetch_materializations(dg.AssetKey("pilot_results"), limit=1).records
        workers = pilot[0].asset_materialization.metadata.get("measure_workers") if pilot else None
        allocation = instance.fetch_materializations(dg.AssetKey("allocation"), limit=1).records
        selected = (
            allocation[0].asset_materialization.metadata["selected_count"].value
            if allocation
            else float("nan")
        )
        loop_runs = [instance.get_run_record_by_id(run.run_id) for run in runs]
        run_start = min(record.start_time for record in loop_runs)
        run_end = max(record.end_time for record in loop_runs)
    stages: dict[str, float] = {}
    for step, label in ASSET_STEPS.items():
        seconds = steps.pop(step, float("nan"))
        stages[label] = stages[label] + seconds if label in stages else seconds
    return {
        "runs": len(runs),
        "events": events,
        **stages,
        "checks": sum(steps.values()),
        "mw": workers.value if workers is not None else float("nan"),
        "selected": selected,
        "run_start": run_start,
        "run_end": run_end,
    }


def measure_dagster(config_path: Path, scratch: Path, executor: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"dagster_home_{config_path.stem}_", dir=scratch))
    env = {**os.environ, "DAGSTER_HOME": str(home), "IMPACT_ENGINE_EXECUTOR": executor}
    command = [sys.executable, str(RUN_ONCE), "--config", str(config_path), "--quiet"]
    log = home / "run_once.log"
    wall, rss, code, started_at = _run(command, env, log)
    if code != 0:
        raise SystemExit(f"run_once.py exited {code}; see {log}:\n{log.read_text()[-3000:]}")
    summary = instance_summary(home)
    return {"wall": wall, **run_timing(wall, started_at, summary), "rss": rss, **summary}


@contextlib.contextmanager
def cluster(config_path: Path, dask_workers: int):
    """A fresh ``scripts/cluster.py up`` for one config; yields the variables of its env file."""
    folder = Path(tempfile.mkdtemp(prefix="impact_bench_cluster_", dir="/tmp"))
    folder.chmod(0o755)  # PostgreSQL's user reaches its data folder through it
    command = [sys.executable, str(CLUSTER), "--dir", str(folder)]
    up = subprocess.run(
        [*command, "up", "--workers", str(dask_workers), "--config", str(config_path)],
        capture_output=True,
        text=True,
    )
    try:
        if up.returncode != 0:
            raise SystemExit(f"cluster.py up failed:\n{up.stdout}{up.stderr}")
        variables = {}
        for line in (folder / "env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                variables[name] = shlex.split(value)[0]
        yield variables
    finally:
        subprocess.run([*command, "down"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def measure_distributed(config_path: Path, scratch: Path, executor: str, dask_workers: int) -> dict:
    with cluster(config_path, dask_workers) as variables:
        env = {**os.environ, **variables, "IMPACT_ENGINE_EXECUTOR": executor}
        log = scratch / f"run_once_{config_path.stem}_distributed.log"
        wall, rss, code, started_at = _run([sys.executable, str(RUN_ONCE), "--quiet"], env, log)
        if code != 0:
            raise SystemExit(f"run_once.py exited {code}; see {log}:\n{log.read_text()[-3000:]}")
        saved = dict(os.environ)
        os.environ.update(variables)  # the instance's password comes from the environment
        try:
            summary = instance_summary(Path(variables["DAGSTER_HOME"]))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return {"wall": wall, **run_timing(wall, started_at, summary), "rss": rss, **summary}


def measure_plain(config_path: Path, scratch: Path) -> dict:
    log = scratch / f"plain_{config_path.stem}.log"
    command = [sys.executable, __file__, "--plain", str(config_path)]
    wall, rss, code, _ = _run(command, dict(os.environ), log)
    if code != 0:
        raise SystemExit(f"the plain loop exited {code}; see {log}:\n{log.read_text()[-3000:]}")
    return {"plain": wall, "plain_rss": rss}


def plain_loop(config_path: Path) -> None:
    """The loop's stages called directly on one config, printing the same report."""
    from impact_assets.cli.console import print_reports
    from impact_assets.config import load_config
    from impact_assets.loop.ids import new_loop_id
    from impact_assets.loop.report import build_loop_report
    from impact_assets.loop.stages import (
        allocate_portfolio,
        evaluate_pilots,
        measure_at_scale,
        measure_pilots,
    )

    config = load_config(config_path)
    loop_id = new_loop_id()
    pilots = measure_pilots(config, config.initiative_ids, loop_id)
    evaluations = evaluate_pilots(config, pilots, loop_id)
    allocation = allocate_portfolio(config, evaluations, loop_id)
    scales = measure_at_scale(config, allocation, config.initiative_ids, loop_id)
    report = build_loop_report(config, pilots, evaluations, allocation, scales)
    print_reports(report, config)


COLUMNS = (
    ("kind", "{:<12}"),
    ("profile", "{:>12}"),
    ("n", "{:>6}"),
    ("workers", "{:>8}"),
    ("pool", "{:>10}"),
    ("wall", "{:>8.2f}"),
    ("run", "{:>7.2f}"),
    ("launch", "{:>7.2f}"),
    ("after", "{:>6.2f}"),
    ("plain", "{:>7.2f}"),
    ("x plain", "{:>8.2f}"),
    ("run/pl", "{:>7.2f}"),
    ("ms/ap", "{:>7.2f}"),
    ("runs", "{:>5}"),
    ("events", "{:>7}"),
    ("ev/ap", "{:>6.2f}"),
    ("pilot", "{:>7.2f}"),
    ("calibrate", "{:>9.2f}"),
    ("evaluate", "{:>9.2f}"),
    ("allocate", "{:>9.2f}"),
    ("scale", "{:>7.2f}"),
    ("report", "{:>7.2f}"),
    ("checks", "{:>7.2f}"),
    ("rss MB", "{:>7.0f}"),
    ("plain MB", "{:>9.0f}"),
    ("mw", "{:>3.0f}"),
)


def print_header() -> None:
    texts = ("kind", "pool", "profile")
    widths = [len(fmt.format("" if name in texts else 0)) for name, fmt in COLUMNS]
    names = [
        name.ljust(w) if i == 0 else name.rjust(w)
        for i, ((name, _), w) in enumerate(zip(COLUMNS, widths, strict=True))
    ]
    print(" ".join(names), flush=True)


def print_row(row: dict) -> None:
    print(" ".join(fmt.format(row[name]) for name, fmt in COLUMNS), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1_000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--repeats", type=int, default=1, help="runs per row (medians shown)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2], help="max_workers values to run"
    )
    parser.add_argument(
        "--pools",
        nargs="+",
        choices=["threads", "processes"],
        default=["threads"],
        help="measure.pool values to run",
    )
    parser.add_argument("--executor", default="in_process", choices=["in_process", "multiprocess"])
    parser.add_argument(
        "--profiles",
        nargs="+",
        choices=PROFILES,
        default=["local"],
        help="local: SQLite, MEASURE on --pools; distributed: scripts/cluster.py (PostgreSQL, "
        "MEASURE on --dask-workers Dask workers: the config names no pool)",
    )
    parser.add_argument("--dask-workers", type=int, default=2, help="Dask workers (distributed)")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain loop")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument(
        "--keep",
        type=Path,
        help="write the configs and DAGSTER_HOMEs under this folder and keep them "
        "(for benchmarks/ui_graphql.py)",
    )
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_loop(args.plain)
        return
    measurements = []
    print_header()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        scratch_folder = contextlib.nullcontext(str(args.keep))
    else:
        scratch_folder = tempfile.TemporaryDirectory(prefix="impact_loop_scale_")
    with scratch_folder as folder:
        scratch = Path(folder)
        for kind in args.kinds:
            for n in args.sizes:
                rows = [
                    (profile, workers, pool)
                    for profile in args.profiles
                    for workers, pool in itertools.product(
                        args.workers, args.pools if profile == "local" else ["dask"]
                    )
                ]
                for profile, workers, pool in rows:
                    config_path = scratch / f"{kind}_{n}_{workers}_{pool}.yaml"
                    config = portfolio_config(kind, n, workers, pool=pool)
                    if profile == "distributed":
                        del config["measure"]["pool"]  # the profile's: dask
                    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
                    repeats = []
                    for _ in range(args.repeats):
                        if profile == "distributed":
                            measured = measure_distributed(
                                config_path, scratch, args.executor, args.dask_workers
                            )
                        else:
                            measured = measure_dagster(config_path, scratch, args.executor)
                        if args.no_plain:
                            measured.update(plain=float("nan"), plain_rss=float("nan"))
                        else:
                            measured.update(measure_plain(config_path, scratch))
                        repeats.append(measured)
                    row = {key: statistics.median(r[key] for r in repeats) for key in repeats[0]}
                    asset_partitions = 3 * n + 4
                    row.update(
                        kind=kind,
                        profile=profile,
                        n=n,
                        workers=workers,
                        pool=pool,
                        runs=round(row["runs"]),
                        events=round(row["events"]),
                        **{"ev/ap": row["events"] / asset_partitions},
                        **{"ms/ap": 1000 * (row["wall"] - row["plain"]) / asset_partitions},
                        **{"x plain": row["wall"] / row["plain"]},
                        **{"run/pl": row["run"] / row["plain"]},
                        **{"rss MB": row["rss"], "plain MB": row["plain_rss"]},
                    )
                    print_row(row)
                    measurements.append({**row, "repeats": repeats})
    if args.json:
        args.json.write_text(json.dumps(measurements, indent=2) + "\n")


if __name__ == "__main__":
    main()
