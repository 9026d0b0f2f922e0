"""REPORT: predicted against actual for each scaled initiative, and how good the decision was.

The report also carries every pilot of the loop (and its scale measurement when it was
scaled) as history records, so the next loop's calibration learns from this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import fmean

from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import (
    AllocateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    MeasureResult,
    OutcomeReport,
    PortfolioSummary,
    RecordStatus,
)
from impact_assets.loop.calibration import loop_records
from impact_assets.loop.truth import effect_at_scale, pilot_effect


def build_loop_report(
    config: PortfolioConfig,
    pilot_records: Mapping[str, MeasurementRecord],
    evaluation_records: Mapping[str, EvaluationRecord],
    allocation: AllocateResult,
    scale_records: Mapping[str, MeasurementRecord],
) -> LoopReport:
    """Outcome reports for the allocation's loop; records of other loops are listed as stale."""
    loop_id = allocation.loop_id
    current_ids = config.initiative_ids
    current = set(current_ids)
    stale = sorted(
        {
            initiative_id
            for records in (pilot_records, evaluation_records, scale_records)
            for initiative_id, record in records.items()
            if initiative_id in current and record is not None and record.loop_id != loop_id
        }
    )
    truths = {
        initiative_id: effect_at_scale(config, initiative_id) for initiative_id in current_ids
    }
    pilot_truths = {
        initiative_id: pilot_effect(config, initiative_id) for initiative_id in current_ids
    }

    reports: list[OutcomeReport] = []
    awaiting: list[str] = []
    failed: dict[str, str] = {}
    for records in (pilot_records, evaluation_records, scale_records):
        for initiative_id, record in records.items():
            if record is not None and record.status is RecordStatus.FAILED:
                failed.setdefault(initiative_id, record.cause or "failed")
    for initiative_id in allocation.selected_initiatives:
        scale = scale_records.get(initiative_id)
        if scale is None or scale.loop_id != loop_id:
            continue
        if scale.status is RecordStatus.AWAITING_DATA:
            awaiting.append(initiative_id)
        if not scale.ok:
            continue
        pilot = pilot_records[initiative_id].result
        evaluation = evaluation_records[initiative_id].result
        initiative = config.initiative(initiative_id)
        value_per_unit = initiative.value_per_unit
        predicted = allocation.predicted_returns[initiative_id]
        actual = scale.result.effect_estimate * value_per_unit
        truth = truths.get(initiative_id)
        pilot_truth = pilot_truths.get(initiative_id)
        true_return = None if truth is None else truth * value_per_unit
        reports.append(
            OutcomeReport(
                initiative_id=initiative_id,
                predicted_return=predicted,
                actual_return=actual,
                prediction_error=actual - predicted,
                sample_size_pilot=pilot.sample_size,
                sample_size_scale=scale.result.sample_size,
                budget_allocated=allocation.budget_allocated[initiative_id],
                confidence_score=evaluation.confidence,
                model_type=evaluation.model_type,
                true_effect=truth,
                pilot_ci_covers_pilot_truth=_covers(pilot, pilot_truth),
                pilot_ci_covers_scale_truth=_covers(pilot, truth),
                pilot_ci_covers_actual=(
                    pilot.ci_lower <= scale.result.effect_estimate <= pilot.ci_upper
                ),
                loop_id=loop_id,
                pilot_return=pilot.effect_estimate * value_per_unit,
                method=initiative.method.value if initiative.method else None,
                value_per_unit=value_per_unit,
                pilot_true_effect=pilot_truth,
                R_worst=evaluation.R_worst,
                R_best=evaluation.R_best,
                interval_covers_actual=evaluation.R_worst <= actual <= evaluation.R_best,
                interval_covers_truth=(
                    None
                    if true_return is None
                    else evaluation.R_worst <= true_return <= evaluation.R_best
                ),
            )
        )

    evaluated_ids = [
        initiative_id
        for initiative_id in current_ids
        if (record := evaluation_records.get(initiative_id)) is not None
        and record.ok
        and record.loop_id == loop_id
    ]
    realised, oracle, ratio, omitted = _decision_value(config, allocation, evaluated_ids, truths)
    errors = [report.prediction_error for report in reports]
    covers_pilot_truth = _known(r.pilot_ci_covers_pilot_truth for r in reports)
    covers_scale_truth = _known(r.pilot_ci_covers_scale_truth for r in reports)
    covers_actual = [r.pilot_ci_covers_actual for r in reports]
    interval_actual = _known(r.interval_covers_actual for r in reports)
    interval_truth = _known(r.interval_covers_truth for r in reports)
    summary = PortfolioSummary(
        loop_id=loop_id,
        rule=allocation.rule,
        budget=allocation.budget,
        initiatives_evaluated=len(evaluated_ids),
        initiatives_selected=len(allocation.selected_initiatives),
        initiatives_scaled=len(reports),
        total_budget_used=allocation.total_allocated,
        mean_abs_prediction_error=fmean(abs(e) for e in errors) if errors else None,
        mean_prediction_error=fmean(errors) if errors else None,
        pilot_ci_coverage_pilot_truth=fmean(covers_pilot_truth) if covers_pilot_truth else None,
        pilot_ci_coverage_scale_truth=fmean(covers_scale_truth) if covers_scale_truth else None,
        pilot_ci_coverage_actual=fmean(covers_actual) if covers_actual else None,
        realised_value=realised,
        oracle_value=oracle,
        oracle_ratio=ratio,
        oracle_omitted_reason=omitted,
        failed=dict(sorted(failed.items())),
        excluded=dict(allocation.excluded),
        awaiting_data=awaiting,
        stale=stale,
        evaluator=config.evaluate.component,
        interval_coverage_actual=fmean(interval_actual) if interval_actual else None,
        interval_coverage_truth=fmean(interval_truth) if interval_truth else None,
    )
    records = loop_records(
        config,
        pilot_records,
        scale_records,
        set(allocation.selected_initiatives),
        loop_id,
        {i: (pilot_truths[i], truths[i]) for i in current_ids},
    )
    return LoopReport(
        loop_id=loop_id, reports=reports, summary=summary, calibration_records=records
    )


