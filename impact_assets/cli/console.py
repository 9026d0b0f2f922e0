"""The console report: the original plan's OUTCOME REPORTS and SUMMARY, and the decision."""

from __future__ import annotations

import sys
from typing import TextIO

from impact_assets.config import PortfolioConfig
from impact_assets.contracts import LoopReport


def _money(value: float) -> str:
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


def print_reports(report: LoopReport, config: PortfolioConfig, out: TextIO = sys.stdout) -> None:
    """The seed's OUTCOME REPORTS and SUMMARY, plus how good the decision was where known."""
    in_currency = any(i.value_per_unit != 1 for i in config.initiatives)

    def amount(value: float, signed: bool = False) -> str:
        if in_currency:
            return ("+" if signed and value >= 0 else "") + _money(value)
        return f"{value:+.2%}" if signed else f"{value:.2%}"

    def line(text: str = "") -> None:
        print(text, file=out)

    rule = "=" * 70
    line()
    line(rule)
    line("OUTCOME REPORTS")
    line(rule)
    for r in report.reports:
        line()
        line(r.initiative_id)
        line("-" * 40)
        line(f"  Predicted: {amount(r.predicted_return)}")
        line(f"  Actual:    {amount(r.actual_return)}")
        line(f"  Error:     {amount(r.prediction_error, signed=True)}")
        line(f"  Confidence: {r.confidence_score:.2f} ({r.model_type.value})")
        line(f"  Budget:    {_money(r.budget_allocated)}")
        line(f"  Samples:   {r.sample_size_pilot} → {r.sample_size_scale}")
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

    s = report.summary
    line()
    line(rule)
    line("SUMMARY")
    line(rule)
    line(f"  Initiatives evaluated: {s.initiatives_evaluated}")
    line(f"  Initiatives selected:  {s.initiatives_selected}")
    if s.awaiting_data:
        line(f"  Awaiting scale data:   {', '.join(s.awaiting_data)}")
    if s.failed:
        line(f"  Failed:                {', '.join(s.failed)}")
    if not report.reports:
        line("  No initiatives selected for scaling.")
        return
    line(f"  Total budget used:     {_money(s.total_budget_used)}")
    line(f"  Avg prediction error:  {amount(s.avg_abs_prediction_error)}")
    line(f"  Mean prediction error: {amount(s.mean_prediction_error, signed=True)}")
    if s.interval_coverage_actual is not None:
        line(f"  Interval coverage:     {s.interval_coverage_actual:.0%} of actual returns")
    if s.interval_coverage_truth is not None:
        line(f"                         {s.interval_coverage_truth:.0%} of true returns at scale")
    if s.oracle_ratio is not None:
        line(f"  Realised true value:   {_money(s.realised_value)}")
        line(f"  Oracle's true value:   {_money(s.oracle_value)}")
        line(f"  Oracle ratio:          {s.oracle_ratio:.1%}")
    elif s.oracle_omitted_reason:
        line(f"  Oracle comparison:     omitted ({s.oracle_omitted_reason})")


