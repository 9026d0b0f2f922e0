"""Stage progress (``[1/5] MEASURE (pilot)...``) printed from the run's event log."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import dagster as dg

from impact_assets.lib.keys import ALLOCATION, LOOP_ID_TAG, LOOP_JOB

POLL_SECONDS = 1.0

STAGE_LINES = {
    "pilot_results": "  [1/5] MEASURE (pilot)...",
    "evaluations": "  [2/5] EVALUATE...",
    "allocation": "  [3/5] ALLOCATE...",
    "scale_results": "  [4/5] MEASURE (scale)...",
    "outcome_reports": "  [5/5] Generating reports...",
}


class ProgressPrinter:
    """Says each stage as its step starts, wherever the run executes.

    The run is found by its ``impact/loop_id`` tag, so this works whether it runs
    in this process, step by step in subprocesses, or in a worker the run queue
    started. A thread polls the event log; ``stop()`` prints what is left.
    """

    def __init__(self, instance: dg.DagsterInstance, loop_id: str, say: Callable[[str], None]):
        self._instance, self._loop_id, self._say = instance, loop_id, say
        self._run_id: str | None = None
        self._started = datetime.now(timezone.utc)
        self._seen: set[str] = set()
        self._queued_said = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="loop-progress", daemon=True)

    def start(self) -> ProgressPrinter:
        self._started = datetime.now(timezone.utc) - timedelta(seconds=1)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._check()

    def __enter__(self) -> ProgressPrinter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _poll(self) -> None:
        # each look is a few queries on the instance's database: looking ten times a
        # second cost the CLI about a sixth of a core while the run worker wrote its events
        while not self._stopped.wait(POLL_SECONDS):
            # progress is a courtesy; the run's outcome is reported anyway
            with contextlib.suppress(Exception):
                self._check()

    def _find_run(self) -> str | None:
        run_ids = self._instance.get_run_ids(
            dg.RunsFilter(
                job_name=LOOP_JOB,
                tags={LOOP_ID_TAG: self._loop_id},
                created_after=self._started,
            ),
            limit=1,
        )
        return run_ids[0] if run_ids else None

    def _check(self) -> None:
        self._run_id = self._run_id or self._find_run()
        if self._run_id is None:
            return
        run = self._instance.get_run_by_id(self._run_id)
        if run is not None and run.status is dg.DagsterRunStatus.QUEUED and not self._queued_said:
            self._queued_said = True
            self._say("  queued: waiting for the run queue (one loop at a time on this instance)")
        records = self._instance.all_logs(self._run_id, of_type=dg.DagsterEventType.STEP_START)
        for record in records:
            step = record.step_key
            if step in STAGE_LINES and step not in self._seen:
                self._seen.add(step)
                if step == "scale_results":
                    self._announce_selection()
                self._say(STAGE_LINES[step])

    def _announce_selection(self) -> None:
        """How many initiatives this run's allocation selected (its materialization says)."""
        event = self._instance.get_latest_materialization_event(ALLOCATION)
        if event is None or event.run_id != self._run_id:
            return
        selected = event.asset_materialization.metadata.get("selected_count")
        if selected is not None:
            self._say(f"       Selected {selected.value} initiatives")
