"""The ``initiatives`` partitions: one per initiative in the config, kept in sync with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

INITIATIVES = "initiatives"

initiatives_partitions = dg.DynamicPartitionsDefinition(name=INITIATIVES)


@dataclass(frozen=True)
class PartitionSync:
    """What a sync changed: ids added as partitions, partitions deleted."""

    added: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        if not self.changed:
            return "initiative partitions already match the config"
        parts = []
        if self.added:
            parts.append(f"added {len(self.added)}: {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed {len(self.removed)}: {', '.join(self.removed)}")
        return "initiative partitions " + "; ".join(parts)

    def describe_pending(self) -> str:
        """The difference still to apply, for a message while the partitions lag the config."""
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} to add ({', '.join(self.added[:5])})")
        if self.removed:
            parts.append(f"{len(self.removed)} to delete ({', '.join(self.removed[:5])})")
        return "the initiative partitions differ from the config: " + "; ".join(parts)


def plan_partition_sync(existing: Sequence[str], wanted: Sequence[str]) -> PartitionSync:
    """The additions and deletions that make ``existing`` equal to ``wanted``."""
    existing_set, wanted_set = set(existing), set(wanted)
    return PartitionSync(
        added=[i for i in wanted if i not in existing_set],
        removed=[i for i in existing if i not in wanted_set],
    )


def sync_initiative_partitions(
    instance: dg.DagsterInstance, wanted: Sequence[str]
) -> PartitionSync:
    """Make the instance's ``initiatives`` partitions equal to ``wanted``.

    New ids are added (in config order); ids no longer in the config are deleted
    as partitions, while their history stays in the event log.
    """
    plan = plan_partition_sync(instance.get_dynamic_partitions(INITIATIVES), wanted)
    if plan.added:
        instance.add_dynamic_partitions(INITIATIVES, plan.added)
    for initiative_id in plan.removed:
        instance.delete_dynamic_partition(INITIATIVES, initiative_id)
    return plan


def partition_range_tags(instance: dg.DagsterInstance) -> dict[str, str]:
    """Run tags that make one run cover every current initiative partition."""
    keys = instance.get_dynamic_partitions(INITIATIVES)
    if not keys:
        raise ValueError("there are no initiative partitions: sync them from the config first")
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }
