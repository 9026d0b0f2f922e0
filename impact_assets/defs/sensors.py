"""Sensors: keep the initiative partitions equal to the config; scale when scale data arrives."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from impact_assets.components.measure.data import resolve_data_path
from impact_assets.config import ConfigError, PortfolioConfig
from impact_assets.contracts import AllocateResult, MeasurementRecord, RecordStatus
from impact_assets.lib.config_resource import ImpactConfigResource, pin_config
from impact_assets.lib.io_manager import RecordIOManager, value_store
from impact_assets.lib.keys import (
    LOOP_ID_TAG,
    LOOP_JOB,
    OUTCOME_REPORTS,
    PARTITION_SYNC_SENSOR,
    SCALE_DATA_SENSOR,
    SCALE_RESULTS,
)
from impact_assets.lib.launch import loop_run_config
from impact_assets.lib.partitions import LoadedConfig, loaded_config, partition_drift

TRIGGER_TAG = "impact/trigger"
SCALE_DATA_TRIGGER = "scale_data"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def config_drift_tick(
    impact_config: ImpactConfigResource, loaded: LoadedConfig
) -> dg.SkipReason:
    """Whether the config file's initiatives still match the loaded partitions, and what to do."""
    try:
        config = impact_config.current().config
    except ConfigError as error:
        return dg.SkipReason(f"the config cannot be used: {error}")
    return dg.SkipReason(partition_drift(loaded.initiative_ids, config.initiative_ids).describe())


def build_partitions_sensor(loaded: LoadedConfig) -> dg.SensorDefinition:
    @dg.sensor(
        name=PARTITION_SYNC_SENSOR,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Says when the config's initiative ids differ from the `initiatives` partitions "
            "the definitions loaded (new ids, removed ids), and that a reload applies them."
        ),
    )
    def initiative_partitions_sensor(
        context: dg.SensorEvaluationContext, impact_config: ImpactConfigResource
    ) -> dg.SkipReason:
        """Compare the config file's initiatives with the loaded partitions, saying how."""
        return config_drift_tick(impact_config, loaded)

    return initiative_partitions_sensor


@dataclass(frozen=True)
class ScaleDataArrival:
    """An initiative awaiting scale data whose ``scale_data`` file now exists, at one version."""

    initiative_id: str
    loop_id: str
    path: Path
    version: str


