"""The learning loop's records: pilot-against-scale history, and the calibration fitted from it.

``CalibrationRecord`` is one initiative's pilot (and, when it was scaled, its scale
measurement) in one loop, in outcome units with the ``value_per_unit`` that turns
them into currency. ``CalibrationHistory`` is the append-only table of them.
``Calibration`` is what EVALUATE needs from it: the effect-size prior and the
per-method ratio of the effect at scale to the pilot's, with their uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from impact_assets.contracts._validation import (
    coerce_enum,
    require_finite,
    require_int,
    require_text,
)
from impact_assets.contracts.types import ModelType

# Where a history record came from: a loop of this instance, or the config's history file.
SOURCE_LOOP = "loop"
SOURCE_FILE = "history_file"
RECORD_SOURCES = (SOURCE_LOOP, SOURCE_FILE)


def _optional_finite(owner: str, name: str, value: Any) -> float | None:
    return None if value is None else require_finite(owner, name, value)


def _positive(owner: str, name: str, value: Any) -> float:
    number = require_finite(owner, name, value)
    if number <= 0:
        raise ValueError(f"{owner}.{name}: must be > 0, got {number}")
    return number


def _non_negative(owner: str, name: str, value: Any) -> float:
    number = require_finite(owner, name, value)
    if number < 0:
        raise ValueError(f"{owner}.{name}: must be >= 0, got {number}")
    return number


@dataclass(frozen=True)
class CalibrationRecord:
    """One initiative's pilot in one loop, and its measurement at scale when it was scaled.

    Estimates and standard errors are in outcome units; ``value_per_unit`` turns them
    into currency. ``pilot_failed_diagnostics`` counts the pilot's failed pass/fail
    diagnostics (each widens its variance; see docs/decision.md). The true effects are
    known only for simulated data. ``selected``: the allocation chose it.
    """

    initiative_id: str
    loop_id: str
    method: str
    model_type: ModelType
    value_per_unit: float
    pilot_estimate: float
    pilot_se: float
    pilot_sample_size: int | None = None
    pilot_failed_diagnostics: int = 0
    selected: bool = False
    scale_estimate: float | None = None
    scale_se: float | None = None
    scale_sample_size: int | None = None
    pilot_true_effect: float | None = None
    scale_true_effect: float | None = None
    source: str = SOURCE_LOOP

    def __post_init__(self) -> None:
        owner = "CalibrationRecord"
        require_text(owner, "initiative_id", self.initiative_id)
        require_text(owner, "loop_id", self.loop_id)
        require_text(owner, "method", self.method)
        object.__setattr__(
            self, "model_type", coerce_enum(owner, "model_type", ModelType, self.model_type)
        )
        object.__setattr__(
            self, "value_per_unit", _positive(owner, "value_per_unit", self.value_per_unit)
        )
        object.__setattr__(
            self, "pilot_estimate", require_finite(owner, "pilot_estimate", self.pilot_estimate)
        )
        object.__setattr__(self, "pilot_se", _non_negative(owner, "pilot_se", self.pilot_se))
        object.__setattr__(
            self,
            "pilot_failed_diagnostics",
            require_int(owner, "pilot_failed_diagnostics", self.pilot_failed_diagnostics, 0),
        )
        for name in ("pilot_sample_size", "scale_sample_size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, require_int(owner, name, getattr(self, name), 1))
        if (self.scale_estimate is None) != (self.scale_se is None):
            raise ValueError(f"{owner}.scale_se: give both scale_estimate and scale_se, or neither")
        object.__setattr__(
            self, "scale_estimate", _optional_finite(owner, "scale_estimate", self.scale_estimate)
        )
        if self.scale_se is not None:
            object.__setattr__(self, "scale_se", _non_negative(owner, "scale_se", self.scale_se))
        for name in ("pilot_true_effect", "scale_true_effect"):
            object.__setattr__(self, name, _optional_finite(owner, name, getattr(self, name)))
        if not isinstance(self.selected, bool):
            raise ValueError(f"{owner}.selected: must be true or false, got {self.selected!r}")
        if self.source not in RECORD_SOURCES:
            raise ValueError(
                f"{owner}.source: must be one of {', '.join(RECORD_SOURCES)}; got {self.source!r}"
            )

    @property
    def scaled(self) -> bool:
        """Whether this record is a pilot-against-scale pair."""
        return self.scale_estimate is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model_type"] = self.model_type.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationRecord:
        return cls(**data)


@dataclass(frozen=True)
class CalibrationHistory:
    """Every loop's pilots and pilot-against-scale pairs, plus the rows of the history file.

    Append-only by loop: a loop id seen again replaces that loop's records, never adds
    to them. ``loop_id`` is the loop that last updated the history; ``history_file``
    names the file whose rows are included (None when the config has none).
    """

    records: list[CalibrationRecord]
    loop_id: str | None = None
    history_file: str | None = None

    def __post_init__(self) -> None:
        keys = [(r.source, r.loop_id, r.initiative_id) for r in self.records]
        if len(set(keys)) != len(keys):
            seen: set[tuple[str, str, str]] = set()
            duplicate = next(key for key in keys if key in seen or seen.add(key))
            raise ValueError(
                f"CalibrationHistory.records: {duplicate[2]} appears twice for loop {duplicate[1]}"
            )

    @property
    def loop_ids(self) -> list[str]:
        """The loops whose records are in the history, oldest first."""
        return sorted({r.loop_id for r in self.records if r.source == SOURCE_LOOP})

    @property
    def pairs(self) -> list[CalibrationRecord]:
        """The records with a measurement at scale."""
        return [r for r in self.records if r.scaled]

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": [record.to_dict() for record in self.records],
            "loop_id": self.loop_id,
            "history_file": self.history_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationHistory:
        return cls(
            records=[CalibrationRecord.from_dict(r) for r in data.get("records") or []],
            loop_id=data.get("loop_id"),
            history_file=data.get("history_file"),
        )


@dataclass(frozen=True)
class EffectPrior:
    """The effect-size prior in currency: a spike at 0 (null effects) and a normal slab.

    The hyper-posterior is summarised by nodes (weights ``tau_weights``, summing to
    1); at node k an effect is 0 with probability ``null_shares[k]``, else drawn from
    ``N(mu, tau_nodes[k]^2)`` with ``mu`` of mean ``mu_means[k]`` and variance
    ``mu_variances[k]``. ``null_shares`` empty means no nulls at any node (the normal
    prior; records stored before the spike existed). No nodes at all is the flat
    prior of an empty sample: each pilot then speaks for itself. ``pilots`` counts
    the pilots the prior was fitted on (``current_pilots`` of this loop, the rest
    from earlier loops).
    """

    tau_nodes: list[float]
    tau_weights: list[float]
    mu_means: list[float]
    mu_variances: list[float]
    pilots: int
    current_pilots: int
    null_shares: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = "EffectPrior"
        size = len(self.tau_nodes)
        for name in ("tau_weights", "mu_means", "mu_variances"):
            values = getattr(self, name)
            if len(values) != size:
                raise ValueError(f"{owner}.{name}: must have one value per tau node ({size})")
            for value in values:
                require_finite(owner, name, value)
        if self.null_shares:
            if len(self.null_shares) != size:
                raise ValueError(f"{owner}.null_shares: must have one value per tau node ({size})")
            for value in self.null_shares:
                if not 0.0 <= require_finite(owner, "null_shares", value) < 1.0:
                    raise ValueError(f"{owner}.null_shares: must be within [0, 1), got {value}")
        if any(t < 0 for t in self.tau_nodes) or any(v < 0 for v in self.mu_variances):
            raise ValueError(f"{owner}: tau and mu's variance must be >= 0")
        if size and not math.isclose(sum(self.tau_weights), 1.0, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"{owner}.tau_weights: must sum to 1")
        require_int(owner, "pilots", self.pilots, 0)
        require_int(owner, "current_pilots", self.current_pilots, 0)

    @property
    def flat(self) -> bool:
        """No pilot to learn from: the prior adds nothing to a pilot."""
        return not self.tau_nodes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EffectPrior:
        return cls(**data)


@dataclass(frozen=True)
class MethodRatio:
    """What scale did to one method's effects: ``effect at scale = ratio * pilot effect + extra``.

    ``ratio_*`` summarise the posterior of the ratio (mean, standard deviation, the
    5th and 95th percentiles); ``ratio_nodes`` are equal-mass points of it, used to
    mix predictions over its uncertainty. ``extra_sd`` is the square root of the
    posterior mean of the extra variance at scale (currency). ``pairs`` counts the
    pilot-against-scale pairs it was fitted on: 0 is the neutral prior.
    """

    method: str
    pairs: int
    ratio_mean: float
    ratio_sd: float
    ratio_low: float
    ratio_high: float
    ratio_nodes: list[float]
    extra_sd: float

    def __post_init__(self) -> None:
        owner = "MethodRatio"
        require_text(owner, "method", self.method)
        require_int(owner, "pairs", self.pairs, 0)
        for name in ("ratio_mean", "ratio_sd", "ratio_low", "ratio_high", "extra_sd"):
            object.__setattr__(self, name, require_finite(owner, name, getattr(self, name)))
        if not self.ratio_nodes:
            raise ValueError(f"{owner}.ratio_nodes: must not be empty")
        for value in self.ratio_nodes:
            require_finite(owner, "ratio_nodes", value)
        if self.ratio_sd < 0 or self.extra_sd < 0:
            raise ValueError(f"{owner}: ratio_sd and extra_sd must be >= 0")

    @property
    def neutral(self) -> bool:
        return self.pairs == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MethodRatio:
        return cls(**data)


@dataclass(frozen=True)
class Calibration:
    """The fitted calibration a loop's EVALUATE uses: the prior, and a ratio per method.

    ``neutral_ratio`` applies to a method with no pairs in the history. ``notes``
    say, in words, what was learnt and where the neutral fallback was used.
    ``history_records`` counts the history's records the fit could use (every record
    but the loop's own), ``history_pairs`` the pairs the ratios were fitted on, of
    which ``history_file_pairs`` came from the history file; ``history_loops``
    counts the earlier loops of this instance whose records the fit could use.
    """

    loop_id: str
    prior: EffectPrior
    ratios: dict[str, MethodRatio]
    neutral_ratio: MethodRatio
    history_records: int = 0
    history_pairs: int = 0
    notes: list[str] = field(default_factory=list)
    history_loops: int = 0
    history_file_pairs: int = 0

    def __post_init__(self) -> None:
        owner = "Calibration"
        require_text(owner, "loop_id", self.loop_id)
        for name in ("history_records", "history_pairs", "history_loops", "history_file_pairs"):
            require_int(owner, name, getattr(self, name), 0)
        if self.history_file_pairs > self.history_pairs:
            raise ValueError(
                f"{owner}.history_file_pairs: {self.history_file_pairs} exceeds history_pairs "
                f"{self.history_pairs}"
            )
        for key, ratio in self.ratios.items():
            if ratio.method != key:
                raise ValueError(f"Calibration.ratios: entry {key!r} holds method {ratio.method}")

    def ratio_for(self, method: str) -> MethodRatio:
        """The method's fitted ratio, or the neutral one when the history has no pair of it."""
        return self.ratios.get(method, self.neutral_ratio)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loop_id": self.loop_id,
            "prior": self.prior.to_dict(),
            "ratios": {key: ratio.to_dict() for key, ratio in sorted(self.ratios.items())},
            "neutral_ratio": self.neutral_ratio.to_dict(),
            "history_records": self.history_records,
            "history_pairs": self.history_pairs,
            "notes": list(self.notes),
            "history_loops": self.history_loops,
            "history_file_pairs": self.history_file_pairs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            loop_id=data["loop_id"],
            prior=EffectPrior.from_dict(data["prior"]),
            ratios={k: MethodRatio.from_dict(v) for k, v in (data.get("ratios") or {}).items()},
            neutral_ratio=MethodRatio.from_dict(data["neutral_ratio"]),
            history_records=data.get("history_records", 0),
            history_pairs=data.get("history_pairs", 0),
            notes=list(data.get("notes") or []),
            history_loops=data.get("history_loops", 0),
            history_file_pairs=data.get("history_file_pairs", 0),
        )
