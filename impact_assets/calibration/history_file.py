"""``calibration.history_file``: pilot-against-scale results an organisation already has.

A CSV or Parquet file, one row per scaled initiative. Columns (outcome units unless
``value_per_unit`` says otherwise):

| column | required | meaning |
| --- | --- | --- |
| initiative_id | yes | the initiative (unique per loop_id) |
| method | yes | one of the five methods (``experiment``, ``synthetic_control``, ...) |
| pilot_estimate, pilot_se | yes | the pilot's estimate and standard error (> 0) |
| scale_estimate, scale_se | yes | the estimate at scale and its standard error (> 0) |
| value_per_unit | no (1) | currency per outcome unit (> 0) |
| loop_id | no (``history_file``) | the round of decisions the row belongs to |
| pilot_sample_size, scale_sample_size | no | integers >= 1 |
| pilot_failed_diagnostics | no (0) | failed diagnostics of the pilot (integer >= 0) |
| pilot_true_effect, scale_true_effect | no | true effects, where known (simulations) |

Every problem is reported at once, each naming its row (the first data row is row 1;
in a CSV it is line 2).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from impact_assets.contracts.calibration import SOURCE_FILE, CalibrationRecord
from impact_assets.contracts.types import Method

REQUIRED_COLUMNS = (
    "initiative_id",
    "method",
    "pilot_estimate",
    "pilot_se",
    "scale_estimate",
    "scale_se",
)
OPTIONAL_COLUMNS = (
    "value_per_unit",
    "loop_id",
    "pilot_sample_size",
    "scale_sample_size",
    "pilot_failed_diagnostics",
    "pilot_true_effect",
    "scale_true_effect",
)
DEFAULT_LOOP_ID = "history_file"
MAX_PROBLEMS = 20
_METHODS = ", ".join(m.value for m in Method)


class HistoryFileError(ValueError):
    """The history file cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        lines = shown + ([f"... and {more} more"] if more else [])
        super().__init__(f"history file {path}:\n" + "\n".join(f"  {line}" for line in lines))


def _read_table(path: Path) -> Any:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype={"initiative_id": str, "loop_id": str, "method": str})
    return pd.read_parquet(path)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(row: dict[str, Any], column: str, problems: list[str], where: str, **rule: Any):
    value = row.get(column)
    if _missing(value):
        if rule.get("required"):
            problems.append(f"{where}: {column} is missing")
        return rule.get("default")
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {column} must be a number, got {value!r}")
        return None
    if not math.isfinite(number):
        problems.append(f"{where}: {column} must be finite, got {value!r}")
        return None
    if rule.get("positive") and number <= 0:
        problems.append(f"{where}: {column} must be > 0, got {value!r}")
        return None
    if rule.get("integer"):
        minimum = rule.get("minimum", 0)
        if not number.is_integer() or number < minimum:
            problems.append(f"{where}: {column} must be an integer >= {minimum}, got {value!r}")
            return None
        return int(number)
    return number


def _record(row: dict[str, Any], where: str, problems: list[str]) -> CalibrationRecord | None:
    before = len(problems)
    initiative_id = row.get("initiative_id")
    if _missing(initiative_id) or not str(initiative_id).strip():
        problems.append(f"{where}: initiative_id is missing")
    method = row.get("method")
    try:
        model_type = Method(str(method).strip()).model_type
    except ValueError:
        problems.append(f"{where}: method must be one of {_METHODS}; got {method!r}")
        model_type = None
    values = {
        "pilot_estimate": _number(row, "pilot_estimate", problems, where, required=True),
        "pilot_se": _number(row, "pilot_se", problems, where, required=True, positive=True),
        "scale_estimate": _number(row, "scale_estimate", problems, where, required=True),
        "scale_se": _number(row, "scale_se", problems, where, required=True, positive=True),
        "value_per_unit": _number(row, "value_per_unit", problems, where, positive=True, default=1),
        "pilot_sample_size": _number(
            row, "pilot_sample_size", problems, where, integer=True, minimum=1
        ),
        "scale_sample_size": _number(
            row, "scale_sample_size", problems, where, integer=True, minimum=1
        ),
        "pilot_failed_diagnostics": _number(
            row, "pilot_failed_diagnostics", problems, where, integer=True, default=0
        ),
        "pilot_true_effect": _number(row, "pilot_true_effect", problems, where),
        "scale_true_effect": _number(row, "scale_true_effect", problems, where),
    }
    if len(problems) > before:
        return None
    loop_id = row.get("loop_id")
    return CalibrationRecord(
        initiative_id=str(initiative_id).strip(),
        loop_id=DEFAULT_LOOP_ID if _missing(loop_id) else str(loop_id).strip(),
        method=str(method).strip(),
        model_type=model_type,
        selected=True,
        source=SOURCE_FILE,
        **values,
    )


def read_history_file(path: str | Path) -> list[CalibrationRecord]:
    """The file's rows as history records; :class:`HistoryFileError` lists every problem."""
    path = Path(path)
    if not path.is_file():
        raise HistoryFileError(path, [f"file not found: {path}"])
    try:
        table = _read_table(path)
    except Exception as error:  # the reader's own message says what is wrong with the file
        raise HistoryFileError(path, [f"cannot read the file: {error}"]) from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise HistoryFileError(
            path,
            [f"missing column(s): {', '.join(missing)} (required: {', '.join(REQUIRED_COLUMNS)})"],
        )
    unknown = sorted(set(table.columns) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    problems = [f"unknown column(s): {', '.join(map(str, unknown))}"] if unknown else []
    csv = path.suffix.lower() == ".csv"
    records: list[CalibrationRecord] = []
    first_row: dict[tuple[str, str], int] = {}
    for index, row in enumerate(table.to_dict(orient="records"), start=1):
        where = f"row {index}" + (f" (line {index + 1})" if csv else "")
        record = _record(row, where, problems)
        if record is None:
            continue
        key = (record.loop_id, record.initiative_id)
        if key in first_row:
            problems.append(
                f"{where}: initiative_id {record.initiative_id!r} appears again for loop_id "
                f"{record.loop_id!r} (first in row {first_row[key]})"
            )
            continue
        first_row[key] = index
        records.append(record)
    if not records and not problems:
        problems.append("the file has no rows")
    if problems:
        raise HistoryFileError(path, problems)
    return records
