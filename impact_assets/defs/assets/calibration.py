"""The learning loop: every past loop's pilots against scale, and the calibration fitted from them.

``calibration_history`` runs at the start of a loop. It cannot be downstream of
``outcome_reports`` (that would be a cycle through ``evaluations``), so it reads the
previous loop's stored reports, and its own previous value, through the IO manager:
the reports are written only at the end of a loop, so this loop's steps never race
it. ``calibration`` is fitted on the history and on every pilot of this loop, and
``evaluations`` reads it.
"""

import dagster as dg

from impact_assets.calibration.history_file import HistoryFileError
from impact_assets.contracts import Calibration, CalibrationHistory, LoopReport, MeasurementRecord
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    CALIBRATION,
    CALIBRATION_HISTORY,
    LOOP_GROUP,
    LOOP_POOL,
    OUTCOME_REPORTS,
    OWNERS,
    PILOT_RESULTS,
    STAGE_TAG,
    STAGES,
)
from impact_assets.lib.loop_context import run_loop_id
from impact_assets.lib.metadata import (
    COLUMN_SCHEMA,
    HISTORY_SCHEMA,
    RATIO_SCHEMA,
    calibration_metadata,
    history_metadata,
)
from impact_assets.lib.turns import wait_for_turn
from impact_assets.loop.calibration import calibrate, current_evidence, update_history


def _stored(context: dg.AssetExecutionContext, asset: dg.AssetKey, kind: type):
    """The stored value of ``asset``, if it is a ``kind`` (None before the first loop)."""
    value = context.resources.io_manager.read_or_none(asset)
    return value if isinstance(value, kind) else None


@dg.asset(
    key=CALIBRATION_HISTORY,
    group_name=LOOP_GROUP,
    tags={STAGE_TAG: STAGES["calibration_history"]},
    kinds={"python"},
    owners=OWNERS,
    pool=LOOP_POOL,
    # the IO manager is read directly (the previous reports, its own previous value), so the
    # resources are named here rather than as typed parameters (Dagster takes one or the other)
    required_resource_keys={"io_manager", "impact_config"},
    metadata={COLUMN_SCHEMA: HISTORY_SCHEMA},
)
def calibration_history(context: dg.AssetExecutionContext) -> CalibrationHistory:
    """Every loop's pilots and pilot-against-scale pairs so far, plus the config's history file."""
    wait_for_turn(context)
    config = context.resources.impact_config.load_or_fail()
    loop_id = run_loop_id(context)
    previous = _stored(context, CALIBRATION_HISTORY, CalibrationHistory)
    last_report = _stored(context, OUTCOME_REPORTS, LoopReport)
    try:
        history = update_history(previous, last_report, config, loop_id)
    except HistoryFileError as error:
        raise dg.Failure(
            description=f"calibration.history_file: {error}",
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in error.problems))},
            allow_retries=False,
        ) from None
    added = last_report.loop_id if last_report is not None else "none (first loop)"
    context.log.info(
        f"calibration history: {len(history.records)} pilots, {len(history.pairs)} pairs "
        f"(added the records of loop {added})"
    )
    context.add_output_metadata({**history_metadata(history), "added_loop": added})
    return history


@dg.asset(
    key=CALIBRATION,
    ins={
        "calibration_history": dg.AssetIn(CALIBRATION_HISTORY),
        "pilot_results": dg.AssetIn(PILOT_RESULTS),
    },
    group_name=LOOP_GROUP,
    tags={STAGE_TAG: STAGES["calibration"]},
    kinds={"python", "matplotlib"},
    owners=OWNERS,
    pool=LOOP_POOL,
    metadata={COLUMN_SCHEMA: RATIO_SCHEMA},
)
def calibration(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    calibration_history: CalibrationHistory,
    pilot_results: dict[str, MeasurementRecord],
) -> Calibration:
    """The effect-size prior and each method's ratio of scale to pilot, learnt from the history."""
    config = impact_config.load_or_fail()
    loop_id = run_loop_id(context)
    pilots = {key: pilot_results.get(key) for key in config.initiative_ids}
    fitted = calibrate(config, pilots, calibration_history, loop_id)
    for note in fitted.notes:
        context.log.info(note)
    methods = [pilot.method for pilot in current_evidence(config, pilots)]
    context.add_output_metadata(calibration_metadata(fitted, calibration_history, methods))
    return fitted
