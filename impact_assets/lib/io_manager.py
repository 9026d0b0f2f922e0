"""Storage of asset values: one JSON file per asset partition, on any fsspec filesystem.

Dagster's filesystem IO manager refuses an output that covers several
partitions (a single-run backfill); this one takes a partitioned asset's value
as a dict ``{partition_key: record}`` and stores each record in its own file,
``<base>/<asset>/<partition>.json`` (``<base>/<asset>.json`` when unpartitioned).
The base is a ``UPath``: a local folder, ``memory://...`` or an object store URL
such as ``s3://bucket/prefix``. Runs, the CLI, sensors and notebooks all read
values through this class (:func:`value_store` outside a run).

Those files hold the latest loop's values; the next loop replaces them. So that a
loop's values can still be read once another loop has started (the CLI reads them
back after its run; a queued loop may already be running), a loop's last step also
writes all of them to one file, ``<base>/loops/<loop_id>.json``, kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from upath import UPath

from impact_assets.contracts.codec import decode, encode, from_payload, to_payload
from impact_assets.files import write_atomically

STORAGE_FOLDER = "impact_engine"
LOOPS_FOLDER = "loops"
LOCAL_PROTOCOLS = ("", "file", "local")


def _asset_key(asset: dg.AssetKey | str) -> dg.AssetKey:
    return asset if isinstance(asset, dg.AssetKey) else dg.AssetKey(asset)


class MissingValueError(LookupError):
    """Values a reader asked for were never stored (or were deleted)."""

    def __init__(self, asset: dg.AssetKey, partition_keys: list[str] | None, where: UPath):
        self.asset = asset
        self.partition_keys = partition_keys or []
        name = asset.to_user_string()
        if partition_keys:
            shown = ", ".join(partition_keys[:10])
            more = f" and {len(partition_keys) - 10} more" if len(partition_keys) > 10 else ""
            message = (
                f"{name}: no stored value for {len(partition_keys)} partition(s): "
                f"{shown}{more} (looked under {where})"
            )
        else:
            message = f"{name}: no stored value (looked for {where})"
        super().__init__(message)


class RecordIOManager(dg.UPathIOManager):
    """Stores contract objects as JSON under ``<base>/<asset>/<partition>.json``."""

    extension = ".json"

    def __init__(self, base_path: UPath):
        super().__init__(base_path=base_path)
        self.root = base_path

    # --- paths -------------------------------------------------------------

    def value_path(self, asset: dg.AssetKey | str, partition_key: str | None = None) -> UPath:
        """Where the value of ``asset`` (one partition of it, if given) is stored."""
        folder = self.root.joinpath(*_asset_key(asset).path)
        if partition_key is None:
            return folder.with_suffix(self.extension)
        return folder / f"{partition_key}{self.extension}"

    @property
    def is_local(self) -> bool:
        return self.root.protocol in LOCAL_PROTOCOLS

    # --- reading and writing, by asset key (also used outside runs) ---------

    def loop_path(self, loop_id: str) -> UPath:
        """Where every value of loop ``loop_id`` is kept together (:meth:`write_loop`)."""
        return self.root / LOOPS_FOLDER / f"{loop_id}{self.extension}"

    def write_loop(self, loop_id: str, run_id: str, values: Mapping[str, Any]) -> None:
        """Keep one loop's values together: ``{asset: value or {partition_key: value}}``,
        written by run ``run_id`` (a rerun of the loop replaces them)."""
        assets = {
            asset: (
                {"partitions": {key: to_payload(v) for key, v in value.items()}}
                if isinstance(value, Mapping)
                else {"value": to_payload(value)}
            )
            for asset, value in values.items()
            if value is not None
        }
        kept = {"loop_id": loop_id, "run_id": run_id, "assets": assets}
        text = json.dumps(kept, separators=(",", ":"))
        self._write_text(self.loop_path(loop_id), text)

    def read_loop(self, loop_id: str, run_id: str) -> dict[str, Any] | None:
        """:meth:`write_loop`'s values of ``loop_id`` if run ``run_id`` wrote them, else None."""
        try:
            text = self.loop_path(loop_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        kept = json.loads(text)
        if kept.get("run_id") != run_id:  # an earlier run of the loop wrote them
            return None
        assets = kept["assets"]
        return {
            asset: (
                {key: from_payload(v) for key, v in stored["partitions"].items()}
                if "partitions" in stored
                else from_payload(stored["value"])
            )
            for asset, stored in assets.items()
        }

    def write(self, asset: dg.AssetKey | str, value: Any, partition_key: str | None = None) -> None:
        self._write_text(self.value_path(asset, partition_key), encode(value))

    def _write_text(self, path: UPath, text: str) -> None:
        if self.is_local:
            # No fsync per partition (thousands per run): a value lost to a power cut is
            # recomputed by the next loop, and the rename means no reader sees half a file.
            write_atomically(Path(path.path), text, sync=False)
        else:  # object stores publish a whole object when the write closes
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def read(self, asset: dg.AssetKey | str, partition_key: str | None = None) -> Any:
        """The stored value; raises :class:`MissingValueError` when there is none."""
        path = self.value_path(asset, partition_key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            keys = None if partition_key is None else [partition_key]
            raise MissingValueError(_asset_key(asset), keys, path) from None
        return decode(text)

    def read_or_none(self, asset: dg.AssetKey | str, partition_key: str | None = None) -> Any:
        try:
            return self.read(asset, partition_key)
        except MissingValueError:
            return None

    def read_partitions(
        self, asset: dg.AssetKey | str, partition_keys: Iterable[str], *, require_all: bool = True
    ) -> dict[str, Any]:
        """``{partition_key: value}``; a missing partition raises, or is left out."""
        values: dict[str, Any] = {}
        missing: list[str] = []
        for partition_key in partition_keys:
            try:
                values[partition_key] = self.read(asset, partition_key)
            except MissingValueError:
                missing.append(partition_key)
        if missing and require_all:
            raise MissingValueError(_asset_key(asset), missing, self.value_path(asset))
        return values

    # --- Dagster's interface ----------------------------------------------------

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        self.write(context.asset_key, obj)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return self.read(context.asset_key)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if not context.has_asset_partitions:
            self.write(context.asset_key, obj)
            return
        keys = list(context.asset_partition_keys)
        if not isinstance(obj, Mapping) or set(obj) != set(keys):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a dict with one record per "
                f"partition in the run ({len(keys)}); got {type(obj).__name__}"
            )
        for partition_key in keys:
            self.write(context.asset_key, obj[partition_key], partition_key)
        context.add_output_metadata({"partitions_written": len(keys)})

    def load_input(self, context: dg.InputContext) -> Any:
        """The upstream value the step needs; a value that was never stored fails the step."""
        asset = context.asset_key
        try:
            if context.has_asset_partitions:
                return self.read_partitions(asset, context.asset_partition_keys)
            return self.read(asset)
        except MissingValueError as missing:
            raise dg.Failure(
                description=f"cannot read the input {asset.to_user_string()}: {missing}",
                metadata={"asset": asset.to_user_string(), "missing": len(missing.partition_keys)},
                allow_retries=False,
            ) from None


def storage_root(instance: dg.DagsterInstance) -> UPath:
    """Where asset values live by default: a folder under the instance's storage directory."""
    return UPath(instance.storage_directory()) / STORAGE_FOLDER


class RecordIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """The :class:`RecordIOManager` under ``base_dir`` (a path or fsspec URL).

    Without ``base_dir``: ``<instance storage directory>/impact_engine``.
    """

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> RecordIOManager:
        base = UPath(self.base_dir) if self.base_dir else storage_root(context.instance)
        return RecordIOManager(base_path=base)


def value_store(
    instance: dg.DagsterInstance, definitions: dg.Definitions | None = None
) -> RecordIOManager:
    """The IO manager the Definitions configure, to read values outside a run.

    The CLI, the Python API and the sensors read through it, so a ``base_dir``
    configured on the Definitions' ``io_manager`` (an ``EnvVar`` too) applies to
    them as to runs.
    """
    if definitions is None:
        from impact_assets.definitions import defs as definitions
    factory = definitions.resources["io_manager"]
    with dg.build_resources({"io_manager": factory}, instance=instance) as built:
        return built.io_manager
