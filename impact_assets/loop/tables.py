"""Rows of the loop's records and their columns, for the UI's tables, the CLI and notebooks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    CalibrationHistory,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    PortfolioSummary,
)
from impact_assets.contracts.types import CONFIDENCE_RANGES
from impact_assets.loop.decision import (
    BELOW_MIN_CONFIDENCE,
    EXCLUDED,
    FAILED,
    REASON_KINDS,
    Candidate,
    explain_decision,
)


def rounded(value: Any) -> str | int | float | bool | None:
    """A cell as people read it: 4 significant digits below 1,000, whole numbers from there.

    Tables shown in the UI hold these; the JSON values keep full precision.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        return float(f"{number:.4g}") if abs(number) < 1000 else float(round(number))
    return str(value)


def _amount(value: float) -> str:
    """An amount in a sentence, rounded like :func:`rounded`, with thousands separated."""
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


# The columns of each table: name -> (type, meaning). The row builders below emit
# exactly these keys, in this order; the UI's column schemas are built from them.
MEASUREMENT_COLUMNS: dict[str, tuple[str, str]] = {
    "initiative_id": ("string", "The initiative (its partition key)."),
    "status": (
        "string",
        "measured or failed (pilot); scaled, not_selected, awaiting_data or failed (scale).",
    ),
    "estimate": ("float", "Effect estimate, in outcome units."),
    "ci_lower": ("float", "Lower end of the 95% confidence interval, in outcome units."),
    "ci_upper": ("float", "Upper end of the 95% confidence interval, in outcome units."),
    "p_value": ("float", "Two-sided p-value of a zero effect; empty where the method has none."),
    "sample_size": ("int", "Units in the sample (time points for a time series)."),
    "model_type": ("string", "experiment, quasi-experiment, time-series or observational."),
    "cause": ("string", "Why there is no estimate (failed, awaiting data)."),
}

# What an evaluation's confidence means, for every table that shows it.
CONFIDENCE_MEANING = (
    "In [0, 1]. calibrated: the probability that the true return at scale is positive; "
    "evidence and mock: a trust score within the design's range ("
    + ", ".join(
        f"{kind.value} {low:.2f}-{high:.2f}" for kind, (low, high) in CONFIDENCE_RANGES.items()
    )
    + ")."
)

EVALUATION_COLUMNS: dict[str, tuple[str, str]] = {
    "initiative_id": ("string", "The initiative (its partition key)."),
    "status": ("string", "evaluated, failed or skipped."),
    "confidence": ("float", CONFIDENCE_MEANING),
    "pilot_weight": (
        "float",
        "calibrated only: the weight of the pilot's own estimate against the prior, in "
        "[0, 1] (near 1: a precise pilot speaks for itself); empty for evidence and mock.",
    ),
    "cost": ("float", "Cost to scale, in the budget's currency."),
    "R_worst": (
        "float",
        "Worst-case return in currency (calibrated: 5th percentile at scale; evidence: CI low).",
    ),
    "R_med": (
        "float",
        "The predicted return in currency (calibrated: mean at scale; evidence: the estimate).",
    ),
    "R_best": (
        "float",
        "Best-case return in currency (calibrated: 95th percentile at scale; evidence: CI high).",
    ),
    "model_type": ("string", "experiment, quasi-experiment, time-series or observational."),
    "cause": ("string", "Why there is no evaluation."),
}

ALLOCATION_COLUMNS: dict[str, tuple[str, str]] = {
    "initiative_id": ("string", "A current initiative."),
    "cost": ("float", "Cost to scale, in the budget's currency."),
    "confidence": ("float", CONFIDENCE_MEANING),
    "R_worst": EVALUATION_COLUMNS["R_worst"],
    "R_med": EVALUATION_COLUMNS["R_med"],
    "R_best": EVALUATION_COLUMNS["R_best"],
    "selected": ("bool", "Chosen for scaling."),
    "kind": ("string", "The kind of reason: " + ", ".join(REASON_KINDS) + "."),
    "value_difference": (
        "float",
        "How much worse the rule's objective is for the best portfolio that includes it "
        "(empty where not computed).",
    ),
    "reason": ("string", "Why it was or was not selected, with the numbers the rule computed."),
}

SCENARIO_COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("string", "best, med or worst."),
    "V*": ("float", "Best portfolio value the budget allows in this scenario (minimax regret)."),
    "weight": ("float", "The scenario's weight in the expected value (Bayesian)."),
    "portfolio_value": ("float", "The chosen portfolio's value in this scenario."),
    "regret": ("float", "V* minus the chosen portfolio's value."),
}

SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "measure": ("string", "What the row measures about the portfolio."),
    "value": ("float | string", "An amount, a share, or a note; empty where it is unknown."),
}

