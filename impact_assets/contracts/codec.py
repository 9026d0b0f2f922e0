"""JSON encoding of contract objects, tagged by type, for storage and the CLI.

JSON rather than pickle: a stored value is data, and loading it never runs code.
"""

from __future__ import annotations

import json
from typing import Any

from impact_assets.contracts.allocate import AllocateResult
from impact_assets.contracts.calibration import Calibration, CalibrationHistory
from impact_assets.contracts.evaluate import EvaluateResult
from impact_assets.contracts.measure import MeasureResult
from impact_assets.contracts.records import EvaluationRecord, MeasurementRecord
from impact_assets.contracts.report import LoopReport, OutcomeReport

CONTRACT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        MeasureResult,
        EvaluateResult,
        AllocateResult,
        OutcomeReport,
        MeasurementRecord,
        EvaluationRecord,
        LoopReport,
        CalibrationHistory,
        Calibration,
    )
}


def to_payload(value: Any) -> dict[str, Any]:
    """A contract object as ``{"type": ..., "data": ...}`` (JSON-ready)."""
    type_name = type(value).__name__
    if type_name not in CONTRACT_TYPES:
        raise TypeError(f"cannot store a {type_name}: only contract objects are stored")
    return {"type": type_name, "data": value.to_dict()}


def from_payload(payload: dict[str, Any]) -> Any:
    """Rebuild a contract object from :func:`to_payload`'s mapping."""
    type_name = payload.get("type")
    if type_name not in CONTRACT_TYPES:
        raise ValueError(f"unknown stored type {type_name!r}")
    return CONTRACT_TYPES[type_name].from_dict(payload["data"])


def encode(value: Any) -> str:
    """Serialise a contract object as ``{"type": ..., "data": ...}`` JSON text."""
    return json.dumps(to_payload(value), sort_keys=True, indent=1)


def decode(text: str) -> Any:
    """Rebuild a contract object from :func:`encode`'s text."""
    return from_payload(json.loads(text))
