"""The interface every MEASURE, EVALUATE and ALLOCATE implementation follows.

Events are plain dicts so components stay free of Dagster and pydantic, and can
run in another process. What each stage receives:

- MEASURE: ``initiative_id``, ``seed`` (the config's root seed), ``stage``
  (``"pilot"`` or ``"scale"``), ``sample_size`` (scale only: the config's
  ``scale_sample_size``), ``initiative`` (the initiative's config as a dict) and
  ``config_dir`` (where relative data paths resolve). Returns a
  :class:`~impact_assets.contracts.MeasureResult` as a dict.
- EVALUATE: the pilot MeasureResult's fields plus ``cost_to_scale``,
  ``value_per_unit``, ``seed``, ``method`` (the initiative's method, or None) and,
  for a component that declares ``needs_calibration = True``, ``calibration`` (the
  loop's fitted :class:`~impact_assets.contracts.Calibration`). Returns an
  EvaluateResult as a dict.
- ALLOCATE: ``initiatives`` (EvaluateResult dicts), ``budget``,
  ``min_confidence``, ``min_portfolio_worst_return`` and ``weights``. Returns an
  AllocateResult as a dict.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class PipelineComponent(ABC):
    """One implementation of one stage: ``execute(event) -> result``."""

    @abstractmethod
    def execute(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process one event (one initiative, or the whole portfolio for ALLOCATE)."""


class TransientComponentError(RuntimeError):
    """A failure worth retrying (a flaky data source, a timeout); anything else is not."""


class DataNotAvailable(LookupError):
    """The data a measurement needs does not exist yet (e.g. scale data still to come)."""