REPORT_COLUMNS: dict[str, tuple[str, str]] = {
    "initiative_id": ("string", "A scaled initiative."),
    "predicted_return": ("float", "The evaluation's prediction at scale (R_med), in currency."),
    "R_worst": ("float", "Lower end of the prediction's interval, in currency."),
    "R_best": ("float", "Upper end of the prediction's interval, in currency."),
    "pilot_return": ("float", "The raw pilot estimate times value per unit, in currency."),
    "actual_return": ("float", "The scale estimate times value per unit, in currency."),
    "prediction_error": ("float", "actual_return - predicted_return."),
    "interval_covers_actual": ("bool", "[R_worst, R_best] contains the actual return."),
    "interval_covers_truth": (
        "bool",
        "[R_worst, R_best] contains the true return at scale; empty for real data.",
    ),
    "true_effect": ("float", "The simulated effect at scale (outcome units); empty for real data."),
    "pilot_ci_covers_pilot_truth": (
        "bool",
        "The pilot's 95% interval contains the pilot's true effect (is the interval honest?).",
    ),
    "pilot_ci_covers_scale_truth": (
        "bool",
        "The pilot's 95% interval contains the true effect at scale (did it predict the rollout?).",
    ),
    "confidence": ("float", CONFIDENCE_MEANING),
    "model_type": ("string", "experiment, quasi-experiment, time-series or observational."),
    "budget": ("float", "Cost to scale: the part of the budget the initiative takes."),
    "samples": ("string", "Pilot sample size → scale sample size."),
}


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
                "pilot_weight": result.pilot_weight if result else None,
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
    """Every candidate and excluded initiative, selected or not, and why (loop/decision.py)."""
    candidates = [Candidate.from_dict(c) for c in allocation.candidates] or explain_decision(
        allocation, evaluations
    )
    ranked = sorted(candidates, key=_ranking)
    return [
        {
            "initiative_id": c.initiative_id,
            "cost": c.cost,
            "confidence": c.confidence,
            "R_worst": c.R_worst,
            "R_med": c.R_med,
            "R_best": c.R_best,
            "selected": c.selected,
            "kind": c.kind,
            "value_difference": c.value_difference,
            "reason": c.reason,
        }
        for c in ranked
    ]


def _ranking(candidate: Candidate) -> tuple:
    """Selected first, then the closest misses in the rule's ranking, then the others left out,
    then the excluded; within a group, by median return per cost."""
    if candidate.selected:
        group = 0
    elif candidate.miss_rank is not None:
        group = 1
    elif candidate.kind in (EXCLUDED, FAILED, BELOW_MIN_CONFIDENCE):
        group = 3
    else:
        group = 2
    per_cost = (
        candidate.R_med / candidate.cost
        if candidate.R_med is not None and candidate.cost
        else float("-inf")
    )
    return (group, candidate.miss_rank or 0, -per_cost, candidate.initiative_id)


def scenario_rows(allocation: AllocateResult) -> list[dict[str, Any]]:
    """One row per return scenario: ``V*_j`` (or the weight), the portfolio's value, the regret."""
    names = {"v_star": "V*", "weight": "weight", "portfolio_value": "portfolio_value"}
    rows = []
    for scenario, detail in allocation.scenarios.items():
        row: dict[str, Any] = {"scenario": scenario}
        row.update({names[k]: detail[k] for k in names if k in detail})
        if "regret" in detail:
            row["regret"] = detail["regret"]
        rows.append(row)
    return rows


def report_rows(report: LoopReport) -> list[dict[str, Any]]:
    """One row per scaled initiative: predicted against actual, and the truth where known."""
    return [
        {
            "initiative_id": r.initiative_id,
            "predicted_return": r.predicted_return,
            "R_worst": r.R_worst,
            "R_best": r.R_best,
            "pilot_return": r.pilot_return,
            "actual_return": r.actual_return,
            "prediction_error": r.prediction_error,
            "interval_covers_actual": r.interval_covers_actual,
            "interval_covers_truth": r.interval_covers_truth,
            "true_effect": r.true_effect,
            "pilot_ci_covers_pilot_truth": r.pilot_ci_covers_pilot_truth,
            "pilot_ci_covers_scale_truth": r.pilot_ci_covers_scale_truth,
            "confidence": r.confidence_score,
            "model_type": r.model_type.value,
            "budget": r.budget_allocated,
            "samples": f"{r.sample_size_pilot} → {r.sample_size_scale}",
        }
        for r in report.reports
    ]