def _covers(pilot: MeasureResult, truth: float | None) -> bool | None:
    """Whether the pilot's 95% interval contains ``truth`` (None when the truth is unknown)."""
    return None if truth is None else pilot.ci_lower <= truth <= pilot.ci_upper


def _known(flags: Iterable[bool | None]) -> list[bool]:
    return [flag for flag in flags if flag is not None]


def _decision_value(
    config: PortfolioConfig,
    allocation: AllocateResult,
    evaluated_ids: list[str],
    truths: Mapping[str, float | None],
) -> tuple[float | None, float | None, float | None, str | None]:
    """Realised true value of the chosen portfolio, the oracle's, and their ratio.

    The oracle is the best portfolio the budget could buy among the evaluated
    initiatives knowing each one's true value at scale.
    """
    if not evaluated_ids:
        return None, None, None, "no initiative was evaluated in this loop"
    unknown = [
        initiative_id for initiative_id in evaluated_ids if truths.get(initiative_id) is None
    ]
    if unknown:
        return (
            None,
            None,
            None,
            (
                f"the true effect is unknown for {len(unknown)} of {len(evaluated_ids)} candidates "
                f"(e.g. {unknown[0]}): it is known only for simulated data"
            ),
        )
    from impact_assets.components.allocate.oracle import oracle_value

    true_values = {
        initiative_id: truths[initiative_id] * config.initiative(initiative_id).value_per_unit
        for initiative_id in evaluated_ids
    }
    costs = {i: config.initiative(i).cost_to_scale for i in evaluated_ids}
    realised = sum(true_values[i] for i in allocation.selected_initiatives if i in true_values)
    _, oracle = oracle_value(true_values, costs, config.budget)
    if oracle <= 0:
        return realised, oracle, None, "the oracle's value is not positive, so no ratio"
    return realised, oracle, realised / oracle, None
