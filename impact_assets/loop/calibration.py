"""The learning loop's stages: keep the history of pilots against scale, fit the calibration.

``update_history`` runs at the start of a loop: it adds the previous loop's records
(from its stored outcome reports) and the config's history file to the stored history.
``calibrate`` fits the effect-size prior on this loop's pilots and the history, and each
method's scale ratio on the history's pairs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from impact_assets.calibration.fit import fit_calibration
from impact_assets.calibration.history import merge_history, records_for_fit
from impact_assets.calibration.history_file import read_history_file
from impact_assets.calibration.pilots import (
    PilotEvidence,
    evidence_from_measure,
    evidence_from_record,
    failed_diagnostics,
    method_key,
    standard_error,
)
from impact_assets.calibration.prior import posterior_moments
from impact_assets.components.measure.data import resolve_data_path
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import (
    Calibration,
    CalibrationHistory,
    CalibrationRecord,
    LoopReport,
    MeasurementRecord,
    RecordStatus,
)
from impact_assets.loop.charts import PairPoint


def history_file_records(config: PortfolioConfig) -> tuple[list[CalibrationRecord], str | None]:
    """The rows of ``calibration.history_file`` (none when unset) and the file's path."""
    name = config.calibration.history_file
    if name is None:
        return [], None
    path = resolve_data_path(config.base_dir, name)
    return read_history_file(path), str(path)


def update_history(
    previous: CalibrationHistory | None,
    last_report: LoopReport | None,
    config: PortfolioConfig,
    loop_id: str,
) -> CalibrationHistory:
    """The stored history plus the last loop's records (replacing that loop's) and the file's."""
    file_records, file_name = history_file_records(config)
    loop_records = last_report.calibration_records if last_report is not None else None
    return merge_history(previous, loop_records, file_records, file_name, loop_id)


def current_evidence(
    config: PortfolioConfig, pilot_records: Mapping[str, MeasurementRecord | None]
) -> list[PilotEvidence]:
    """This loop's measured pilots of the config's initiatives, in currency."""
    evidence = []
    for initiative_id in config.initiative_ids:
        record = pilot_records.get(initiative_id)
        if record is None or not record.ok:
            continue
        initiative = config.initiative(initiative_id)
        method = initiative.method.value if initiative.method else None
        evidence.append(evidence_from_measure(record.result, initiative.value_per_unit, method))
    return evidence


def calibrate(
    config: PortfolioConfig,
    pilot_records: Mapping[str, MeasurementRecord | None],
    history: CalibrationHistory | None,
    loop_id: str,
) -> Calibration:
    """The loop's calibration: fitted on its measured pilots and on the history."""
    return fit_calibration(current_evidence(config, pilot_records), history, loop_id)


def loop_records(
    config: PortfolioConfig,
    pilot_records: Mapping[str, MeasurementRecord | None],
    scale_records: Mapping[str, MeasurementRecord | None],
    selected: set[str],
    loop_id: str,
    truths: Mapping[str, tuple[float | None, float | None]],
) -> list[CalibrationRecord]:
    """A history record for every pilot measured in ``loop_id``, with its scale measurement
    when it was scaled in the same loop; ``truths`` maps an id to (pilot, scale) truths."""
    records = []
    for initiative_id in config.initiative_ids:
        pilot = pilot_records.get(initiative_id)
        if pilot is None or not pilot.ok or pilot.loop_id != loop_id:
            continue
        result = pilot.result
        initiative = config.initiative(initiative_id)
        scale = scale_records.get(initiative_id)
        scaled = (
            scale is not None and scale.status is RecordStatus.SCALED and scale.loop_id == loop_id
        )
        pilot_truth, scale_truth = truths.get(initiative_id, (None, None))
        records.append(
            CalibrationRecord(
                initiative_id=initiative_id,
                loop_id=loop_id,
                method=method_key(
                    initiative.method.value if initiative.method else None,
                    result.model_type.value,
                ),
                model_type=result.model_type,
                value_per_unit=initiative.value_per_unit,
                pilot_estimate=result.effect_estimate,
                pilot_se=standard_error(result.ci_lower, result.ci_upper),
                pilot_sample_size=result.sample_size,
                pilot_failed_diagnostics=failed_diagnostics(result.diagnostics),
                selected=initiative_id in selected,
                scale_estimate=scale.result.effect_estimate if scaled else None,
                scale_se=(
                    standard_error(scale.result.ci_lower, scale.result.ci_upper) if scaled else None
                ),
                scale_sample_size=scale.result.sample_size if scaled else None,
                pilot_true_effect=pilot_truth,
                scale_true_effect=scale_truth,
            )
        )
    return records


def pair_points(calibration: Calibration, history: CalibrationHistory | None) -> list[PairPoint]:
    """Every pair the ratios were fitted on, for the calibration's chart: its pilot (shrunk
    by the prior) and its scale estimate, in currency."""
    _, pairs = records_for_fit(history, set(), calibration.loop_id)
    if not pairs:
        return []
    evidence = [evidence_from_record(record) for record in pairs]
    means, _ = posterior_moments(
        calibration.prior,
        np.array([e.estimate for e in evidence]),
        np.array([e.se for e in evidence]),
    )
    return [
        PairPoint(record.method, float(mean), record.scale_estimate * record.value_per_unit)
        for record, mean in zip(pairs, means, strict=True)
    ]