def _share(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def summary_rows(summary: PortfolioSummary) -> list[dict[str, Any]]:
    """The portfolio summary as (measure, value) rows: spend, accuracy, coverage, decision value."""
    rows: list[tuple[str, Any]] = [
        ("rule", summary.rule),
        ("evaluation", summary.evaluator),
        ("budget used", f"{_amount(summary.total_budget_used)} of {_amount(summary.budget)}"),
        (
            "initiatives",
            f"{summary.initiatives_evaluated} evaluated, {summary.initiatives_selected} selected, "
            f"{summary.initiatives_scaled} scaled",
        ),
        ("mean absolute prediction error", summary.mean_abs_prediction_error),
        ("mean prediction error (actual - predicted)", summary.mean_prediction_error),
        (
            "[R_worst, R_best] covers the actual return",
            _share(summary.interval_coverage_actual),
        ),
        (
            "[R_worst, R_best] covers the true return at scale",
            _share(summary.interval_coverage_truth),
        ),
        ("pilot CI covers the pilot's true effect", _share(summary.pilot_ci_coverage_pilot_truth)),
        ("pilot CI covers the true effect at scale", _share(summary.pilot_ci_coverage_scale_truth)),
        ("pilot CI covers the scale estimate", _share(summary.pilot_ci_coverage_actual)),
        ("realised true value", summary.realised_value),
        ("oracle value (best portfolio knowing the truth)", summary.oracle_value),
        ("realised / oracle", _share(summary.oracle_ratio)),
    ]
    if summary.oracle_omitted_reason:
        rows.append(("no oracle comparison because", summary.oracle_omitted_reason))
    for label, items in (
        ("failed", summary.failed),
        ("excluded", summary.excluded),
        ("awaiting data", summary.awaiting_data),
        ("stale (from another loop)", summary.stale),
    ):
        if items:
            rows.append((label, f"{len(items)}: {', '.join(sorted(items)[:10])}"))
    return [{"measure": label, "value": value} for label, value in rows]


HISTORY_COLUMNS: dict[str, tuple[str, str]] = {
    "initiative_id": ("string", "The initiative."),
    "loop_id": ("string", "The loop it was piloted in (history_file rows: the file's loop_id)."),
    "source": ("string", "loop (this instance) or history_file."),
    "method": ("string", "The method its scale ratio is learnt under."),
    "selected": ("bool", "Chosen for scaling in that loop."),
    "pilot_estimate": ("float", "The pilot's effect estimate, in outcome units."),
    "pilot_se": ("float", "Its standard error (95% CI width / 3.92), in outcome units."),
    "scale_estimate": ("float", "The estimate at scale; empty when not scaled."),
    "scale_se": ("float", "Its standard error; empty when not scaled."),
    "value_per_unit": ("float", "Currency per outcome unit."),
    "pilot_true_effect": ("float", "The pilot's true effect (simulated data only)."),
    "scale_true_effect": ("float", "The true effect at scale (simulated data only)."),
}

HISTORY_LOOP_COLUMNS: dict[str, tuple[str, str]] = {
    "loop_id": ("string", "A loop of this instance, or the history file's loop_id."),
    "source": ("string", "loop or history_file."),
    "pilots": ("int", "Pilots recorded for it."),
    "pairs": ("int", "Of which measured again at scale: pilot-against-scale pairs."),
}

RATIO_COLUMNS: dict[str, tuple[str, str]] = {
    "method": ("string", "The method (model type when the config names none)."),
    "pairs": ("int", "Pilot-against-scale pairs it was learnt from; 0: the neutral prior."),
    "ratio": ("float", "Posterior mean of the effect at scale over the pilot's effect."),
    "ratio_5%": ("float", "5th percentile of the ratio."),
    "ratio_95%": ("float", "95th percentile of the ratio."),
    "extra_sd": ("float", "Extra standard deviation at scale beyond the stated SEs (currency)."),
    "used_by": ("int", "Initiatives of this loop evaluated with it."),
}


def history_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per history record (a pilot, and its scale measurement when it was scaled)."""
    return [{name: getattr(record, name) for name in HISTORY_COLUMNS} for record in records]


def history_loop_rows(history: CalibrationHistory) -> list[dict[str, Any]]:
    """One row per loop (and history file loop id): how many pilots and pairs it holds."""
    counts: dict[tuple[str, str], list[int]] = {}
    for record in history.records:
        count = counts.setdefault((record.source, record.loop_id), [0, 0])
        count[0] += 1
        count[1] += int(record.scaled)
    return [
        {"loop_id": loop_id, "source": source, "pilots": pilots, "pairs": pairs}
        for (source, loop_id), (pilots, pairs) in sorted(counts.items(), key=lambda i: i[0][1])
    ]


def ratio_rows(calibration: Calibration, methods_used: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per method with a fitted ratio or used this loop (neutral when without pairs)."""
    used: dict[str, int] = {}
    for method in methods_used:
        used[method] = used.get(method, 0) + 1
    rows = []
    for method in sorted(set(calibration.ratios) | set(used)):
        ratio = calibration.ratio_for(method)
        rows.append(
            {
                "method": method,
                "pairs": ratio.pairs,
                "ratio": ratio.ratio_mean,
                "ratio_5%": ratio.ratio_low,
                "ratio_95%": ratio.ratio_high,
                "extra_sd": ratio.extra_sd,
                "used_by": used.get(method, 0),
            }
        )
    return rows
