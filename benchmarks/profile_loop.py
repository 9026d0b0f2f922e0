"""Where a loop's time goes: one loop of ``loop_scale.py``'s portfolio under cProfile.

The loop runs in this process (``run_impact_loop``, in-process executor) on a fresh
SQLite ``DAGSTER_HOME`` with the project's instance settings, so the profile sees the
steps' own work and Dagster's bookkeeping together. Printed: the wall time, the time
inside a few functions that stand for the parts of a loop (cumulative seconds, calls),
and the functions with the most time of their own.

    python benchmarks/profile_loop.py --n 1000 [--kind statistical] [--top 25] [--save out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loop_scale import portfolio_config  # noqa: E402

# (label, file fragment, function name): the first match in the profile's table
PARTS = [
    ("whole run (run_impact_loop)", "impact_assets/api.py", "run_impact_loop"),
    ("event writes (store_event)", "dagster", "store_event"),
    ("partition metadata (add_asset_metadata)", "dagster", "add_asset_metadata"),
    ("asset values written (IO manager)", "impact_assets/lib/io_manager.py", "handle_output"),
    ("asset values read (IO manager)", "impact_assets/lib/io_manager.py", "load_input"),
    ("MEASURE, pilots (measure_pilots)", "impact_assets/loop/stages.py", "measure_pilots"),
    ("MEASURE, at scale (measure_at_scale)", "impact_assets/loop/stages.py", "measure_at_scale"),
    ("EVALUATE (evaluate_pilots)", "impact_assets/loop/stages.py", "evaluate_pilots"),
    ("ALLOCATE (allocate_portfolio)", "impact_assets/loop/stages.py", "allocate_portfolio"),
    ("SQLite statements (sqlite3 execute)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("SQLite commits", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("SQLite connects", "~", "<built-in method _sqlite3.connect>"),
]


def part_rows(stats: pstats.Stats) -> list[tuple[str, float, int]]:
    rows = []
    for label, fragment, name in PARTS:
        found = [
            (cumulative, calls)
            for (path, _, function), (_, calls, _, cumulative, _) in stats.stats.items()
            if function == name and fragment in path
        ]
        if found:
            cumulative = max(c for c, _ in found)
            calls = sum(n for _, n in found)
            rows.append((label, cumulative, calls))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--kind", choices=["mock", "statistical"], default="statistical")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="also write the raw profile here")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="impact_profile_"))
    home = scratch / "home"
    home.mkdir()
    os.environ["DAGSTER_HOME"] = str(home)
    config_path = scratch / "config.yaml"
    config_path.write_text(yaml.safe_dump(portfolio_config(args.kind, args.n, 1)))

    import dagster as dg

    from impact_assets.api import run_impact_loop
    from impact_assets.lib.instance_settings import ensure_instance_settings

    ensure_instance_settings(home)
    profiler = cProfile.Profile()
    with dg.DagsterInstance.get() as instance:
        start = time.perf_counter()
        profiler.enable()
        run_impact_loop(config_path, instance, loop_id="20260101T000000Z-profile")
        profiler.disable()
        wall = time.perf_counter() - start
    if args.save:
        profiler.dump_stats(str(args.save))
    stats = pstats.Stats(profiler)
    print(f"{args.kind} portfolio of {args.n:,}: {wall:.1f} s in this process")
    print(f"{'part':<44} {'seconds':>8} {'calls':>9} {'share':>6}")
    for label, seconds, calls in part_rows(stats):
        print(f"{label:<44} {seconds:>8.2f} {calls:>9,} {seconds / wall:>6.0%}")
    print(f"\nthe {args.top} functions with the most time of their own:")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
