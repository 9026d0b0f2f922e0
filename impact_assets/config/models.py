"""The portfolio configuration (``config.yaml``) as pydantic models.

Validation reports every problem at once, each with its field path; see
:mod:`impact_assets.config.loader`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from impact_assets.contracts.types import Method
from impact_assets.registry import component_names

INITIATIVE_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
DEFAULT_SCHEDULE = "0 6 * * 1"
DEFAULT_VALUE_PER_UNIT = 1.0

# Column keys each method needs when its data comes from a file (SPEC §3).
METHOD_FILE_KEYS: dict[Method, tuple[str, ...]] = {
    Method.EXPERIMENT: ("outcome", "treatment"),
    Method.DIFFERENCE_IN_DIFFERENCES: ("outcome", "unit", "time", "treatment_start"),
    Method.INTERRUPTED_TIME_SERIES: ("outcome", "time", "intervention_time"),
    Method.OBSERVATIONAL: ("outcome", "treatment", "covariates"),
    Method.SYNTHETIC_CONTROL: ("outcome", "unit", "time", "treatment_start"),
}
# Methods whose file data is a unit-by-period panel with treated_units or treated.
PANEL_METHODS = frozenset({Method.DIFFERENCE_IN_DIFFERENCES, Method.SYNTHETIC_CONTROL})
ITS_MODELS = ("level", "level_and_slope")

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")


def _not_a_bool(value: Any) -> Any:
    # YAML reads yes/no/true/false as booleans, which pydantic would take as 1 and 0.
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not a boolean (got {value!r})")
    return value


# Numbers in the config: finite, and never a YAML boolean.
Number = Annotated[float, BeforeValidator(_not_a_bool), AllowInfNan(False)]
Count = Annotated[int, BeforeValidator(_not_a_bool)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimulatedData(_Strict):
    """Data generated for the method's design with a known true effect."""

    source: Literal["simulated"]
    true_effect: Number | None = Field(
        default=None, description="effect in outcome units; drawn from the seed when omitted"
    )
    noise_sd: Number = Field(default=1.0, gt=0, description="standard deviation of the noise")
    pilot_sample_size: Count | None = Field(
        default=None, ge=30, description="units (time points for ITS); drawn in 50..500 if omitted"
    )
    scale_effect_ratio: Number = Field(
        default=1.0, ge=0, description="effect at scale = true_effect * scale_effect_ratio"
    )


class FileData(_Strict):
    """Observed data read from a CSV or Parquet file."""

    source: Literal["file"]
    path: str = Field(description="CSV or Parquet, relative to the config file")
    outcome: str
    treatment: str | None = None
    covariates: list[str] = Field(default_factory=list)
    unit: str | None = None
    time: str | None = None
    treated_units: list[Any] | None = None
    treated: str | None = None
    treatment_start: Any | None = None
    intervention_time: Any | None = None

    @field_validator("path")
    @classmethod
    def _path_has_known_suffix(cls, value: str) -> str:
        if Path(value).suffix.lower() not in {".csv", ".parquet", ".pq"}:
            raise ValueError("must name a .csv or .parquet file")
        return value


DataSpec = Annotated[SimulatedData | FileData, Field(discriminator="source")]


