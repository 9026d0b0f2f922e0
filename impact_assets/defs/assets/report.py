"""REPORT: predicted against actual for every scaled initiative, and the portfolio summary."""

import dagster as dg

from impact_assets.contracts import (
    AllocateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
)
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    ALLOCATION,
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
from impact_assets.lib.metadata import COLUMN_SCHEMA, REPORT_SCHEMA, report_metadata
from impact_assets.loop.report import build_loop_report


@dg.asset(
    key=OUTCOME_REPORTS,
    ins={
        "pilot_results": dg.AssetIn(PILOT_RESULTS),
        "evaluations": dg.AssetIn(EVALUATIONS),
        "allocation": dg.AssetIn(ALLOCATION),
        "scale_results": dg.AssetIn(SCALE_RESULTS),
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
) -> LoopReport:
    """How each scaled initiative's pilot prediction compares with its measurement at scale."""
    config = impact_config.load_or_fail()
    context.log.info("[5/5] Generating reports")
    report = build_loop_report(config, pilot_results, evaluations, allocation, scale_results)
    context.add_output_metadata(report_metadata(report, evaluations, config))
    return report
