"""Asset checks: what construction of a single record cannot guarantee across records."""

from collections import Counter

import dagster as dg

from impact_assets.contracts import (
    AllocateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    RecordStatus,
)
from impact_assets.contracts._validation import close_enough
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    ALLOCATION,
    EVALUATIONS,
    OUTCOME_REPORTS,
    PILOT_RESULTS,
    SCALE_RESULTS,
)


def _result(passed: bool, problems: list[str], **metadata: object) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=passed,
        description=None if passed else "; ".join(problems[:20]),
        metadata={"problems": len(problems), **metadata},
    )


@dg.asset_check(
    asset=ALLOCATION,
    additional_ins={"evaluations": dg.AssetIn(EVALUATIONS)},
    blocking=True,
    description="Every initiative id appears once, and each evaluation is stored under its own id.",
)
def unique_initiative_ids(
    impact_config: ImpactConfigResource,
    allocation: AllocateResult,
    evaluations: dict[str, EvaluationRecord],
) -> dg.AssetCheckResult:
    problems = [
        f"partition {key} holds the record of {record.initiative_id}"
        for key, record in evaluations.items()
        if record.initiative_id != key
    ]
    config_ids = Counter(impact_config.load().initiative_ids)
    problems += [f"{i} appears {n} times in the config" for i, n in config_ids.items() if n > 1]
    selected = Counter(allocation.selected_initiatives)
    problems += [f"{i} selected {n} times" for i, n in selected.items() if n > 1]
    return _result(not problems, problems, initiatives=len(config_ids))


@dg.asset_check(
    asset=ALLOCATION,
    blocking=True,
    description="The money allocated does not exceed the config's budget.",
)
def spend_within_budget(
    impact_config: ImpactConfigResource, allocation: AllocateResult
) -> dg.AssetCheckResult:
    budget = impact_config.load().budget
    spent = allocation.total_allocated
    passed = spent <= budget or close_enough(spent, budget)
    problems = [] if passed else [f"allocated {spent:,.2f} exceeds the budget {budget:,.2f}"]
    return _result(passed, problems, spent=spent, budget=budget)


@dg.asset_check(
    asset=OUTCOME_REPORTS,
    additional_ins={
        "allocation": dg.AssetIn(ALLOCATION),
        "scale_results": dg.AssetIn(SCALE_RESULTS),
    },
    description="Every selected initiative has a scale record from the same loop as the decision.",
)
def selected_have_scale_records(
    outcome_reports: LoopReport,
    allocation: AllocateResult,
    scale_results: dict[str, MeasurementRecord],
) -> dg.AssetCheckResult:
    problems = []
    for initiative_id in allocation.selected_initiatives:
        record = scale_results.get(initiative_id)
        if record is None:
            problems.append(f"{initiative_id} has no scale record")
        elif record.loop_id != allocation.loop_id:
            problems.append(
                f"{initiative_id}'s scale record is from loop {record.loop_id}, "
                f"not {allocation.loop_id}"
            )
        elif record.status is RecordStatus.NOT_SELECTED:
            problems.append(f"{initiative_id} is selected but its scale record says not_selected")
    return _result(not problems, problems, selected=len(allocation.selected_initiatives))


@dg.asset_check(
    asset=OUTCOME_REPORTS,
    additional_ins={
        "pilot_results": dg.AssetIn(PILOT_RESULTS),
        "scale_results": dg.AssetIn(SCALE_RESULTS),
    },
    description="Pilot and scale estimates of each scaled initiative come from different samples.",
)
def pilot_and_scale_samples_differ(
    outcome_reports: LoopReport,
    pilot_results: dict[str, MeasurementRecord],
    scale_results: dict[str, MeasurementRecord],
) -> dg.AssetCheckResult:
    problems = []
    for report in outcome_reports.reports:
        pilot = pilot_results[report.initiative_id].result
        scale = scale_results[report.initiative_id].result
        pilot_sample = pilot.diagnostics.get("sample_id")
        if pilot_sample is not None and pilot_sample == scale.diagnostics.get("sample_id"):
            problems.append(f"{report.initiative_id}: the scale run re-used sample {pilot_sample}")
        elif (pilot.effect_estimate, pilot.ci_lower, pilot.ci_upper) == (
            scale.effect_estimate,
            scale.ci_lower,
            scale.ci_upper,
        ):
            problems.append(f"{report.initiative_id}: scale estimate is a copy of the pilot's")
    return _result(not problems, problems, compared=len(outcome_reports.reports))


@dg.asset_check(
    asset=OUTCOME_REPORTS,
    additional_ins={"allocation": dg.AssetIn(ALLOCATION)},
    description="No report row comes from a loop other than the allocation's.",
)
def no_stale_records(
    outcome_reports: LoopReport, allocation: AllocateResult
) -> dg.AssetCheckResult:
    problems = [
        f"{report.initiative_id} is from loop {report.loop_id}"
        for report in outcome_reports.reports
        if report.loop_id != allocation.loop_id
    ]
    if outcome_reports.loop_id != allocation.loop_id:
        problems.append(
            f"the report is for loop {outcome_reports.loop_id}, the allocation for "
            f"{allocation.loop_id}"
        )
    return _result(
        not problems,
        problems,
        stale_excluded=len(outcome_reports.summary.stale),
    )


LOOP_CHECKS = [
    unique_initiative_ids,
    spend_within_budget,
    selected_have_scale_records,
    pilot_and_scale_samples_differ,
    no_stale_records,
]
