"""CalibratedEvaluate: each pilot's predicted effect at scale, learnt from every past loop.

The event carries the loop's fitted calibration (``calibration``: an effect-size prior
and each method's ratio of the effect at scale to the pilot's, with uncertainty; see
:mod:`impact_assets.calibration`). For one pilot, in currency:

- ``R_med``: the mean of the posterior predictive distribution of its true effect at
  scale (the pilot estimate shrunk towards the prior, times the method's ratio);
- ``R_worst``, ``R_best``: its 5th and 95th percentiles (a central 90% interval;
  ``interval_kind`` ``predictive``);
- ``confidence``: the probability that the true return at scale is positive;
- ``pilot_weight``: the weight the pilot's estimate receives against the prior's
  slab, in [0, 1] (``tau^2 / (tau^2 + s^2)`` in the conjugate case).

Failed diagnostics widen the pilot's variance (x2 each) before anything else. The
derivation is in docs/decision.md §4.
"""

from __future__ import annotations

from typing import Any

from impact_assets.calibration.pilots import evidence_from_measure
from impact_assets.calibration.predictive import predict_at_scale
from impact_assets.components.base import PipelineComponent
from impact_assets.contracts import EvaluateResult, MeasureResult
from impact_assets.contracts.calibration import Calibration
from impact_assets.contracts.evaluate import INTERVAL_PREDICTIVE


def _value_per_unit(event: dict[str, Any]) -> float:
    value = event.get("value_per_unit", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"value_per_unit: must be a number > 0, got {value!r}")
    return float(value)


class CalibratedEvaluate(PipelineComponent):
    """The posterior predictive of the return at scale: mean, 5th/95th percentiles, P(> 0).

    Needs ``calibration`` in the event (a :class:`Calibration` or its dict), fitted on
    the same loop's pilots; ``method`` keys the scale ratio (the model type when absent).
    """

    # The stage functions fit a calibration for it when the caller gives none.
    needs_calibration = True

    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        measurement = MeasureResult.from_dict(event)
        value_per_unit = _value_per_unit(event)
        calibration = event.get("calibration")
        if calibration is None:
            raise ValueError(
                "calibration: the calibrated EVALUATE needs the loop's fitted calibration in "
                "its event (the `calibration` asset provides it)"
            )
        if not isinstance(calibration, Calibration):
            calibration = Calibration.from_dict(calibration)
        pilot = evidence_from_measure(measurement, value_per_unit, event.get("method"))
        prediction = predict_at_scale(calibration, pilot.method, pilot.estimate, pilot.se)
        return EvaluateResult(
            initiative_id=measurement.initiative_id,
            confidence=prediction.probability_positive,
            cost=event["cost_to_scale"],
            R_best=prediction.high,
            R_med=prediction.mean,
            R_worst=prediction.low,
            model_type=measurement.model_type,
            sample_size=measurement.sample_size,
            loop_id=event.get("loop_id"),
            pilot_weight=prediction.pilot_weight,
            interval_kind=INTERVAL_PREDICTIVE,
        ).to_dict()
