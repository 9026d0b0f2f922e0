"""Rows and markdown tables of the loop's records, for the UI, the CLI and notebooks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from impact_assets.contracts import (
    AllocateResult,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured markdown table of ``rows`` (the UI renders it)."""
    if not rows:
        return "_no rows_"
    columns = list(columns or rows[0].keys())
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def measurement_rows(records: Iterable[MeasurementRecord]) -> list[dict[str, Any]]:
    """One row per initiative: status, estimate and 95% CI, p-value, sample size, method."""
    rows = []
    for record in sorted(records, key=lambda r: r.initiative_id):
        result = record.result
        rows.append(
            {
                "initiative_id": record.initiative_id,
                "status": record.status.value,
                "estimate": result.effect_estimate if result else None,
                "ci_lower": result.ci_lower if result else None,
                "ci_upper": result.ci_upper if result else None,
                "p_value": result.p_value if result else None,
                "sample_size": result.sample_size if result else None,
                "model_type": result.model_type.value if result else None,
                "cause": record.cause,
            }
        )
    return rows


def evaluation_rows(records: Iterable[EvaluationRecord]) -> list[dict[str, Any]]:
    """One row per initiative: confidence, cost and the three return scenarios."""
    rows = []
    for record in sorted(records, key=lambda r: r.initiative_id):
        result = record.result
        rows.append(
            {
                "initiative_id": record.initiative_id,
                "status": record.status.value,
                "confidence": result.confidence if result else None,
                "cost": result.cost if result else None,
                "R_worst": result.R_worst if result else None,
                "R_med": result.R_med if result else None,
                "R_best": result.R_best if result else None,
                "model_type": result.model_type.value if result else None,
                "cause": record.cause,
            }
        )
    return rows


def allocation_rows(
    allocation: AllocateResult, evaluations: Mapping[str, EvaluationRecord]
) -> list[dict[str, Any]]:
    """Every candidate and excluded initiative, selected or not, and why."""
    selected = set(allocation.selected_initiatives)
    rows = []
    for initiative_id in sorted(set(evaluations) | set(allocation.excluded)):
        record = evaluations.get(initiative_id)
        result = record.result if record is not None else None
        if initiative_id in selected:
            decision = "selected"
        elif initiative_id in allocation.excluded:
            decision = f"excluded: {allocation.excluded[initiative_id]}"
        elif result is not None and result.cost > allocation.budget:
            decision = "not selected: costs more than the whole budget"
        else:
            decision = f"not selected by {allocation.rule}"
        rows.append(
            {
                "initiative_id": initiative_id,
                "cost": result.cost if result else None,
                "confidence": result.confidence if result else None,
                "R_worst": result.R_worst if result else None,
                "R_med": result.R_med if result else None,
                "R_best": result.R_best if result else None,
                "decision": decision,
            }
        )
    return rows


def report_rows(report: LoopReport) -> list[dict[str, Any]]:
    """One row per scaled initiative: predicted against actual, and the truth where known."""
    return [
        {
            "initiative_id": r.initiative_id,
            "predicted_return": r.predicted_return,
            "actual_return": r.actual_return,
            "prediction_error": r.prediction_error,
            "true_effect": r.true_effect,
            "pilot_ci_covers_truth": r.pilot_ci_covers_truth,
            "confidence": r.confidence_score,
            "model_type": r.model_type.value,
            "budget": r.budget_allocated,
            "samples": f"{r.sample_size_pilot} → {r.sample_size_scale}",
        }
        for r in report.reports
    ]
