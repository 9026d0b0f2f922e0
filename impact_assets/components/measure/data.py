"""Observed data for the statistical MEASURE: reading files and checking them before a run.

Paths in the config are relative to the config file's directory. A file is read
once per process and cached on (path, modification time, size), so a changed
file is read again. :func:`preflight` is the config check the loader runs when
``measure.component`` is ``statistical``: every problem is one line naming the
initiative and the key (``initiatives[3].data.treatment: column 'treated' not
in data/training.csv (columns: a, b, c)``).

The column helpers here (:func:`binary_values`, :func:`at_or_after`,
:func:`unit_membership`) are shared with the estimators, so pre-flight and
estimation read a column the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from impact_assets.config.models import METHOD_FILE_KEYS, FileData, PortfolioConfig
from impact_assets.contracts.measure import MIN_SAMPLE_SIZE
from impact_assets.contracts.types import Method

STATISTICAL_COMPONENT = "statistical"
ITS_MIN_POINTS_PER_SIDE = 3  # time points needed before and after the intervention
SC_MIN_DONORS = 19  # (donors + 1) * 0.05 >= 1: a placebo p-value can reach 0.05

_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, int, int], tuple[pd.DataFrame, str]] = OrderedDict()
_cache_lock = threading.Lock()


# --- reading ----------------------------------------------------------------


def resolve_data_path(config_dir: str | Path | None, path: str | Path) -> Path:
    """``path`` as written in the config, resolved against the config's directory."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    if config_dir is None:
        raise ValueError(
            f"data path {str(path)!r} is relative but no config directory was given "
            "(event key 'config_dir')"
        )
    return Path(config_dir) / candidate


def read_table(path: str | Path) -> pd.DataFrame:
    """The CSV or Parquet file at ``path`` as a DataFrame (a copy of the cached read)."""
    frame, _ = _read_cached(Path(path))
    return frame.copy()


def file_sample_id(path: str | Path) -> str:
    """Identifies a data file by content: ``file:<first 16 hex of its sha256>``."""
    _, digest = _read_cached(Path(path))
    return f"file:{digest[:16]}"


def _read_cached(path: Path) -> tuple[pd.DataFrame, str]:
    resolved = path.resolve()
    stat = resolved.stat()  # FileNotFoundError names the path
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    content = resolved.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    suffix = resolved.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(io.BytesIO(content))
    elif suffix in {".parquet", ".pq"}:
        frame = pd.read_parquet(io.BytesIO(content))
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    with _cache_lock:
        _cache[key] = (frame, digest)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return frame, digest


# --- column helpers shared with the estimators ------------------------------


def binary_values(series: pd.Series) -> np.ndarray | None:
    """The column as 0/1 integers, or None if it holds anything other than 0 and 1."""
    if series.isna().any():
        return None
    if ptypes.is_bool_dtype(series):
        return series.to_numpy(dtype=np.int64)
    if not ptypes.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float)
    if not np.isin(values, (0.0, 1.0)).all():
        return None
    return values.astype(np.int64)


def describe_values(series: pd.Series, limit: int = 6) -> str:
    """A short list of a column's distinct values for an error message."""
    distinct = pd.unique(series.dropna())
    with contextlib.suppress(TypeError):  # mixed types stay in order of appearance
        distinct = sorted(distinct)
    shown = ", ".join(repr(_plain(v)) for v in distinct[:limit])
    return shown + (", ..." if len(distinct) > limit else "")


def at_or_after(series: pd.Series, threshold: Any) -> np.ndarray:
    """Boolean mask of rows whose time value is >= ``threshold``.

    Numeric columns compare numerically; date-like columns and thresholds (a
    YAML date, an ISO string) compare as timestamps; other text compares as text.
    Raises ValueError if the threshold cannot be compared with the column.
    """
    if ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series):
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            raise ValueError(
                f"{threshold!r} is not a number, but column {series.name!r} is numeric"
            ) from None
        return series.to_numpy(dtype=float) >= value
    if ptypes.is_datetime64_any_dtype(series) or isinstance(threshold, (dt.date, dt.datetime)):
        try:
            times = pd.to_datetime(series)
            value = pd.Timestamp(threshold)
            return (times >= value).to_numpy()
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{threshold!r} cannot be compared with the times in column {series.name!r}: "
                f"{error}"
            ) from None
    return series.astype(str).to_numpy() >= str(threshold)


