"""Storage of asset values: one JSON file per asset partition, written atomically.

Dagster's filesystem IO manager refuses an output that covers several
partitions (a single-run backfill); this one takes a partitioned asset's value
as a dict ``{partition_key: record}`` and stores each record in its own file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
from upath import UPath

from impact_assets.contracts.codec import decode, encode

STORAGE_FOLDER = "impact_engine"


def write_atomically(path: Path, text: str, *, sync: bool = True) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a value.

    ``sync`` also flushes the file to disk before the rename (survives a power loss).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            if sync:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class RecordIOManager(dg.UPathIOManager):
    """Stores contract objects as JSON under ``<base>/<asset>/<partition>.json``."""

    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        # No fsync per partition (thousands per run): a value lost to a power cut is recomputed
        # by the next loop, and the rename still means a reader never sees half a file.
        write_atomically(Path(str(path)), encode(obj), sync=False)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return decode(Path(str(path)).read_text(encoding="utf-8"))

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions:
            super().handle_output(context, obj)
            return
        paths = self._get_paths_for_partitions(context)
        if not isinstance(obj, dict) or set(obj) != set(paths):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a dict with one record per "
                f"partition in the run ({len(paths)}); got {type(obj).__name__}"
            )
        for partition_key, path in paths.items():
            self.dump_to_path(context, obj[partition_key], path)
        context.add_output_metadata({"partitions_written": len(paths)})

    def load_partitions(self, context: dg.InputContext) -> dict[str, Any]:
        """Every requested partition that exists; a missing one is left out, not an error.

        The downstream stages list what is missing rather than fail on it.
        """
        loaded: dict[str, Any] = {}
        missing: list[str] = []
        for partition_key, path in self._get_paths_for_partitions(context).items():
            try:
                loaded[partition_key] = self.load_from_path(context, path)
            except FileNotFoundError:
                missing.append(partition_key)
        if missing:
            context.log.warning(
                f"{len(missing)} partition(s) of {context.asset_key.to_user_string()} have no "
                f"stored value yet: {', '.join(missing[:10])}"
            )
        return loaded


def storage_root(instance: dg.DagsterInstance) -> Path:
    """Where asset values live: a folder under the instance's storage directory."""
    return Path(instance.storage_directory()) / STORAGE_FOLDER


class RecordIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """The :class:`RecordIOManager` under the instance's storage directory (or ``base_dir``)."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> RecordIOManager:
        base = Path(self.base_dir) if self.base_dir else storage_root(context.instance)
        return RecordIOManager(base_path=UPath(base))


def read_stored(instance: dg.DagsterInstance, asset: str, partition_key: str | None = None) -> Any:
    """Read one stored value back (the CLI's ``--output-json``, tests, notebooks)."""
    folder = storage_root(instance) / asset
    path = folder / f"{partition_key}.json" if partition_key else folder.with_suffix(".json")
    return decode(path.read_text(encoding="utf-8"))
