"""The loop on a timetable: the config's ``schedule`` cron, one whole ``impact_loop`` per tick."""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from impact_assets.config import ConfigError
from impact_assets.config.loader import read_yaml
from impact_assets.config.models import DEFAULT_SCHEDULE
from impact_assets.lib.config_resource import ImpactConfigResource, pin_config
from impact_assets.lib.executors import executor_from_env
from impact_assets.lib.keys import LOOP_ID_TAG, LOOP_JOB, LOOP_SCHEDULE
from impact_assets.lib.launch import loop_run_config
from impact_assets.lib.partitions import (
    LoadedConfig,
    loaded_config,
    partition_drift,
    partition_range_tags,
)
from impact_assets.loop.ids import new_loop_id

SCHEDULE_TIMEZONE = "UTC"


def configured_cron(config_path: Path) -> str:
    """The config's ``schedule``, or the default when the config cannot be read or has none.

    Read when the Definitions load (Dagster needs the cron then); only the YAML is
    parsed, so a config that fails validation still loads the code location and
    its ticks are skipped with the validation message instead.
    """
    try:
        raw = read_yaml(config_path)
    except ConfigError:
        return DEFAULT_SCHEDULE
    cron = raw.get("schedule") if isinstance(raw, dict) else None
    return cron if isinstance(cron, str) and cron.strip() else DEFAULT_SCHEDULE


def loop_tick(
    context: dg.ScheduleEvaluationContext,
    impact_config: ImpactConfigResource,
    loaded: LoadedConfig,
) -> dg.RunRequest | dg.SkipReason:
    """One ``impact_loop`` run over the config's current initiatives, or why not.

    The run is pinned to the config as the tick reads it. While the file's initiatives
    differ from the partitions the definitions loaded, the tick is skipped with the
    difference (a reload of the definitions applies it), so a run never covers a stale
    set of initiatives.
    """
    try:
        current = impact_config.current()
        executor = executor_from_env()
    except (ConfigError, ValueError) as error:
        return dg.SkipReason(f"the loop did not run: {error}")
    ids = current.config.initiative_ids
    drift = partition_drift(loaded.initiative_ids, ids)
    if drift.changed:
        return dg.SkipReason(f"the loop did not run: {drift.describe()}")
    pin_config(context.instance, current)
    started = context.scheduled_execution_time or datetime.now(timezone.utc)
    return dg.RunRequest(
        run_key=f"impact_loop@{started.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}",
        run_config=loop_run_config(current.path, current.digest, executor, quiet=False),
        tags={**partition_range_tags(ids), LOOP_ID_TAG: new_loop_id(started)},
    )


def build_loop_schedule(cron: str, loaded: LoadedConfig) -> dg.ScheduleDefinition:
    """The loop's schedule on ``cron`` (UTC); off until a user turns it on."""

    @dg.schedule(
        name=LOOP_SCHEDULE,
        cron_schedule=cron,
        job_name=LOOP_JOB,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Runs the whole impact loop over the config's initiatives on `{cron}` "
            f"({SCHEDULE_TIMEZONE}); an invalid config skips the tick with its problems."
        ),
    )
    def impact_loop_schedule(
        context: dg.ScheduleEvaluationContext, impact_config: ImpactConfigResource
    ) -> dg.RunRequest | dg.SkipReason:
        return loop_tick(context, impact_config, loaded)

    return impact_loop_schedule


def loop_schedule(loaded: LoadedConfig) -> dg.ScheduleDefinition:
    """The schedule on the config's cron; the default cron if Dagster refuses the configured one."""
    try:
        return build_loop_schedule(configured_cron(loaded.path), loaded)
    except dg.DagsterInvalidDefinitionError:
        return build_loop_schedule(DEFAULT_SCHEDULE, loaded)


@dg.definitions
def schedules() -> dg.Definitions:
    return dg.Definitions(schedules=[loop_schedule(loaded_config())])
