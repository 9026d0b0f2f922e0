"""The console report: the original plan's OUTCOME REPORTS and SUMMARY, and the decision."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from impact_assets.config import PROJECT_ROOT, PortfolioConfig
from impact_assets.contracts import AllocateResult, Calibration, LoopReport, MeasureResult
from impact_assets.loop.decision import (
    Candidate,
    closest_misses,
    money,
    not_computed_summary,
    reason_counts,
    return_formatter,
    returns_in_currency,
)

RULE = "=" * 70
# Above this many initiatives the decision is summarised: counts per reason and the
# closest misses, with a pointer to the full table.
FULL_LIST_LIMIT = 30
CLOSEST_MISSES = 10
# the original plan's column (longer labels just follow with one space)
SUMMARY_LABEL_WIDTH = 22
# What each mock component does instead of the real thing (the console says so).
MOCK_NOTES = {
    "measure": "mock (random effects)",
    "evaluate": "mock (random confidence)",
    "allocate": "mock (greedy by confidence x median return)",
}


def uses_calibration(config: PortfolioConfig) -> bool:
    """Whether the config's EVALUATE predicts from the loop's calibration."""
    from impact_assets.registry import component_class

    evaluate = component_class("evaluate", config.evaluate.component)
    return bool(getattr(evaluate, "needs_calibration", False))


def header_lines(config: PortfolioConfig) -> list[str]:
    """The components the loop runs (mocks say so) and the unit returns are shown in."""
    names = {
        "measure": config.measure.component,
        "evaluate": config.evaluate.component,
        "allocate": config.allocate.component,
    }
    shown = [
        f"{stage.upper()}: {MOCK_NOTES[stage] if name == 'mock' else name}"
        for stage, name in names.items()
    ]
    unit = (
        "returns in the budget's currency (effect x value_per_unit)"
        if returns_in_currency(config)
        else "returns in outcome units (no initiative sets value_per_unit), shown as percentages"
    )
    return ["  " + " | ".join(shown), f"  ({unit})"]


def calibration_lines(calibration: Calibration | None) -> list[str]:
    """What the loop's calibration learnt from (earlier loops, or none), and each ratio."""
    from impact_assets.calibration.summary import learnt_from

    if calibration is None:
        return []
    lines = [f"  Calibration: {learnt_from(calibration)}"]
    for method, ratio in sorted(calibration.ratios.items()):
        lines.append(
            f"    {method}: ratio at scale {ratio.ratio_mean:.2f} "
            f"(90%: {ratio.ratio_low:.2f} to {ratio.ratio_high:.2f}, {ratio.pairs} pairs)"
        )
    return lines


def amount_formatter(config: PortfolioConfig) -> Callable[..., str]:
    """Formats a return as currency, or as a percentage of the outcome when there is none."""
    return return_formatter(returns_in_currency(config))


# What each EVALUATE's confidence is, in words a reader needs no docs for.
CONFIDENCE_LABELS = {
    "calibrated": "Chance the return at scale is positive",
    "evidence": "Evidence score (0-1; the design sets its range)",
    "mock": "Confidence (mock: random)",
}


def percent(probability: float) -> str:
    """A probability as a whole percentage; never a certain 0% or 100% it is not."""
    if 0 < probability < 0.005:
        return "under 1%"
    if 0.995 <= probability < 1:
        return "over 99%"
    return f"{probability:.0%}"


def confidence_line(confidence: float, component: str) -> str:
    """``Chance the return at scale is positive: 83%`` (what the evaluation's number means)."""
    label = CONFIDENCE_LABELS.get(component, f"Confidence ({component})")
    shown = percent(confidence) if component == "calibrated" else f"{confidence:.2f}"
    return f"{label}: {shown}"


def sample_description(result: MeasureResult | None, size: int) -> str:
    """A sample in its design's own units: ``400 units``, ``8 units x 60 periods``,
    ``120 time points``."""
    if result is None:
        return f"{size:,}"
    kind = result.model_type.value
    units = result.diagnostics.get("units") if isinstance(result.diagnostics, dict) else None
    if isinstance(units, int) and units > 0 and size % units == 0 and size != units:
        return f"{units:,} units x {size // units:,} periods"
    if kind == "time-series":
        return f"{size:,} time points"
    return f"{size:,} units"


