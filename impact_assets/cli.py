"""``python scripts/run_once.py``: run the impact loop once through Dagster and print the outcome.

Exit status: 0 success; 2 the config is invalid (one line per problem on
stderr); 1 a stage or an initiative failed (which, and why).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from impact_assets.config import (
    CONFIG_ENV_VAR,
    PROJECT_ROOT,
    ConfigError,
    PortfolioConfig,
    default_config_path,
    load_config,
)
from impact_assets.contracts import LoopReport

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

EXIT_OK, EXIT_FAILED, EXIT_INVALID_CONFIG = 0, 1, 2
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"
LOOP_LOCK_FILE = "impact_loop.lock"
# Marks the runs this command launches: while it holds the loop lock, a run so tagged
# that is still in progress was left behind by a killed run_once.py.
LAUNCHED_BY_TAG = "impact/launched_by"
LAUNCHED_BY = "run_once"
STAGE_LINES = {
    "pilot_results": "  [1/5] MEASURE (pilot)...",
    "evaluations": "  [2/5] EVALUATE...",
    "allocation": "  [3/5] ALLOCATE...",
    "scale_results": "  [4/5] MEASURE (scale)...",
    "outcome_reports": "  [5/5] Generating reports...",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_once.py",
        description="Run the impact loop once (pilot, evaluate, allocate, scale, report).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"portfolio config (default: ${CONFIG_ENV_VAR} or config.yaml at the project root)",
    )
    parser.add_argument("--output-json", type=Path, help="also write every record to this file")
    parser.add_argument(
        "--loop-id", help="id for this loop (default: its start time and a random suffix)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the report")
    return parser.parse_args(argv)


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``.dagster_home/`` at the project root (created)."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        from impact_assets.defs.event_log import instance_settings
        from impact_assets.defs.io_manager import write_atomically

        # Dagster's SQLite storage in this folder, its event log kept connected; no usage
        # statistics sent. Written atomically: another loop starting now may be reading it.
        write_atomically(settings, instance_settings(home))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextlib.contextmanager
def loop_lock(home: Path) -> Iterator[None]:
    """Hold the instance's loop lock, so loops on one instance take turns.

    Stored values are the latest per asset partition: two loops writing at once
    would mix their records. The operating system releases the lock when the
    process ends, even if it is killed.
    """
    with open(home / LOOP_LOCK_FILE, "a+b") as handle:
        if not _lock(handle, wait=False):
            print(f"waiting for another loop on {home} to finish...", file=sys.stderr, flush=True)
            _lock(handle, wait=True)
        try:
            yield
        finally:
            _unlock(handle)


def _lock(handle: Any, wait: bool) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True
    while True:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            if not wait:
                return False
            time.sleep(0.2)
        else:
            return True


def _unlock(handle: Any) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    else:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


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
    os.environ[CONFIG_ENV_VAR] = str(config_path)
    try:
        return run_loop(config, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # the CLI reports, it does not dump a traceback on the user
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("IMPACT_ENGINE_DEBUG"):
            traceback.print_exc()
        return EXIT_FAILED


def run_loop(config: PortfolioConfig, args: argparse.Namespace) -> int:
    import dagster as dg

    from impact_assets.api import run_impact_loop
    from impact_assets.defs.executors import executor_name
    from impact_assets.loop.ids import new_loop_id

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda text: print(text, file=out, flush=True))
    home = dagster_home()
    say(f"Running pipeline with {len(config.initiatives)} initiatives...")
    if executor_name() != "in_process":
        say(f"  (executor {executor_name()}: each step runs in its own process)")
    loop_id = args.loop_id or new_loop_id()
    with loop_lock(home):
        # inside the lock: a new instance creates its SQLite tables on first use
        instance = dg.DagsterInstance.get()
        for run_id in fail_abandoned_runs(instance):
            say(f"  marked run {run_id} failed: the run_once.py running it was stopped")
        progress = _ProgressPrinter(instance, loop_id, say)
        progress.start()
        try:
            run = run_impact_loop(
                config.source_path,
                instance,
                loop_id=loop_id,
                tags={LAUNCHED_BY_TAG: LAUNCHED_BY},
            )
        finally:
            progress.stop()

    values, outcome = run.values, run.outcome
    if values.report is not None:
        print_reports(values.report, config, out)
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


def fail_abandoned_runs(instance: Any) -> list[str]:
    """Mark failed the runs a killed ``run_once.py`` left in progress; call under the lock.

    Only this command's runs are touched: runs launched from the UI, a schedule or a
    sensor are not tagged and are left alone.
    """
    import dagster as dg

    in_progress = [
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=in_progress, tags={LAUNCHED_BY_TAG: LAUNCHED_BY})
    )
    for run in runs:
        instance.report_run_failed(
            run, "the run_once.py process running this loop stopped before the run ended"
        )
    return [run.run_id for run in runs]


class _ProgressPrinter:
    """Prints ``[k/5]`` as each stage's step starts, from the run's event log.

    The run is found by its ``impact/loop_id`` tag, so this works whether the run
    executes in this process or is executed step by step in subprocesses.
    """

    def __init__(self, instance: Any, loop_id: str, say):
        self._instance, self._loop_id, self._say = instance, loop_id, say
        self._run_id: str | None = None
        self._started = datetime.now(timezone.utc)
        self._seen: set[str] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._started = datetime.now(timezone.utc) - timedelta(seconds=1)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._check()

    def _poll(self) -> None:
        while not self._stopped.wait(0.1):
            # progress is a courtesy; the run's outcome is reported anyway
            with contextlib.suppress(Exception):
                self._check()

    def _find_run(self) -> str | None:
        from dagster import RunsFilter

        from impact_assets.defs.assets.keys import LOOP_ID_TAG

        run_ids = self._instance.get_run_ids(
            RunsFilter(
                job_name="impact_loop",
                tags={LOOP_ID_TAG: self._loop_id},
                created_after=self._started,
            ),
            limit=1,
        )
        return run_ids[0] if run_ids else None

    def _check(self) -> None:
        from dagster import DagsterEventType

        self._run_id = self._run_id or self._find_run()
        if self._run_id is None:
            return
        records = self._instance.all_logs(self._run_id, of_type=DagsterEventType.STEP_START)
        for record in records:
            step = record.step_key
            if step in STAGE_LINES and step not in self._seen:
                self._seen.add(step)
                if step == "scale_results":
                    self._announce_selection()
                self._say(STAGE_LINES[step])

    def _announce_selection(self) -> None:
        from impact_assets.defs.io_manager import read_stored

        try:
            allocation = read_stored(self._instance, "allocation")
        except (OSError, ValueError):
            return
        self._say(f"       Selected {len(allocation.selected_initiatives)} initiatives")


def _money(value: float) -> str:
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


def print_reports(report: LoopReport, config: PortfolioConfig, out: TextIO = sys.stdout) -> None:
    """The seed's OUTCOME REPORTS and SUMMARY, plus how good the decision was where known."""
    in_currency = any(i.value_per_unit != 1 for i in config.initiatives)

    def amount(value: float, signed: bool = False) -> str:
        if in_currency:
            return ("+" if signed and value >= 0 else "") + _money(value)
        return f"{value:+.2%}" if signed else f"{value:.2%}"

    def line(text: str = "") -> None:
        print(text, file=out)

    rule = "=" * 70
    line()
    line(rule)
    line("OUTCOME REPORTS")
    line(rule)
    for r in report.reports:
        line()
        line(r.initiative_id)
        line("-" * 40)
        line(f"  Predicted: {amount(r.predicted_return)}")
        line(f"  Actual:    {amount(r.actual_return)}")
        line(f"  Error:     {amount(r.prediction_error, signed=True)}")
        line(f"  Confidence: {r.confidence_score:.2f} ({r.model_type.value})")
        line(f"  Budget:    {_money(r.budget_allocated)}")
        line(f"  Samples:   {r.sample_size_pilot} → {r.sample_size_scale}")
        if r.true_effect is not None:
            covers = "yes" if r.pilot_ci_covers_scale_truth else "no"
            line(f"  True effect at scale: {r.true_effect:.4f} (pilot CI covers it: {covers})")
        if r.pilot_ci_covers_pilot_truth is not None:
            covers = "yes" if r.pilot_ci_covers_pilot_truth else "no"
            line(f"  Pilot CI covers the pilot's true effect: {covers}")

    s = report.summary
    line()
    line(rule)
    line("SUMMARY")
    line(rule)
    line(f"  Initiatives evaluated: {s.initiatives_evaluated}")
    line(f"  Initiatives selected:  {s.initiatives_selected}")
    if s.awaiting_data:
        line(f"  Awaiting scale data:   {', '.join(s.awaiting_data)}")
    if s.failed:
        line(f"  Failed:                {', '.join(s.failed)}")
    if not report.reports:
        line("  No initiatives selected for scaling.")
        return
    line(f"  Total budget used:     {_money(s.total_budget_used)}")
    line(f"  Avg prediction error:  {amount(s.avg_abs_prediction_error)}")
    line(f"  Mean prediction error: {amount(s.mean_prediction_error, signed=True)}")
    if s.oracle_ratio is not None:
        line(f"  Realised true value:   {_money(s.realised_value)}")
        line(f"  Oracle's true value:   {_money(s.oracle_value)}")
        line(f"  Oracle ratio:          {s.oracle_ratio:.1%}")
    elif s.oracle_omitted_reason:
        line(f"  Oracle comparison:     omitted ({s.oracle_omitted_reason})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