def unit_membership(series: pd.Series, units: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """Rows whose unit is listed in ``units``, and the listed units not found in the column."""
    if ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series):
        numeric: list[float] = []
        for unit in units:
            try:
                numeric.append(float(unit))
            except (TypeError, ValueError):
                numeric.append(np.nan)
        column = series.to_numpy(dtype=float)
        present = set(column.tolist())
        missing = [u for u, v in zip(units, numeric, strict=True) if v not in present]
        return np.isin(column, numeric), missing
    column = series.astype(str).to_numpy()
    wanted = [str(unit) for unit in units]
    present = set(column.tolist())
    missing = [u for u, w in zip(units, wanted, strict=True) if w not in present]
    return np.isin(column, wanted), missing


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# What a difference-in-differences panel needs (the method's own requirements).
DID_MIN_TREATED_UNITS = 1
DID_MIN_CONTROL_UNITS = 2
DID_MIN_PRE_PERIODS = 2
DID_MIN_POST_PERIODS = 1


def panel_design_problems(
    treated_units: int, control_units: int, pre_periods: int, post_periods: int
) -> list[tuple[str, str]]:
    """What a DiD panel lacks, as ``(key, message)``; ``key`` is ``treated`` or ``treatment_start``.

    Two control units, so that the control trend is not one unit's noise; two
    pre-treatment periods, so that the pre-trend can be checked.
    """
    problems: list[tuple[str, str]] = []
    for key, count, minimum, what in (
        ("treated", treated_units, DID_MIN_TREATED_UNITS, "treated unit(s)"),
        ("treated", control_units, DID_MIN_CONTROL_UNITS, "control unit(s)"),
        ("treatment_start", pre_periods, DID_MIN_PRE_PERIODS, "pre-treatment period(s)"),
        ("treatment_start", post_periods, DID_MIN_POST_PERIODS, "post-treatment period(s)"),
    ):
        if count < minimum:
            problems.append((key, f"{count} {what}; DiD needs at least {minimum}"))
    return problems


# --- pre-flight ---------------------------------------------------------------


def preflight(config: PortfolioConfig) -> list[str]:
    """Problems that stop the statistical MEASURE before it runs, one line each.

    Only applies when ``measure.component`` is ``statistical``. A missing
    ``scale_data`` file is not a problem: the scale data is still to come.
    """
    if config.measure.component != STATISTICAL_COMPONENT:
        return []
    problems: list[str] = []
    for index, initiative in enumerate(config.initiatives):
        where = f"initiatives[{index}]"
        if initiative.method is None:
            methods = ", ".join(m.value for m in Method)
            problems.append(
                f"{where}.method: required by the statistical measure (one of {methods})"
            )
        if initiative.data is None:
            problems.append(f"{where}.data: required by the statistical measure")
        if initiative.method is None:
            continue
        for key, spec in (("data", initiative.data), ("scale_data", initiative.scale_data)):
            if not isinstance(spec, FileData):
                continue
            path = resolve_data_path(config.base_dir, spec.path)
            if key == "scale_data" and not path.exists():
                continue
            problems.extend(
                f"{where}.{key}{problem}"
                for problem in check_file_data(initiative.method, spec, path)
            )
    return problems


def check_file_data(method: Method, spec: FileData, path: Path) -> list[str]:
    """Problems with one data file for ``method``; each line starts with ``.<key>: ``."""
    shown = spec.path
    if not path.exists():
        return [f".path: file not found: {shown} (looked for {path})"]
    if not path.is_file():
        return [f".path: not a file: {shown}"]
    try:
        frame, _ = _read_cached(path)
    except Exception as error:  # any parse error is a problem with the file
        return [f".path: cannot read {shown}: {type(error).__name__}: {error}"]
    return _CHECKS[method](frame, spec, shown)