class InitiativeConfig(_Strict):
    """One piloted initiative: what it costs to scale and how to measure it."""

    initiative_id: str = Field(pattern=INITIATIVE_ID_PATTERN)
    cost_to_scale: Number = Field(gt=0)
    value_per_unit: Number = Field(default=DEFAULT_VALUE_PER_UNIT, gt=0)
    method: Method | None = None
    its_model: Literal["level", "level_and_slope"] | None = Field(
        default=None,
        description="interrupted_time_series only: level shift (default) or level and slope",
    )
    data: DataSpec | None = None
    scale_data: FileData | None = None

    @model_validator(mode="after")
    def _method_keys(self) -> InitiativeConfig:
        problems: list[str] = []
        if self.its_model is not None and self.method is not Method.INTERRUPTED_TIME_SERIES:
            problems.append(_its_model_message(self.method))
        for key, spec in (("data", self.data), ("scale_data", self.scale_data)):
            if isinstance(spec, FileData) and self.method is not None:
                problems.extend(_missing_method_keys(key, self.method, spec.model_dump()))
        if isinstance(self.data, SimulatedData) and self.scale_data is not None:
            problems.append("scale_data: only file-sourced data takes scale_data")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _missing_method_keys(key: str, method: Method, spec: dict[str, Any]) -> list[str]:
    """The column keys ``method`` needs that a file data spec (as a dict) lacks."""
    problems = []
    for column_key in METHOD_FILE_KEYS[method]:
        if spec.get(column_key) in (None, []):
            problems.append(f"{key}.{column_key}: required for method {method.value}")
    if method in PANEL_METHODS and (spec.get("treated_units") is None) == (
        spec.get("treated") is None
    ):
        problems.append(
            f"{key}: method {method.value} needs exactly one of "
            "treated_units (list of unit values) or treated (0/1 column)"
        )
    return problems


def _its_model_message(method: Method | None) -> str:
    used = "no method" if method is None else f"method {method.value}"
    return f"its_model: only for method interrupted_time_series (this initiative has {used})"


def raw_cross_field_problems(raw: dict[str, Any]) -> list[str]:
    """Cross-field problems found on the raw mapping.

    Pydantic skips a model's own cross-field checks when one of its fields is
    invalid; running these on the raw data too lets one pass report everything.
    """
    problems: list[str] = []
    initiatives = raw.get("initiatives")
    if not isinstance(initiatives, list):
        return problems
    first_index: dict[str, int] = {}
    for index, initiative in enumerate(initiatives):
        if not isinstance(initiative, dict):
            continue
        initiative_id = initiative.get("initiative_id")
        if isinstance(initiative_id, str):
            if initiative_id in first_index:
                problems.append(
                    _duplicate_message(index, first_index[initiative_id], initiative_id)
                )
            first_index.setdefault(initiative_id, index)
        try:
            method = Method(initiative.get("method"))
        except ValueError:
            method = None
        if initiative.get("its_model") is not None and method is not (
            Method.INTERRUPTED_TIME_SERIES
        ):
            problems.append(f"initiatives[{index}].{_its_model_message(method)}")
        if method is None:
            continue
        for key in ("data", "scale_data"):
            spec = initiative.get(key)
            if isinstance(spec, dict) and spec.get("source") == "file":
                problems.extend(
                    f"initiatives[{index}].{problem}"
                    for problem in _missing_method_keys(key, method, spec)
                )
    return problems


def _duplicate_message(index: int, first: int, initiative_id: str) -> str:
    return (
        f"initiatives[{index}].initiative_id: duplicate of initiatives[{first}] "
        f"({initiative_id!r}); ids must be unique"
    )


class _ComponentChoice(_Strict):
    """A stage's component. Omitted, the stage uses the real one (:data:`DEFAULT_COMPONENTS`);
    the mocks run only when named."""

    stage: ClassVar[str]
    component: str

    @field_validator("component")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in component_names(cls.stage):
            choices = ", ".join(component_names(cls.stage))
            raise ValueError(f"unknown {cls.stage} component {name!r}; choose one of {choices}")
        return name


class MeasureSettings(_ComponentChoice):
    stage: ClassVar[str] = "measure"
    component: str = "statistical"
    # Where the measurements run: threads share one process (the GIL serialises
    # pure-Python work), processes use every core of this machine, dask sends one task
    # per initiative to a Dask cluster. None: the profile's choice (threads on `local`,
    # dask on `distributed`), so one config runs on both.
    pool: Literal["threads", "processes", "dask"] | None = None
    scheduler_address: str | None = Field(
        default=None, description="the Dask scheduler (pool dask); else $DASK_SCHEDULER_ADDRESS"
    )

    @model_validator(mode="after")
    def _address_needs_dask(self) -> MeasureSettings:
        if self.scheduler_address is not None and self.pool in ("threads", "processes"):
            raise ValueError(f"scheduler_address: only with pool dask (pool is {self.pool})")
        return self


class EvaluateSettings(_ComponentChoice):
    stage: ClassVar[str] = "evaluate"
    component: str = "calibrated"


