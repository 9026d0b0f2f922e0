"""REPORT: predicted against actual for every scaled initiative, and the portfolio summary."""

import dagster as dg

from impact_assets.contracts import (
    AllocateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
)
from impact_assets.defs.assets.keys import (
    ALLOCATION,
    EVALUATIONS,
    OUTCOME_REPORTS,
    OWNERS,
    PILOT_RESULTS,
    SCALE_RESULTS,
)
from impact_assets.defs.resources import ImpactConfigResource
from impact_assets.loop.report import build_loop_report
from impact_assets.loop.tables import markdown_table, report_rows


@dg.asset(
    key=OUTCOME_REPORTS,
    ins={
        "pilot_results": dg.AssetIn(PILOT_RESULTS),
        "evaluations": dg.AssetIn(EVALUATIONS),
        "allocation": dg.AssetIn(ALLOCATION),
        "scale_results": dg.AssetIn(SCALE_RESULTS),
    },
    group_name="report",
    kinds={"python"},
    owners=OWNERS,
)
def outcome_reports(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    pilot_results: dict[str, MeasurementRecord],
    evaluations: dict[str, EvaluationRecord],
    allocation: AllocateResult,
    scale_results: dict[str, MeasurementRecord],
) -> LoopReport:
    """How the pilots' predictions compare with the scale measurements, and how good the pick was.

    One report per scaled initiative and a summary of the portfolio decision.
    """
    config = impact_config.load_or_fail()
    context.log.info("[5/5] Generating reports")
    report = build_loop_report(config, pilot_results, evaluations, allocation, scale_results)
    summary = report.summary
    context.add_output_metadata(
        {
            "loop_id": report.loop_id,
            "row_count": len(report.reports),
            "reports": dg.MetadataValue.md(markdown_table(report_rows(report))),
            "summary": dg.MetadataValue.json(summary.to_dict()),
            "budget_used": summary.total_budget_used,
        }
    )
    return report
