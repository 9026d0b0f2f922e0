"""Time the MEASURE fan-out: threads against processes, 1 and 2 workers, same records.

    python benchmarks/measure_fanout.py [--n 200] [--sample-size 2000]
                                        [--methods experiment difference_in_differences ...]
                                        [--workers 1 2] [--repeats 3]

For each method this builds a config of ``n`` simulated initiatives, every pilot of
``--sample-size`` units (time points for ITS), and times the pilot MEASURE step
(:func:`impact_assets.loop.stages.measure_pilots`, what the ``pilot_results`` asset
calls) with ``measure.pool`` set to ``threads`` and ``processes`` and each
``max_workers`` value, in this one process. Reported: the median wall time in seconds
over ``--repeats``, the speed-up of each row against threads with one worker, and
whether the records equal that row's (they must: every sample derives from the seed
and the initiative id, whichever worker draws it). The process pool's start-up (the
fork server importing the estimators once per process, then one fork per worker) is
paid once per process; it is timed on its own before the table, and the table's rows
reuse the running fork server, as the scale MEASURE does after the pilot's.
"""

from __future__ import annotations

import argparse
import statistics
import time

from impact_assets.config.models import PortfolioConfig
from impact_assets.loop.stages import measure_pilots

METHODS = (
    "experiment",
    "difference_in_differences",
    "interrupted_time_series",
    "observational",
)


def portfolio(method: str, n: int, sample_size: int, pool: str, workers: int) -> PortfolioConfig:
    """``n`` simulated initiatives of ``method``, measured on ``pool`` with ``workers``."""
    return PortfolioConfig.model_validate(
        {
            "budget": 1.0,
            "scale_sample_size": max(5000, sample_size),
            "max_workers": workers,
            "measure": {"component": "statistical", "pool": pool},
            "initiatives": [
                {
                    "initiative_id": f"initiative-{index:05d}",
                    "cost_to_scale": 1.0,
                    "method": method,
                    "data": {"source": "simulated", "pilot_sample_size": sample_size},
                }
                for index in range(n)
            ],
        }
    )


def timed(config: PortfolioConfig, repeats: int) -> tuple[float, dict]:
    """The median wall time of the pilot MEASURE over ``repeats``, and its records."""
    times, records = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        records = measure_pilots(config, config.initiative_ids, "benchmark")
        times.append(time.perf_counter() - start)
    failed = [record for record in records.values() if not record.ok]
    if failed:
        raise SystemExit(f"{len(failed)} measurements failed, e.g. {failed[0].cause}")
    return statistics.median(times), records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="initiatives per method")
    parser.add_argument("--sample-size", type=int, default=2000, help="units per pilot")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    # Untimed: the estimators' lazy imports, and the process pool's fork server (once
    # per process, as in a run: reported on its own line).
    timed(portfolio(args.methods[0], 2, 100, "threads", 1), 1)
    startup, _ = timed(portfolio(args.methods[0], 2, 100, "processes", 2), 1)
    print(f"process pool start-up, first use in a process: {startup:.2f} s")
    print(f"{'method':<26} {'pool':<10} {'workers':>7} {'seconds':>8} {'speed-up':>9} same")
    for method in args.methods:
        reference_time, reference = None, None
        for pool in ("threads", "processes"):
            for workers in args.workers:
                config = portfolio(method, args.n, args.sample_size, pool, workers)
                seconds, records = timed(config, args.repeats)
                if reference is None:
                    reference_time, reference = seconds, records
                same = "yes" if records == reference else "NO"
                print(
                    f"{method:<26} {pool:<10} {workers:>7} {seconds:>8.2f} "
                    f"{reference_time / seconds:>8.2f}x {same}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
