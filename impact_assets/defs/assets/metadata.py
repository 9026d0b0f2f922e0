"""UI metadata for the loop's assets: per-partition values, tables and failures."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from impact_assets.contracts import EvaluationRecord, MeasurementRecord, RecordStatus


def _record_metadata(record: MeasurementRecord | EvaluationRecord) -> dict[str, object]:
    metadata: dict[str, object] = {"status": record.status.value, "loop_id": record.loop_id}
    if record.cause:
        metadata["cause"] = record.cause
    result = record.result
    if isinstance(record, MeasurementRecord) and result is not None:
        metadata.update(
            {
                "estimate": result.effect_estimate,
                "ci_lower": result.ci_lower,
                "ci_upper": result.ci_upper,
                "p_value": dg.MetadataValue.float(result.p_value)
                if result.p_value is not None
                else dg.MetadataValue.null(),
                "sample_size": result.sample_size,
                "model_type": result.model_type.value,
                "diagnostics": dg.MetadataValue.json(result.diagnostics),
            }
        )
    elif isinstance(record, EvaluationRecord) and result is not None:
        metadata.update(
            {
                "confidence": result.confidence,
                "cost": result.cost,
                "R_worst": result.R_worst,
                "R_med": result.R_med,
                "R_best": result.R_best,
                "model_type": result.model_type.value,
            }
        )
    return metadata


def partition_metadata(
    context: dg.AssetExecutionContext, records: Iterable[MeasurementRecord | EvaluationRecord]
) -> None:
    """Attach each record's own numbers to its partition's materialization."""
    for record in records:
        context.add_asset_metadata(_record_metadata(record), partition_key=record.initiative_id)


def report_failures(
    context: dg.AssetExecutionContext,
    stage: str,
    records: Iterable[MeasurementRecord | EvaluationRecord],
) -> None:
    """Say in the run's log which initiatives failed in this stage, and why."""
    failed = [r for r in records if r.status is RecordStatus.FAILED]
    for record in failed:
        context.log.warning(f"{stage} failed for {record.initiative_id}: {record.cause}")