class ScenarioWeights(_Strict):
    """Weights of the best, median and worst scenarios (bayesian rule)."""

    best: Number = Field(ge=0)
    med: Number = Field(ge=0)
    worst: Number = Field(ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> ScenarioWeights:
        total = self.best + self.med + self.worst
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got {total}")
        return self


class AllocateSettings(_ComponentChoice):
    stage: ClassVar[str] = "allocate"
    component: str = "expected_return"
    min_confidence: Number = Field(default=0.0, ge=0, le=1)
    min_portfolio_worst_return: Number | None = None
    weights: ScenarioWeights | None = None


class CalibrationSettings(_Strict):
    """Pilot-against-scale results from outside this instance, for the learning loop."""

    history_file: str | None = Field(
        default=None,
        description="CSV or Parquet of past pilot-against-scale pairs, relative to this file",
    )

    @field_validator("history_file")
    @classmethod
    def _history_file_suffix(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in {".csv", ".parquet", ".pq"}:
            raise ValueError("must name a .csv or .parquet file")
        return value


class PortfolioConfig(_Strict):
    """The whole portfolio: budget, components, and the initiatives to pilot."""

    budget: Number = Field(ge=0)
    scale_sample_size: Count = Field(default=5000, ge=30)
    max_workers: Count = Field(default=4, ge=1, le=256)
    seed: Count = Field(default=42, ge=0)
    schedule: str = DEFAULT_SCHEDULE
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    evaluate: EvaluateSettings = Field(default_factory=EvaluateSettings)
    allocate: AllocateSettings = Field(default_factory=AllocateSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    initiatives: list[InitiativeConfig] = Field(min_length=1)

    _source_path: Path | None = PrivateAttr(default=None)
    _by_id: tuple[Any, dict[str, InitiativeConfig]] = PrivateAttr(default=(None, {}))

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError("must be a five-field cron expression such as '0 6 * * 1'")
        return value

    @model_validator(mode="after")
    def _portfolio_rules(self) -> PortfolioConfig:
        problems: list[str] = []
        seen: dict[str, int] = {}
        for index, initiative in enumerate(self.initiatives):
            if initiative.initiative_id in seen:
                problems.append(
                    _duplicate_message(
                        index, seen[initiative.initiative_id], initiative.initiative_id
                    )
                )
            seen.setdefault(initiative.initiative_id, index)
            data = initiative.data
            if (
                isinstance(data, SimulatedData)
                and data.pilot_sample_size is not None
                and data.pilot_sample_size > self.scale_sample_size
            ):
                problems.append(
                    f"initiatives[{index}].data.pilot_sample_size: "
                    f"{data.pilot_sample_size} exceeds scale_sample_size "
                    f"{self.scale_sample_size}; the scale sample must be the larger"
                )
        if (
            self.allocate.component == "mock"
            and self.allocate.min_portfolio_worst_return is not None
        ):
            problems.append(
                "allocate.min_portfolio_worst_return: the greedy mock rule cannot honour a "
                "floor; use minimax_regret or bayesian"
            )
        if self.allocate.weights is not None and self.allocate.component != "bayesian":
            problems.append("allocate.weights: only the bayesian rule takes weights")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def initiative_ids(self) -> list[str]:
        return [initiative.initiative_id for initiative in self.initiatives]

    @property
    def source_path(self) -> Path | None:
        """The file this config was read from (relative data paths resolve against it)."""
        return self._source_path

    @property
    def base_dir(self) -> Path:
        return self._source_path.parent if self._source_path else Path.cwd()

    def initiative(self, initiative_id: str) -> InitiativeConfig:
        # The index is built once per list of initiatives (a copy with new ones rebuilds
        # it), so per-initiative lookups stay O(1) at n = 10,000.
        indexed, by_id = self._by_id
        if indexed is not self.initiatives:
            by_id = {initiative.initiative_id: initiative for initiative in self.initiatives}
            self._by_id = (self.initiatives, by_id)
        try:
            return by_id[initiative_id]
        except KeyError:
            raise KeyError(f"no initiative {initiative_id!r} in the config") from None