def print_reports(
    report: LoopReport,
    config: PortfolioConfig,
    out: TextIO = sys.stdout,
    measurements: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    calibration: Calibration | None = None,
) -> None:
    """The seed's OUTCOME REPORTS and SUMMARY, plus how good the decision was where known.

    ``measurements``: the loop's pilot and scale records by initiative, so each sample is
    described in its design's units (units, units x periods, time points). With the
    loop's ``calibration`` (used by the ``calibrated`` EVALUATE), first what it learnt
    from: a rerun whose numbers changed because earlier loops taught it says so."""
    amount = amount_formatter(config)
    pilots, scales = measurements or ({}, {})

    def line(text: str = "") -> None:
        print(text, file=out)

    if calibration is not None and uses_calibration(config):
        line()
        for text in calibration_lines(calibration):
            line(text)
    line()
    line(RULE)
    line("OUTCOME REPORTS")
    line(RULE)
    for r in report.reports:
        line()
        line(r.initiative_id)
        line("-" * 40)
        line(f"  Predicted: {amount(r.predicted_return)}")
        line(f"  Actual:    {amount(r.actual_return)}")
        line(f"  Error:     {amount(r.prediction_error, signed=True)}")
        line("  " + confidence_line(r.confidence_score, config.evaluate.component))
        line(f"  Design:    {r.model_type.value}")
        line(f"  Cost to scale: {money(r.budget_allocated)}")
        pilot = sample_description(_result(pilots.get(r.initiative_id)), r.sample_size_pilot)
        scale = sample_description(_result(scales.get(r.initiative_id)), r.sample_size_scale)
        line(f"  Sample:    {pilot} in the pilot → {scale} at scale")
        if r.R_worst is not None and r.R_best is not None:
            covers = "yes" if r.interval_covers_actual else "no"
            line(
                f"  Interval:  {amount(r.R_worst)} to {amount(r.R_best)} "
                f"(covers the actual: {covers})"
            )
        if r.pilot_return is not None and r.pilot_return != r.predicted_return:
            line(f"  Pilot estimate: {amount(r.pilot_return)} (before calibration)")
        if r.interval_covers_truth is not None:
            covers = "yes" if r.interval_covers_truth else "no"
            line(f"  Interval covers the true return at scale: {covers}")
        if r.true_effect is not None:
            covers = "yes" if r.pilot_ci_covers_scale_truth else "no"
            line(f"  True effect at scale: {r.true_effect:.4f} (pilot CI covers it: {covers})")
        if r.pilot_ci_covers_pilot_truth is not None:
            covers = "yes" if r.pilot_ci_covers_pilot_truth else "no"
            line(f"  Pilot CI covers the pilot's true effect: {covers}")

    def field(label: str, value: object) -> None:
        line(f"  {label + ':':<{SUMMARY_LABEL_WIDTH}} {value}")

    s = report.summary
    line()
    line(RULE)
    line("SUMMARY")
    line(RULE)
    field("Initiatives evaluated", s.initiatives_evaluated)
    field("Initiatives selected", s.initiatives_selected)
    if s.awaiting_data:
        field("Awaiting scale data", ", ".join(s.awaiting_data))
    if s.failed:
        field("Failed", ", ".join(s.failed))
    if not report.reports:
        line("  No initiatives selected for scaling.")
        return
    field("Total budget used", money(s.total_budget_used))
    field("Mean absolute prediction error", amount(s.mean_abs_prediction_error))
    field("Mean prediction error (actual - predicted)", amount(s.mean_prediction_error, True))
    if s.interval_coverage_actual is not None:
        field("[R_worst, R_best] covers the actual return", f"{s.interval_coverage_actual:.0%}")
    if s.interval_coverage_truth is not None:
        field("[R_worst, R_best] covers the true return", f"{s.interval_coverage_truth:.0%}")
    if s.oracle_ratio is not None:
        field("Realised true value", money(s.realised_value))
        field("Oracle's true value", money(s.oracle_value))
        field("Oracle ratio", f"{s.oracle_ratio:.1%}")
    elif s.oracle_omitted_reason:
        field("Oracle comparison", f"omitted ({s.oracle_omitted_reason})")


def _result(record: Any) -> MeasureResult | None:
    """The MeasureResult of a stored record, if it has one."""
    return getattr(record, "result", None)


def print_decision(
    allocation: AllocateResult,
    config: PortfolioConfig,
    home: Path,
    output_json: Path | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """The decision: the rule, the budget, every initiative left out and why, how to look."""
    amount = amount_formatter(config)

    def line(text: str = "") -> None:
        print(text, file=out)

    candidates = [Candidate.from_dict(c) for c in allocation.candidates]
    missed = [c for c in candidates if not c.selected]
    left = allocation.budget - allocation.total_allocated
    line()
    line(RULE)
    line("DECISION")
    line(RULE)
    line(f"  Rule:         {allocation.rule} ({allocation.status.value})")
    line(
        f"  Budget used:  {money(allocation.total_allocated)} of {money(allocation.budget)} "
        f"({money(left)} left)"
    )
    selected = allocation.selected_initiatives
    line(f"  Selected ({len(selected)}): {', '.join(selected) if selected else 'none'}")
    if not missed:
        line("  Not selected: none")
    elif len(candidates) <= FULL_LIST_LIMIT:
        line(f"  Not selected ({len(missed)}):")
        for candidate in missed:
            predicted = _predicted(candidate, amount)
            line(f"    {candidate.initiative_id}: {predicted}{candidate.reason}")
    else:
        counts = reason_counts(missed)
        line(
            f"  Not selected ({len(missed):,}): "
            + ", ".join(f"{count:,} {kind}" for kind, count in counts.items())
        )
        misses = closest_misses(candidates, CLOSEST_MISSES)
        if misses:
            line(f"  The {len(misses)} closest misses, as the rule ranks them:")
            for candidate in misses:
                line(
                    f"    {candidate.initiative_id}: {_predicted(candidate, amount)}"
                    f"cost {money(candidate.cost)}; {candidate.reason}"
                )
        rest = not_computed_summary(candidates, amount)
        if rest:
            line(f"  {rest}.")
        where = (
            f"{output_json} (allocate_result.candidates)"
            if output_json
            else "--output-json PATH (allocate_result.candidates)"
        )
        line(f"  Every initiative and its reason: {where}, or the allocation's")
        line("  candidates table in the UI.")
    line(f"  Loop:         {allocation.loop_id}")
    line("  Open these runs in the UI:")
    line(f"    DAGSTER_HOME={home} dagster dev -w {PROJECT_ROOT / 'workspace.yaml'}")


def _predicted(candidate: Candidate, amount: Callable[..., str]) -> str:
    """The predicted return ``R_med`` of an initiative, where it has one, as a prefix."""
    return "" if candidate.R_med is None else f"R_med {amount(candidate.R_med)}; "