def file_version(path: Path) -> str | None:
    """``<mtime_ns>-<size>`` of the file, or None while it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{stat.st_mtime_ns}-{stat.st_size}" if path.is_file() else None


def _stored(store: RecordIOManager, asset: str, partition_key: str | None = None):
    try:
        return store.read_or_none(asset, partition_key)
    except (OSError, ValueError):  # unreadable: treat as absent, the next tick looks again
        return None


def scale_data_arrivals(
    instance: dg.DagsterInstance, config: PortfolioConfig
) -> list[ScaleDataArrival]:
    """Selected initiatives of the current loop, ``awaiting_data``, whose scale file exists.

    Only initiatives with a ``scale_data`` file in the config qualify; ``scaled``
    (and every other status) never does.
    """
    store = value_store(instance)
    allocation = _stored(store, "allocation")
    if not isinstance(allocation, AllocateResult):
        return []
    selected = set(allocation.selected_initiatives)
    arrivals = []
    for initiative in config.initiatives:
        if initiative.scale_data is None or initiative.initiative_id not in selected:
            continue
        record = _stored(store, "scale_results", initiative.initiative_id)
        if (
            not isinstance(record, MeasurementRecord)
            or record.status is not RecordStatus.AWAITING_DATA
            or record.loop_id != allocation.loop_id
        ):
            continue
        path = resolve_data_path(config.base_dir, initiative.scale_data.path)
        version = file_version(path)
        if version is not None:
            arrivals.append(
                ScaleDataArrival(initiative.initiative_id, record.loop_id, path, version)
            )
    return arrivals


def first_contiguous_range(partition_keys: Sequence[str], wanted: set[str]) -> list[str]:
    """The first run of consecutive ``partition_keys`` that are all in ``wanted``.

    One run covers a partition range, so initiatives that are not neighbours in
    the partition order go in later ticks rather than re-measuring those between.
    """
    block: list[str] = []
    for key in partition_keys:
        if key in wanted:
            block.append(key)
        elif block:
            break
    return block


def scale_data_tick(
    context: dg.SensorEvaluationContext,
    impact_config: ImpactConfigResource,
    loaded: LoadedConfig,
) -> dg.SensorResult | dg.SkipReason:
    """Request ``scale_results`` and ``outcome_reports`` for initiatives whose scale data arrived.

    The cursor maps each initiative to the loop and file version last requested,
    so each new version of a file triggers one run; the run key says the same to
    Dagster, which never launches a run key twice.
    """
    try:
        current = impact_config.current()
    except ConfigError as error:
        return dg.SkipReason(f"not checking scale data: {error}")
    config = current.config
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    fresh = {
        arrival.initiative_id: arrival
        for arrival in scale_data_arrivals(context.instance, config)
        if seen.get(arrival.initiative_id) != f"{arrival.loop_id}/{arrival.version}"
    }
    if not fresh:
        return dg.SkipReason("no new scale data for initiatives awaiting it")
    in_flight = context.instance.get_run_ids(
        dg.RunsFilter(tags={TRIGGER_TAG: SCALE_DATA_TRIGGER}, statuses=_UNFINISHED), limit=1
    )
    if in_flight:
        return dg.SkipReason(
            f"scale data arrived for {', '.join(fresh)}; waiting for run {in_flight[0]} to finish"
        )
    block = first_contiguous_range(loaded.initiative_ids, set(fresh))
    if not block:
        return dg.SkipReason(
            f"scale data arrived for {', '.join(fresh)}, which are not initiative partitions yet"
        )
    arrivals = [fresh[initiative_id] for initiative_id in block]
    context.log.info(
        "scale data arrived: " + ", ".join(f"{a.initiative_id} ({a.path.name})" for a in arrivals)
    )
    loop_id = arrivals[0].loop_id
    pin_config(context.instance, current)
    run_request = dg.RunRequest(
        run_key=f"scale_data:{loop_id}:"
        + ";".join(f"{a.initiative_id}@{a.version}" for a in arrivals),
        asset_selection=[SCALE_RESULTS, OUTCOME_REPORTS],
        run_config=loop_run_config(current.path, current.digest, quiet=False),
        tags={
            "dagster/asset_partition_range_start": block[0],
            "dagster/asset_partition_range_end": block[-1],
            LOOP_ID_TAG: loop_id,
            TRIGGER_TAG: SCALE_DATA_TRIGGER,
        },
    )
    seen.update({a.initiative_id: f"{a.loop_id}/{a.version}" for a in arrivals})
    return dg.SensorResult(run_requests=[run_request], cursor=json.dumps(seen, sort_keys=True))


def build_scale_data_sensor(loaded: LoadedConfig) -> dg.SensorDefinition:
    @dg.sensor(
        name=SCALE_DATA_SENSOR,
        job_name=LOOP_JOB,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "When a `scale_data` file appears or changes for an initiative awaiting scale "
            "data, runs its scale measurement and the outcome reports (once per file version)."
        ),
    )
    def scale_data_sensor(
        context: dg.SensorEvaluationContext, impact_config: ImpactConfigResource
    ) -> dg.SensorResult | dg.SkipReason:
        """Scale the initiatives whose scale data arrived (see :func:`scale_data_tick`)."""
        return scale_data_tick(context, impact_config, loaded)

    return scale_data_sensor


@dg.definitions
def sensors() -> dg.Definitions:
    loaded = loaded_config()
    return dg.Definitions(
        sensors=[build_partitions_sensor(loaded), build_scale_data_sensor(loaded)]
    )
