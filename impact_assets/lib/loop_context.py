"""What every loop asset asks of its run: the loop id, and metadata helpers."""

from __future__ import annotations

import dagster as dg

from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.loop.ids import new_loop_id


def run_loop_id(context: dg.AssetExecutionContext) -> str:
    """The run's ``impact/loop_id`` tag, or one made from the run's start time and id.

    Runs launched by the CLI or the schedule carry the tag; a run launched from
    the UI gets an id from its creation time (so loop ids still sort by time)
    and its backfill id, or run id.
    """
    tags = context.run.tags
    if tags.get(LOOP_ID_TAG):
        return tags[LOOP_ID_TAG]
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.create_timestamp if record is not None else None
    suffix = (tags.get("dagster/backfill") or context.run_id)[:8]
    return new_loop_id(started, suffix)


def count_statuses(records) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status.value] = counts.get(record.status.value, 0) + 1
    return dict(sorted(counts.items()))
