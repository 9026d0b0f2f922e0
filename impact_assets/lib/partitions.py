"""The ``initiatives`` partitions: one per initiative of the config the definitions load.

The partitions are static, built from the config when the Definitions load (the
initiatives are known then): a run checks a partition key against a list in memory,
where dynamic partitions would be read from the instance's database for every
per-partition metadata call, a cost that grows with the square of the portfolio. A
changed config is a code reload: the CLI and the Python API load the definitions for
the config they run; ``dagster dev`` picks a changed config up on "Reload definitions",
and ``initiative_partitions_sensor`` says when the file and the loaded partitions differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from impact_assets.config import ConfigError, default_config_path
from impact_assets.config.loader import read_yaml
from impact_assets.config.pinned import ResolvedConfig, resolve_config

INITIATIVES = "initiatives"
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@functools.lru_cache(maxsize=8)
def initiative_partitions(ids: tuple[str, ...]) -> dg.StaticPartitionsDefinition:
    """The ``initiatives`` partitions for these ids, in config order (one object per id list)."""
    return dg.StaticPartitionsDefinition(list(ids))


@dataclass(frozen=True)
class LoadedConfig:
    """The config the definitions were built from: valid (``resolved``) or not (``problems``).

    An invalid config still loads the code location: its partitions are the ids that
    can be read from the file, and runs and ticks fail or skip with the problems.
    """

    path: Path
    resolved: ResolvedConfig | None
    problems: tuple[str, ...]
    initiative_ids: tuple[str, ...]

    @property
    def digest(self) -> str | None:
        return self.resolved.digest if self.resolved is not None else None

    @property
    def partitions(self) -> dg.StaticPartitionsDefinition:
        return initiative_partitions(self.initiative_ids)


def _readable_ids(path: Path) -> tuple[str, ...]:
    """The well-formed initiative ids of a config that does not validate, each once."""
    try:
        raw = read_yaml(path)
    except ConfigError:
        return ()
    initiatives = raw.get("initiatives") if isinstance(raw, dict) else None
    ids: dict[str, None] = {}
    for initiative in initiatives if isinstance(initiatives, list) else []:
        key = initiative.get("initiative_id") if isinstance(initiative, dict) else None
        if isinstance(key, str) and _ID.match(key):
            ids.setdefault(key)
    return tuple(ids)


@functools.lru_cache(maxsize=8)
def _load(path: Path, version: tuple[int, int] | None) -> LoadedConfig:
    try:
        resolved = resolve_config(path)
    except ConfigError as error:
        return LoadedConfig(path, None, tuple(error.problems), _readable_ids(path))
    return LoadedConfig(path, resolved, (), tuple(resolved.config.initiative_ids))


def _version(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def loaded_config(path: str | Path | None = None) -> LoadedConfig:
    """The config at ``path`` (default: ``$IMPACT_ENGINE_CONFIG`` or ``config.yaml``), read
    once per version of the file."""
    resolved_path = Path(path or default_config_path()).resolve()
    return _load(resolved_path, _version(resolved_path))


@dataclass(frozen=True)
class PartitionDrift:
    """How the config file's initiatives differ from the partitions the definitions loaded."""

    added: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        if not self.changed:
            return "the initiative partitions match the config"
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} new in the config ({', '.join(self.added[:5])})")
        if self.removed:
            parts.append(f"{len(self.removed)} no longer in it ({', '.join(self.removed[:5])})")
        return (
            "the config's initiatives differ from the partitions the definitions loaded: "
            + "; ".join(parts)
            + ". Reload the definitions (the UI's Deployment page, or restart dagster dev) "
            "to use them; scripts/run_once.py always runs the config as it is"
        )


def partition_drift(loaded: Sequence[str], wanted: Sequence[str]) -> PartitionDrift:
    """The ids ``wanted`` adds to ``loaded``, and those it drops."""
    loaded_set, wanted_set = set(loaded), set(wanted)
    return PartitionDrift(
        added=[i for i in wanted if i not in loaded_set],
        removed=[i for i in loaded if i not in wanted_set],
    )


def partition_range_tags(ids: Sequence[str]) -> dict[str, str]:
    """Run tags that make one run cover every initiative partition (config order)."""
    if not ids:
        raise ValueError("the config has no initiatives: there is nothing to run")
    return {
        "dagster/asset_partition_range_start": ids[0],
        "dagster/asset_partition_range_end": ids[-1],
    }
