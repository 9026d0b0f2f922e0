"""UI metadata for the loop's assets: column schemas, per-partition values, tables and the chart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import (
    AllocateResult,
    Calibration,
    CalibrationHistory,
    EvaluationRecord,
    LoopReport,
    MeasurementRecord,
    RecordStatus,
)
from impact_assets.loop.measure_pool import MeasurePool
from impact_assets.loop.tables import (
    ALLOCATION_COLUMNS,
    EVALUATION_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_LOOP_COLUMNS,
    MEASUREMENT_COLUMNS,
    RATIO_COLUMNS,
    REPORT_COLUMNS,
    SCENARIO_COLUMNS,
    SUMMARY_COLUMNS,
    allocation_rows,
    history_loop_rows,
    history_rows,
    ratio_rows,
    report_rows,
    rounded,
    scenario_rows,
    summary_rows,
)

# Dagster's table metadata keys (its docs name them; 1.13 exports no TableMetadataSet).
COLUMN_SCHEMA = "dagster/column_schema"
ROW_COUNT = "dagster/row_count"


def column_schema(columns: Mapping[str, tuple[str, str]]) -> dg.TableSchema:
    """A Dagster table schema from a ``{name: (type, meaning)}`` column list."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=kind, description=meaning)
            for name, (kind, meaning) in columns.items()
        ]
    )


def table(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, tuple[str, str]]
) -> dg.TableMetadataValue:
    """``rows`` as a Dagster table, numbers rounded for reading, under the columns they fill."""
    shown = [name for name in columns if not rows or any(name in row for row in rows)]
    return dg.MetadataValue.table(
        records=[dg.TableRecord({name: rounded(row.get(name)) for name in shown}) for row in rows],
        schema=column_schema({name: columns[name] for name in shown}),
    )


MEASUREMENT_SCHEMA = column_schema(MEASUREMENT_COLUMNS)
EVALUATION_SCHEMA = column_schema(EVALUATION_COLUMNS)
ALLOCATION_SCHEMA = column_schema(ALLOCATION_COLUMNS)
REPORT_SCHEMA = column_schema(REPORT_COLUMNS)
HISTORY_SCHEMA = column_schema(HISTORY_COLUMNS)
RATIO_SCHEMA = column_schema(RATIO_COLUMNS)
# The newest pairs shown in the history's table (the value holds them all).
SHOWN_PAIRS = 100


def _float_or_null(value: float | None) -> dg.MetadataValue:
    """A number rounded for reading (the stored values keep full precision), or null."""
    if value is None:
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(float(rounded(float(value))))


def _format_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def diagnostics_summary(diagnostics: Mapping[str, Any]) -> str:
    """Each pass/fail diagnostic in one line (``pre_trend: passed (0.418)``), or ``none``."""
    parts = []
    for name, detail in sorted(diagnostics.items()):
        if isinstance(detail, Mapping) and "passed" in detail:
            verdict = "passed" if detail["passed"] else "FAILED"
            value = detail.get("value")
            shown = f" ({_format_number(value)})" if value is not None else ""
            parts.append(f"{name}: {verdict}{shown}")
    return "; ".join(parts) or "none"


def _record_metadata(
    record: MeasurementRecord | EvaluationRecord, method: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"status": record.status.value, "loop_id": record.loop_id}
    if method:
        metadata["method"] = method
    if record.cause:
        metadata["cause"] = record.cause
    result = record.result
    if isinstance(record, MeasurementRecord) and result is not None:
        metadata.update(
            {
                "estimate": rounded(result.effect_estimate),
                "ci_lower": rounded(result.ci_lower),
                "ci_upper": rounded(result.ci_upper),
                "ci_95": f"[{result.ci_lower:.4g}, {result.ci_upper:.4g}]",
                "p_value": _float_or_null(result.p_value),
                "sample_size": result.sample_size,
                "model_type": result.model_type.value,
                "diagnostics_summary": diagnostics_summary(result.diagnostics),
                "diagnostics": dg.MetadataValue.json(result.diagnostics),
            }
        )
    elif isinstance(record, EvaluationRecord) and result is not None:
        metadata.update(
            {
                "confidence": rounded(result.confidence),
                "pilot_weight": _float_or_null(result.pilot_weight),
                "interval_kind": result.interval_kind,
                "cost": rounded(result.cost),
                "R_worst": rounded(result.R_worst),
                "R_med": rounded(result.R_med),
                "R_best": rounded(result.R_best),
                "model_type": result.model_type.value,
            }
        )
    return metadata


def partition_metadata(
    context: dg.AssetExecutionContext,
    records: Iterable[MeasurementRecord | EvaluationRecord],
    config: PortfolioConfig | None = None,
) -> None:
    """Attach each record's own numbers to its partition's materialization.

    With the config, each partition also names its configured method
    (``difference_in_differences``, ...).
    """
    methods: dict[str, str] = {}
    if config is not None:
        methods = {i.initiative_id: i.method.value for i in config.initiatives if i.method}
    by_partition = {
        record.initiative_id: _record_metadata(record, methods.get(record.initiative_id))
        for record in records
    }
    shared, own = split_shared_metadata(by_partition)
    if shared:
        context.add_asset_metadata(shared)  # every partition of the step, in one call
    for partition_key, metadata in own.items():
        # each call re-checks everything added before it in the step: make as few as possible
        context.add_asset_metadata(metadata, partition_key=partition_key)


