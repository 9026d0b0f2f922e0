"""``python scripts/run_once.py``: validate, run the loop through Dagster, print the outcome.

Exit status: 0 success; 2 the config is invalid (one line per problem on
stderr); 1 a stage or an initiative failed (which, and why).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from argparse import Namespace
from collections.abc import Sequence

from impact_assets.cli.arguments import parse_args
from impact_assets.config import (
    CONFIG_ENV_VAR,
    ConfigError,
    PortfolioConfig,
    default_config_path,
    load_config,
)

EXIT_OK, EXIT_FAILED, EXIT_INVALID_CONFIG = 0, 1, 2
# Marks the runs this command launches (the UI can filter on it).
LAUNCHED_BY_TAG = "impact/launched_by"
LAUNCHED_BY = "run_once"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config_path = (args.config or default_config_path()).resolve()
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: invalid config {config_path}:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    # the definitions this process loads for the run are built for the same config
    os.environ[CONFIG_ENV_VAR] = str(config_path)
    try:
        return run_loop(config, args)
    except KeyboardInterrupt:
        print("interrupted: the loop's run was canceled", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # the CLI reports, it does not dump a traceback on the user
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        if lost_database(error):
            print(
                "  the Dagster instance's database stopped answering, so this loop's run "
                "could not be followed or record its end. When the database is back "
                "(`python scripts/cluster.py up` starts the cluster's again), run the loop "
                "again: the next loop marks this run failed.",
                file=sys.stderr,
            )
        if os.environ.get("IMPACT_ENGINE_DEBUG"):
            traceback.print_exc()
        return EXIT_FAILED


def lost_database(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the instance's database is unreachable."""
    from sqlalchemy.exc import OperationalError

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OperationalError) or type(seen).__name__ == "DagsterPostgresException":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run_loop(config: PortfolioConfig, args: Namespace) -> int:
    import dagster as dg

    from impact_assets.api import run_impact_loop
    from impact_assets.cli.console import header_lines, print_decision, print_reports
    from impact_assets.cli.home import dagster_home
    from impact_assets.cli.progress import ProgressPrinter
    from impact_assets.lib.turns import fail_runs_of_gone_owners, loop_runs_in_progress
    from impact_assets.loop.ids import new_loop_id

    out = sys.stdout
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=out, flush=True))
    home = dagster_home()
    say(f"Running pipeline with {len(config.initiatives)} initiatives...")
    for text in header_lines(config):
        say(text)
    if args.executor != "in_process":
        say(f"  (executor {args.executor}: each step runs in its own process)")
    loop_id = args.loop_id or new_loop_id()
    instance = dg.DagsterInstance.get()
    for run_id in fail_runs_of_gone_owners(instance):
        say(f"  marked run {run_id} failed: the process that ran it ended without recording it")
    for record in loop_runs_in_progress(instance):
        say(
            f"  waiting: loop run {record.dagster_run.run_id} is in progress on this "
            "instance; this loop starts when it ends (one loop at a time)"
        )
    # --quiet prints no progress: nothing to poll the event log for
    progress = contextlib.nullcontext() if args.quiet else ProgressPrinter(instance, loop_id, say)
    with progress:
        run = run_impact_loop(
            config.source_path,
            instance,
            loop_id=loop_id,
            tags={LAUNCHED_BY_TAG: LAUNCHED_BY},
            executor=args.executor,
        )

    values, outcome = run.values, run.outcome
    if values.report is not None:
        print_reports(
            values.report, config, out, (values.pilots, values.scales), values.calibration
        )
    if values.allocation is not None and not args.quiet:
        print_decision(values.allocation, config, home, args.output_json, out)
    if args.output_json:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        args.output_json.write_text(json.dumps(values.to_document(), indent=2) + "\n")

    failures = values.failures
    if not outcome.success:
        print(f"\nerror: the loop's run {outcome.run_id} failed:", file=sys.stderr)
        for step, message in outcome.step_failures:
            print(f"  {step}: {message}", file=sys.stderr)
    if failures:
        print(f"\n{len(failures)} initiative(s) failed:", file=sys.stderr)
        for failure in failures:
            print(
                f"  {failure['initiative_id']} ({failure['stage']}): {failure['cause']}",
                file=sys.stderr,
            )
    return EXIT_OK if outcome.success and not failures else EXIT_FAILED
