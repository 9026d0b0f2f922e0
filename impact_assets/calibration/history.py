"""The history's rules: how a loop's records join it, and which records a fit uses.

- **Append-only by loop.** A loop's records replace any earlier records of the same
  loop id (a loop run again, or completed later when scale data arrived), so nothing
  is counted twice; other loops' records are kept.
- **The history file** contributes its current rows: they replace the rows of the
  previous version of the file, and disappear when the config no longer names one.
- **One record per initiative in a fit.** An initiative in several loops (a portfolio
  that keeps its initiatives) is the same evidence each time: a fit uses its newest
  record with a measurement at scale, else its newest record. The effect-size prior
  uses the loops' pilots (every candidate of every loop, whether scaled or not), except
  initiatives of the current portfolio, whose current pilot stands in; rows of the
  history file are pairs of initiatives that were scaled, i.e. chosen for their
  pilots, so they inform the ratios but never the prior (as a sample of effect sizes
  they carry the winner's curse).
- **A loop never learns from itself.** A fit for loop L leaves out L's own records, so
  a loop run again (after a failure, or on purpose) gets the calibration its first run
  had, not one fitted on the scale results it is about to predict.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from impact_assets.contracts.calibration import (
    SOURCE_FILE,
    SOURCE_LOOP,
    CalibrationHistory,
    CalibrationRecord,
)


def merge_history(
    previous: CalibrationHistory | None,
    loop_records: Sequence[CalibrationRecord] | None,
    file_records: Sequence[CalibrationRecord] | None,
    history_file: str | None,
    loop_id: str,
) -> CalibrationHistory:
    """The history with one loop's records (replacing that loop's) and the file's current rows."""
    records = list(previous.records) if previous is not None else []
    if loop_records:
        loops = {record.loop_id for record in loop_records}
        if any(record.source != SOURCE_LOOP for record in loop_records):
            raise ValueError("loop_records: every record must come from a loop")
        records = [r for r in records if not (r.source == SOURCE_LOOP and r.loop_id in loops)]
        records += list(loop_records)
    records = [r for r in records if r.source != SOURCE_FILE] + list(file_records or [])
    records.sort(key=lambda r: (r.source, r.loop_id, r.initiative_id))
    return CalibrationHistory(records=records, loop_id=loop_id, history_file=history_file)


def other_loops_records(
    history: CalibrationHistory | None, current_loop: str | None
) -> list[CalibrationRecord]:
    """The history's records a fit of ``current_loop`` may use: all but that loop's own."""
    if history is None:
        return []
    return [
        r for r in history.records if not (r.source == SOURCE_LOOP and r.loop_id == current_loop)
    ]


def records_for_fit(
    history: CalibrationHistory | None,
    current_ids: Collection[str],
    current_loop: str | None = None,
) -> tuple[list[CalibrationRecord], list[CalibrationRecord]]:
    """``(pilots for the prior, pilot-against-scale pairs)`` under the rules above, for a
    fit of ``current_loop`` (whose own records are left out)."""
    if history is None:
        return [], []
    usable = other_loops_records(history, current_loop)
    newest: dict[str, CalibrationRecord] = {}
    for record in sorted((r for r in usable if r.source == SOURCE_LOOP), key=lambda r: r.loop_id):
        kept = newest.get(record.initiative_id)
        if kept is None or record.scaled or not kept.scaled:
            newest[record.initiative_id] = record
    prior_records = [r for i, r in sorted(newest.items()) if i not in current_ids]
    pairs = [r for _, r in sorted(newest.items()) if r.scaled]
    pairs += [
        r for r in usable if r.source == SOURCE_FILE and r.scaled and r.initiative_id not in newest
    ]
    return prior_records, pairs
