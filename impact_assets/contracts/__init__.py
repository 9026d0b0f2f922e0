"""The typed contracts between stages. Pure Python: no Dagster import."""

from impact_assets.contracts.allocate import AllocateResult, AllocationStatus
from impact_assets.contracts.calibration import (
    Calibration,
    CalibrationHistory,
    CalibrationRecord,
    EffectPrior,
    MethodRatio,
)
from impact_assets.contracts.evaluate import EvaluateResult
from impact_assets.contracts.measure import MeasureResult
from impact_assets.contracts.records import EvaluationRecord, MeasurementRecord
from impact_assets.contracts.report import LoopReport, OutcomeReport, PortfolioSummary
from impact_assets.contracts.types import Method, ModelType, RecordStatus, Stage

__all__ = [
    "AllocateResult",
    "AllocationStatus",
    "Calibration",
    "CalibrationHistory",
    "CalibrationRecord",
    "EffectPrior",
    "EvaluateResult",
    "EvaluationRecord",
    "LoopReport",
    "MeasureResult",
    "MeasurementRecord",
    "Method",
    "MethodRatio",
    "ModelType",
    "OutcomeReport",
    "PortfolioSummary",
    "RecordStatus",
    "Stage",
]
