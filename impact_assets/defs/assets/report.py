"""REPORT: predicted against actual for every scaled initiative, and the portfolio summary.

The last step of a loop, so it also keeps every value of the loop in one file (the
IO manager's ``write_loop``): the per-asset values are replaced by the next loop,
which the run queue may start as soon as this run ends, before the CLI has read
this loop's values back.
"""

import dagster as dg

from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
)
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.io_manager import RecordIOManager
from impact_assets.lib.keys import (
    ALLOCATION,
    CALIBRATION,
    EVALUATIONS,
    LOOP_GROUP,
    LOOP_POOL,
    OUTCOME_REPORTS,
    OWNERS,
    PILOT_RESULTS,
    SCALE_RESULTS,
    STAGE_TAG,
    STAGES,
)
from impact_assets.lib.loop_context import run_loop_id
from impact_assets.lib.metadata import COLUMN_SCHEMA, REPORT_SCHEMA, report_metadata
from impact_assets.loop.report import build_loop_report


@dg.asset(
    key=OUTCOME_REPORTS,
    ins={
        "pilot_results": dg.AssetIn(PILOT_RESULTS),
        "evaluations": dg.AssetIn(EVALUATIONS),
        "allocation": dg.AssetIn(ALLOCATION),
        "scale_results": dg.AssetIn(SCALE_RESULTS),
        "calibration": dg.AssetIn(CALIBRATION),
    },
    group_name=LOOP_GROUP,
    tags={STAGE_TAG: STAGES["outcome_reports"]},
    kinds={"python", "matplotlib"},
    owners=OWNERS,
    pool=LOOP_POOL,
    metadata={COLUMN_SCHEMA: REPORT_SCHEMA},
)
def outcome_reports(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    pilot_results: dict[str, MeasurementRecord],
    evaluations: dict[str, EvaluationRecord],
    allocation: AllocateResult,
    scale_results: dict[str, MeasurementRecord],
    calibration: Calibration,
) -> LoopReport:
    """How each scaled initiative's pilot prediction compares with its measurement at scale."""
    config = impact_config.load_or_fail()
    context.log.info("[5/5] Generating reports")
    report = build_loop_report(config, pilot_results, evaluations, allocation, scale_results)
    context.add_output_metadata(report_metadata(report, evaluations, config))
    store = context.resources.io_manager
    if isinstance(store, RecordIOManager):  # an IO manager of the user's own keeps no loop files
        loop_values = {
            "pilot_results": pilot_results,
            "evaluations": evaluations,
            "calibration": calibration,
            "allocation": allocation,
            "scale_results": scale_results,
            "outcome_reports": report,
        }
        store.write_loop(run_loop_id(context), context.run.run_id, loop_values)
    return report
