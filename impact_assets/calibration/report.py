"""What the calibration shows about itself: its pairs as points for the chart."""

from __future__ import annotations

import numpy as np

from impact_assets.calibration.history import records_for_fit
from impact_assets.calibration.pilots import evidence_from_record
from impact_assets.calibration.prior import posterior_moments
from impact_assets.contracts.calibration import Calibration, CalibrationHistory
from impact_assets.loop.charts import PairPoint


def pair_points(calibration: Calibration, history: CalibrationHistory | None) -> list[PairPoint]:
    """Every pair the ratios were fitted on: its pilot (shrunk by the prior) and its scale
    estimate, in currency, oldest first."""
    _, pairs = records_for_fit(history, set())
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