def _missing_columns(frame: pd.DataFrame, spec: FileData, shown: str, keys: Sequence[str]):
    problems: list[str] = []
    columns = ", ".join(map(str, frame.columns))
    for key in keys:
        value = getattr(spec, key)
        names = value if isinstance(value, list) else [value]
        for name in names:
            if name is not None and name not in frame.columns:
                problems.append(f".{key}: column {name!r} not in {shown} (columns: {columns})")
    return problems


def _numeric_problems(frame: pd.DataFrame, spec: FileData, shown: str, keys: Sequence[str]):
    problems: list[str] = []
    for key in keys:
        value = getattr(spec, key)
        for name in value if isinstance(value, list) else [value]:
            if name is None:
                continue
            column = frame[name]
            if not ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column):
                problems.append(
                    f".{key}: column {name!r} in {shown} must be numeric (got {column.dtype})"
                )
            elif column.isna().any():
                problems.append(
                    f".{key}: column {name!r} in {shown} has {int(column.isna().sum())} "
                    "missing values"
                )
    return problems


def _binary_problem(column: pd.Series, key: str, shown: str, what: str) -> str | None:
    values = binary_values(column)
    if values is None:
        return (
            f".{key}: column {column.name!r} in {shown} must be 0/1 "
            f"(found values: {describe_values(column)})"
        )
    if values.min() == values.max():
        return (
            f".{key}: column {column.name!r} in {shown} must contain both 0 and 1; "
            f"found only {values[0]}: {what}"
        )
    return None


def _too_few(count: int, what: str, shown: str) -> list[str]:
    if count < MIN_SAMPLE_SIZE:
        return [
            f".path: {shown} has {count} {what}; the statistical measure needs at least "
            f"{MIN_SAMPLE_SIZE}"
        ]
    return []


def _check_units(frame: pd.DataFrame, spec: FileData, shown: str) -> list[str]:
    keys = ("outcome", "treatment", "covariates")
    problems = _missing_columns(frame, spec, shown, keys)
    if problems:
        return problems
    problems = _numeric_problems(frame, spec, shown, ("outcome", "covariates"))
    problem = _binary_problem(
        frame[spec.treatment], "treatment", shown, "an effect needs treated and control units"
    )
    if problem:
        problems.append(problem)
    return problems + _too_few(len(frame), "rows (units)", shown)


def _check_panel(frame: pd.DataFrame, spec: FileData, shown: str, method: str = "DiD") -> list[str]:
    keys = ("outcome", "unit", "time", "treated")
    problems = _missing_columns(frame, spec, shown, keys)
    if problems:
        return problems
    problems = _numeric_problems(frame, spec, shown, ("outcome",))
    units = frame[spec.unit]
    if units.isna().any():
        problems.append(f".unit: column {spec.unit!r} in {shown} has missing values")
        return problems
    if spec.treated is not None:
        treated_key = "treated"
        problem = _binary_problem(
            frame[spec.treated], "treated", shown, f"{method} needs treated and control units"
        )
        if problem:
            problems.append(problem)
            return problems
        per_unit = frame.groupby(spec.unit, sort=False)[spec.treated].nunique()
        if (per_unit > 1).any():
            problems.append(
                f".treated: column {spec.treated!r} in {shown} must be constant within each "
                f"unit (it varies for {int((per_unit > 1).sum())} units)"
            )
            return problems
        mask = binary_values(frame[spec.treated]).astype(bool)
    else:
        treated_key = "treated_units"
        mask, missing = unit_membership(units, spec.treated_units or [])
        if missing:
            shown_missing = ", ".join(repr(u) for u in missing[:6])
            problems.append(
                f".treated_units: not in column {spec.unit!r} of {shown}: {shown_missing}"
            )
        if not mask.any():
            problems.append(
                f".treated_units: none of the listed units is in {shown}; "
                f"{method} needs treated units"
            )
        elif mask.all():
            problems.append(
                f".treated_units: every unit in {shown} is listed as treated; "
                f"{method} needs control units"
            )
    try:
        post = at_or_after(frame[spec.time], spec.treatment_start)
    except ValueError as error:
        problems.append(f".treatment_start: {error}")
        post = None
    else:
        if post.all():
            problems.append(
                f".treatment_start: {spec.treatment_start!r} is at or before every value of "
                f"column {spec.time!r} in {shown}; {method} needs pre-treatment periods"
            )
        elif not post.any():
            problems.append(
                f".treatment_start: {spec.treatment_start!r} is after every value of column "
                f"{spec.time!r} in {shown}; {method} needs post-treatment periods"
            )
    if frame.duplicated([spec.unit, spec.time]).any():
        problems.append(
            f".time: {shown} has repeated ({spec.unit}, {spec.time}) pairs; a panel needs "
            "one row per unit and period"
        )
    if problems or post is None:
        return problems + _too_few(len(frame), "rows (unit-period observations)", shown)
    treated_units = pd.Series(mask, index=frame.index).groupby(units, sort=False).any()
    times = frame[spec.time]
    post_periods = int(times[post].nunique())
    counts = (int(treated_units.sum()), int((~treated_units).sum()))
    pre_periods = times.nunique() - post_periods
    for key, message in panel_design_problems(*counts, pre_periods, post_periods):
        problems.append(
            f".{treated_key if key == 'treated' else key}: {shown} has {message} "
            f"(treatment_start {spec.treatment_start!r})"
        )
    return problems + _too_few(len(frame), "rows (unit-period observations)", shown)


