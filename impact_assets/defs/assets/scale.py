"""MEASURE (scale): the selected initiatives measured again on a new, larger sample."""

import dagster as dg

from impact_assets.contracts import AllocateResult, MeasurementRecord
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    ALLOCATION,
    LOOP_GROUP,
    LOOP_POOL,
    OWNERS,
    SCALE_RESULTS,
    STAGE_TAG,
    STAGES,
)
from impact_assets.lib.loop_context import count_statuses, run_loop_id
from impact_assets.lib.measure_resource import MeasurePoolResource
from impact_assets.lib.metadata import (
    COLUMN_SCHEMA,
    MEASUREMENT_SCHEMA,
    measure_pool_metadata,
    partition_metadata,
    report_failures,
)
from impact_assets.lib.partitions import loaded_config
from impact_assets.lib.turns import wait_for_turn
from impact_assets.loop.stages import measure_at_scale


def scale_results(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    measure_pool: MeasurePoolResource,
    allocation: AllocateResult,
) -> dict[str, MeasurementRecord]:
    """Each initiative at scale: measured again if selected, otherwise the reason it was not."""
    wait_for_turn(context)  # the first step of a run the scale-data sensor launches
    config = impact_config.load_or_fail()
    context.log.info(
        f"[4/5] MEASURE (scale) of {len(allocation.selected_initiatives)} selected initiatives"
    )
    pool = measure_pool.for_step()
    records = measure_at_scale(
        config, allocation, context.partition_keys, run_loop_id(context), pool
    )
    partition_metadata(context, records.values(), config)
    report_failures(context, "scale measurement", records.values())
    context.add_output_metadata(
        {
            "row_count": len(records),
            "statuses": count_statuses(records.values()),
            **measure_pool_metadata(pool),
        }
    )
    return records


@dg.definitions
def scale_assets() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            dg.asset(
                key=SCALE_RESULTS,
                partitions_def=loaded_config().partitions,
                backfill_policy=dg.BackfillPolicy.single_run(),
                ins={"allocation": dg.AssetIn(ALLOCATION)},
                group_name=LOOP_GROUP,
                tags={STAGE_TAG: STAGES["scale_results"]},
                kinds={"python"},
                owners=OWNERS,
                pool=LOOP_POOL,
                metadata={COLUMN_SCHEMA: MEASUREMENT_SCHEMA},
            )(scale_results)
        ]
    )