_ABSENT = object()


def split_shared_metadata(
    by_partition: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The metadata to add once for every partition of a step, and each partition's own.

    A partition shows the step's entries overlaid by its own, and Dagster's public API adds
    a partition's own entries one partition per call, each call costing more the more
    partitions the step holds: so as little as possible goes per partition. Shared are
    the entries every partition has with the same value (the loop id, often the method),
    then the rest of the largest group of partitions that agree on the rest
    (``not_selected`` scale records), when every other partition names those keys itself.
    A partition keeps only the entries that differ from the shared ones; one left with
    nothing of its own gets no call.
    """
    if not by_partition:
        return {}, {}
    first, *others = by_partition.values()
    shared = {
        key: value
        for key, value in first.items()
        if all(key in metadata and metadata[key] == value for metadata in others)
    }
    rest = {
        partition: {key: value for key, value in metadata.items() if key not in shared}
        for partition, metadata in by_partition.items()
    }
    groups: dict[str, list[str]] = {}
    for partition, metadata in rest.items():
        groups.setdefault(repr(sorted(metadata.items())), []).append(partition)
    largest = max(groups.values(), key=len)
    group_keys = rest[largest[0]].keys()
    in_group = set(largest)
    if len(largest) >= 2 and all(
        group_keys <= metadata.keys() for p, metadata in rest.items() if p not in in_group
    ):
        shared.update(rest[largest[0]])
        rest = {p: metadata for p, metadata in rest.items() if p not in in_group}
    own = {
        partition: {k: v for k, v in metadata.items() if shared.get(k, _ABSENT) != v}
        for partition, metadata in rest.items()
    }
    return shared, {partition: metadata for partition, metadata in own.items() if metadata}


def measure_pool_metadata(pool: MeasurePool) -> dict[str, Any]:
    """Where a MEASURE step ran: the pool, and how many distinct worker processes measured.

    ``measure_workers`` is 1 on threads, the distinct worker processes on
    ``processes``, the distinct Dask workers on ``dask`` (0 when nothing was measured).
    """
    return {"measure_pool": pool.used or pool.name, "measure_workers": pool.worker_count}


def report_failures(
    context: dg.AssetExecutionContext,
    stage: str,
    records: Iterable[MeasurementRecord | EvaluationRecord],
) -> None:
    """Say in the run's log which initiatives failed in this stage, and why."""
    failed = [r for r in records if r.status is RecordStatus.FAILED]
    for record in failed:
        context.log.warning(f"{stage} failed for {record.initiative_id}: {record.cause}")


# The UI draws every row of a table metadata value, and the table travels in the
# materialization event: the candidates table holds the top of the ranking.
CANDIDATE_ROWS_SHOWN = 100
FULL_CANDIDATES_NOTE = (
    "The `candidates` table shows the first {shown:,} of {total:,} candidates: the selected "
    "ones, then the closest misses as the rule ranks them, then the others left out, then "
    "the excluded. "
    "Every candidate with its reason: `python scripts/run_once.py --output-json loop.json` "
    "writes them to `allocate_result.candidates`; in Python, "
    '`defs.load_asset_value("allocation", instance=instance).candidates` '
    "(`from impact_assets.definitions import defs`)."
)


def allocation_metadata(
    result: AllocateResult, evaluations: Mapping[str, EvaluationRecord]
) -> dict[str, Any]:
    """The top of the candidates' ranking with why each was or was not selected, the spend,
    and the scenarios."""
    rows = allocation_rows(result, evaluations)
    shown = rows[:CANDIDATE_ROWS_SHOWN]
    metadata: dict[str, Any] = {
        "loop_id": result.loop_id,
        "rule": result.rule,
        "status": result.status.value,
        "objective": _float_or_null(result.objective),
        "budget": rounded(result.budget),
        "budget_used": rounded(result.total_allocated),
        "budget_left": rounded(result.budget - result.total_allocated),
        "selected_count": len(result.selected_initiatives),
        "excluded_count": len(result.excluded),
        "row_count": len(rows),
        ROW_COUNT: len(rows),
        "candidates": table(shown, ALLOCATION_COLUMNS),
        "candidates_shown": len(shown),
    }
    if len(shown) < len(rows):
        metadata["candidates_full_table"] = dg.MetadataValue.md(
            FULL_CANDIDATES_NOTE.format(shown=len(shown), total=len(rows))
        )
    if result.scenarios:
        metadata["scenarios"] = table(scenario_rows(result), SCENARIO_COLUMNS)
        for scenario, detail in result.scenarios.items():
            if "v_star" in detail:
                metadata[f"V*_{scenario}"] = rounded(float(detail["v_star"]))
            if "regret" in detail:
                metadata[f"regret_{scenario}"] = rounded(float(detail["regret"]))
    return metadata


def report_metadata(
    report: LoopReport,
    evaluations: Mapping[str, EvaluationRecord],
    config: PortfolioConfig,
) -> dict[str, Any]:
    """The reports and summary as tables, the summary's numbers, and the chart (rendered once)."""
    from impact_assets.loop.charts import chart_points, png_markdown, predicted_vs_actual_png

    summary = report.summary
    value_per_unit = {i.initiative_id: i.value_per_unit for i in config.initiatives}
    png = predicted_vs_actual_png(chart_points(report, evaluations, value_per_unit))
    metadata: dict[str, Any] = {
        "loop_id": report.loop_id,
        "row_count": len(report.reports),
        ROW_COUNT: len(report.reports),
        "predicted_vs_actual": dg.MetadataValue.md(png_markdown(png)),
        "summary": table(summary_rows(summary), SUMMARY_COLUMNS),
        "reports": table(report_rows(report), REPORT_COLUMNS),
        "budget_used": rounded(summary.total_budget_used),
        "mean_abs_prediction_error": _float_or_null(summary.mean_abs_prediction_error),
        "pilot_ci_coverage_pilot_truth": _float_or_null(summary.pilot_ci_coverage_pilot_truth),
        "pilot_ci_coverage_scale_truth": _float_or_null(summary.pilot_ci_coverage_scale_truth),
        "pilot_ci_coverage_actual": _float_or_null(summary.pilot_ci_coverage_actual),
        "mean_prediction_error": _float_or_null(summary.mean_prediction_error),
        "interval_coverage_actual": _float_or_null(summary.interval_coverage_actual),
        "interval_coverage_truth": _float_or_null(summary.interval_coverage_truth),
        "realised_value": _float_or_null(summary.realised_value),
        "oracle_value": _float_or_null(summary.oracle_value),
        "oracle_ratio": _float_or_null(summary.oracle_ratio),
        "summary_detail": dg.MetadataValue.json(summary.to_dict()),
    }
    if summary.oracle_omitted_reason:
        metadata["oracle_omitted_reason"] = summary.oracle_omitted_reason
    return metadata


def history_metadata(history: CalibrationHistory) -> dict[str, Any]:
    """How much the history holds, per loop, and its newest pairs as a table."""
    pairs = history.pairs
    newest = sorted(pairs, key=lambda r: (r.loop_id, r.initiative_id))[-SHOWN_PAIRS:]
    metadata: dict[str, Any] = {
        "loop_id": history.loop_id,
        "row_count": len(history.records),
        ROW_COUNT: len(history.records),
        "pairs": len(pairs),
        "loops": len(history.loop_ids),
        "history_file": history.history_file or "none",
        "by_loop": table(history_loop_rows(history), HISTORY_LOOP_COLUMNS),
        "newest_pairs": table(history_rows(newest), HISTORY_COLUMNS),
    }
    return metadata


def calibration_metadata(
    calibration: Calibration, history: CalibrationHistory, methods_used: Iterable[str]
) -> dict[str, Any]:
    """What was learnt and from how much: the prior, a ratio per method, notes and the chart."""
    from impact_assets.calibration.prior import new_effect_moments
    from impact_assets.calibration.summary import learnt_from, null_share
    from impact_assets.loop.calibration import pair_points
    from impact_assets.loop.charts import pilot_vs_scale_png, png_markdown

    rows = ratio_rows(calibration, methods_used)
    prior_mean, prior_variance = new_effect_moments(calibration.prior)
    flat = calibration.prior.flat
    ratios = {
        method: (ratio.ratio_mean, ratio.ratio_low, ratio.ratio_high)
        for method, ratio in calibration.ratios.items()
    }
    png = pilot_vs_scale_png(pair_points(calibration, history), ratios)
    nulls = null_share(calibration.prior)
    metadata: dict[str, Any] = {
        "loop_id": calibration.loop_id,
        "learnt_from": learnt_from(calibration),
        "row_count": len(rows),
        ROW_COUNT: len(rows),
        "ratios": table(rows, RATIO_COLUMNS),
        "notes": dg.MetadataValue.md("\n".join(f"- {note}" for note in calibration.notes)),
        "prior_pilots": calibration.prior.pilots,
        "prior_current_pilots": calibration.prior.current_pilots,
        "prior_mean_effect": _float_or_null(None if flat else prior_mean),
        "prior_sd_effect": _float_or_null(None if flat else prior_variance**0.5),
        "prior_null_share": _float_or_null(nulls[0] if nulls else None),
        "history_records": calibration.history_records,
        "history_pairs": calibration.history_pairs,
        "history_loops": calibration.history_loops,
        "neutral_methods": ", ".join(r["method"] for r in rows if r["pairs"] == 0) or "none",
        "pilot_vs_scale": dg.MetadataValue.md(png_markdown(png, alt="pilot vs scale")),
    }
    for method, ratio in sorted(calibration.ratios.items()):
        metadata[f"ratio_{method}"] = rounded(ratio.ratio_mean)
    return metadata
