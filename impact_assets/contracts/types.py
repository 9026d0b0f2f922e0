"""Vocabulary shared by every stage: model types, methods and record statuses."""

from __future__ import annotations

from enum import Enum


class ModelType(Enum):
    """The kind of evidence a measurement rests on (the seed's four types)."""

    EXPERIMENT = "experiment"
    QUASI_EXPERIMENT = "quasi-experiment"
    TIME_SERIES = "time-series"
    OBSERVATIONAL = "observational"


class Method(Enum):
    """How an initiative's effect is estimated; each method implies one model type."""

    EXPERIMENT = "experiment"
    DIFFERENCE_IN_DIFFERENCES = "difference_in_differences"
    INTERRUPTED_TIME_SERIES = "interrupted_time_series"
    OBSERVATIONAL = "observational"
    SYNTHETIC_CONTROL = "synthetic_control"

    @property
    def model_type(self) -> ModelType:
        return METHOD_MODEL_TYPES[self]


METHOD_MODEL_TYPES: dict[Method, ModelType] = {
    Method.EXPERIMENT: ModelType.EXPERIMENT,
    Method.DIFFERENCE_IN_DIFFERENCES: ModelType.QUASI_EXPERIMENT,
    Method.INTERRUPTED_TIME_SERIES: ModelType.TIME_SERIES,
    Method.OBSERVATIONAL: ModelType.OBSERVATIONAL,
    Method.SYNTHETIC_CONTROL: ModelType.QUASI_EXPERIMENT,
}


class Stage(Enum):
    """Which measurement of an initiative a record belongs to."""

    PILOT = "pilot"
    SCALE = "scale"


class RecordStatus(Enum):
    """What happened to one initiative in one stage of one loop."""

    MEASURED = "measured"  # pilot measurement succeeded
    EVALUATED = "evaluated"  # evaluation succeeded
    SCALED = "scaled"  # selected and measured again at scale
    NOT_SELECTED = "not_selected"  # the allocation did not pick it
    AWAITING_DATA = "awaiting_data"  # selected, but its scale data does not exist yet
    FAILED = "failed"  # this initiative's own computation raised
    SKIPPED = "skipped"  # an upstream stage failed for this initiative


PILOT_STATUSES = frozenset({RecordStatus.MEASURED, RecordStatus.FAILED})
EVALUATION_STATUSES = frozenset({RecordStatus.EVALUATED, RecordStatus.FAILED, RecordStatus.SKIPPED})
SCALE_STATUSES = frozenset(
    {
        RecordStatus.SCALED,
        RecordStatus.NOT_SELECTED,
        RecordStatus.AWAITING_DATA,
        RecordStatus.FAILED,
    }
)


# How far each kind of evidence can be trusted: the range a confidence score
# lives in for a measurement of that model type (the seed's table).
CONFIDENCE_RANGES: dict[ModelType, tuple[float, float]] = {
    ModelType.EXPERIMENT: (0.85, 1.0),
    ModelType.QUASI_EXPERIMENT: (0.60, 0.84),
    ModelType.TIME_SERIES: (0.40, 0.59),
    ModelType.OBSERVATIONAL: (0.20, 0.39),
}
