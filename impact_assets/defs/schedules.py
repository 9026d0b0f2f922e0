"""The loop on a timetable: the config's ``schedule`` cron, one whole ``impact_loop`` per tick."""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from impact_assets.config import ConfigError, default_config_path
from impact_assets.config.loader import read_yaml
from impact_assets.config.models import DEFAULT_SCHEDULE
from impact_assets.defs.jobs import impact_loop
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.executors import execution_config, executor_from_env
from impact_assets.lib.keys import LOOP_ID_TAG, LOOP_SCHEDULE, PARTITION_SYNC_SENSOR
from impact_assets.lib.partitions import INITIATIVES, partition_range_tags, plan_partition_sync
from impact_assets.loop.ids import new_loop_id

SCHEDULE_TIMEZONE = "UTC"


def configured_cron(config_path: Path | None = None) -> str:
    """The config's ``schedule``, or the default when the config cannot be read or has none.

    Read when the Definitions load (Dagster needs the cron then); only the YAML is
    parsed, so a config that fails validation still loads the code location and
    its ticks are skipped with the validation message instead.
    """
    try:
        raw = read_yaml(config_path or default_config_path())
    except ConfigError:
        return DEFAULT_SCHEDULE
    cron = raw.get("schedule") if isinstance(raw, dict) else None
    return cron if isinstance(cron, str) and cron.strip() else DEFAULT_SCHEDULE


def loop_tick(
    context: dg.ScheduleEvaluationContext, impact_config: ImpactConfigResource
) -> dg.RunRequest | dg.SkipReason:
    """One ``impact_loop`` run over the config's current initiatives, or why not.

    The tick changes nothing: it reads the config and the ``initiatives``
    partitions, which ``initiative_partitions_sensor`` (running by default) and
    the CLI keep equal to the config. While they differ, the tick is skipped
    with the difference, so a run never covers a stale set of initiatives.
    """
    try:
        config = impact_config.load()
        executor = executor_from_env()
    except (ConfigError, ValueError) as error:
        return dg.SkipReason(f"the loop did not run: {error}")
    plan = plan_partition_sync(
        context.instance.get_dynamic_partitions(INITIATIVES), config.initiative_ids
    )
    if plan.changed:
        return dg.SkipReason(
            f"the loop did not run: {plan.describe_pending()}. {PARTITION_SYNC_SENSOR} "
            "(running by default) applies the difference within a minute; so does "
            "scripts/run_once.py"
        )
    started = context.scheduled_execution_time or datetime.now(timezone.utc)
    return dg.RunRequest(
        run_key=f"impact_loop@{started.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}",
        run_config=execution_config(executor),
        tags={**partition_range_tags(context.instance), LOOP_ID_TAG: new_loop_id(started)},
    )


def build_loop_schedule(cron: str) -> dg.ScheduleDefinition:
    """The loop's schedule on ``cron`` (UTC); off until a user turns it on."""

    @dg.schedule(
        name=LOOP_SCHEDULE,
        cron_schedule=cron,
        job=impact_loop,
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
        return loop_tick(context, impact_config)

    return impact_loop_schedule


def loop_schedule(config_path: Path | None = None) -> dg.ScheduleDefinition:
    """The schedule on the config's cron; the default cron if Dagster refuses the configured one."""
    try:
        return build_loop_schedule(configured_cron(config_path))
    except dg.DagsterInvalidDefinitionError:
        return build_loop_schedule(DEFAULT_SCHEDULE)


impact_loop_schedule = loop_schedule()