def _check_synthetic_control(frame: pd.DataFrame, spec: FileData, shown: str) -> list[str]:
    problems = _check_panel(frame, spec, shown, method="synthetic control")
    if problems:
        return problems
    if spec.treated is not None:
        treated = frame.groupby(spec.unit, sort=False)[spec.treated].first().astype(bool)
    else:
        mask, _ = unit_membership(frame[spec.unit], spec.treated_units or [])
        treated = pd.Series(mask, index=frame.index).groupby(frame[spec.unit], sort=False).any()
    donors = int((~treated).sum())
    if donors < SC_MIN_DONORS:
        key = "treated" if spec.treated is not None else "treated_units"
        problems.append(
            f".{key}: {shown} has {donors} control (donor) units; synthetic control's placebo "
            f"inference needs at least {SC_MIN_DONORS}"
        )
    cells = frame[spec.unit].nunique() * frame[spec.time].nunique()
    if len(frame) != cells:
        problems.append(
            f".time: {shown} is unbalanced ({cells - len(frame)} unit-period rows missing); "
            "synthetic control needs every unit in every period"
        )
    return problems


def _check_series(frame: pd.DataFrame, spec: FileData, shown: str) -> list[str]:
    problems = _missing_columns(frame, spec, shown, ("outcome", "time"))
    if problems:
        return problems
    problems = _numeric_problems(frame, spec, shown, ("outcome",))
    times = frame[spec.time]
    if times.isna().any():
        problems.append(f".time: column {spec.time!r} in {shown} has missing values")
        return problems
    if times.duplicated().any():
        problems.append(
            f".time: column {spec.time!r} in {shown} has repeated values; a time series "
            "needs one row per time point"
        )
    try:
        post = at_or_after(times, spec.intervention_time)
    except ValueError as error:
        problems.append(f".intervention_time: {error}")
    else:
        after, before = int(post.sum()), int((~post).sum())
        if min(after, before) < ITS_MIN_POINTS_PER_SIDE:
            problems.append(
                f".intervention_time: {spec.intervention_time!r} leaves {before} time points "
                f"before and {after} from it in {shown}; the series needs at least "
                f"{ITS_MIN_POINTS_PER_SIDE} on each side (time range "
                f"{_plain(times.min())!r}..{_plain(times.max())!r})"
            )
    return problems + _too_few(len(frame), "time points", shown)


_CHECKS = {
    Method.EXPERIMENT: _check_units,
    Method.DIFFERENCE_IN_DIFFERENCES: _check_panel,
    Method.INTERRUPTED_TIME_SERIES: _check_series,
    Method.OBSERVATIONAL: _check_units,
    Method.SYNTHETIC_CONTROL: _check_synthetic_control,
}
if set(_CHECKS) != set(METHOD_FILE_KEYS):  # a new method needs its pre-flight check
    raise RuntimeError("data._CHECKS must cover every Method")
