"""MEASURE (pilot) and EVALUATE: one record per initiative partition.

EVALUATE reads the loop's ``calibration`` (defs/assets/calibration.py); the
``calibrated`` component uses it, ``evidence`` and ``mock`` ignore it. The partitions
are the initiatives of the config the definitions load (lib/partitions.py), so these
assets are built each time the definitions load.
"""

import dagster as dg

from impact_assets.contracts import Calibration, EvaluationRecord, MeasurementRecord
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    CALIBRATION,
    EVALUATIONS,
    LOOP_GROUP,
    LOOP_POOL,
    OWNERS,
    PILOT_RESULTS,
    STAGE_TAG,
    STAGES,
)
from impact_assets.lib.loop_context import count_statuses, run_loop_id
from impact_assets.lib.measure_resource import MeasurePoolResource
from impact_assets.lib.metadata import (
    COLUMN_SCHEMA,
    EVALUATION_SCHEMA,
    MEASUREMENT_SCHEMA,
    measure_pool_metadata,
    partition_metadata,
    report_failures,
)
from impact_assets.lib.partitions import loaded_config
from impact_assets.lib.turns import wait_for_turn
from impact_assets.loop.stages import evaluate_pilots, measure_pilots


def pilot_results(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    measure_pool: MeasurePoolResource,
) -> dict[str, MeasurementRecord]:
    """Each initiative's causal effect measured in its pilot, with a 95% confidence interval."""
    wait_for_turn(context)
    config = impact_config.load_or_fail()
    loop_id = run_loop_id(context)
    context.log.info(f"[1/5] MEASURE (pilot) of {len(context.partition_keys)} initiatives")
    pool = measure_pool.for_step()
    records = measure_pilots(config, context.partition_keys, loop_id, pool)
    partition_metadata(context, records.values(), config)
    report_failures(context, "pilot measurement", records.values())
    context.add_output_metadata(
        {
            "loop_id": loop_id,
            "row_count": len(records),
            "statuses": count_statuses(records.values()),
            **measure_pool_metadata(pool),
        }
    )
    return records


def evaluations(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    pilot_results: dict[str, MeasurementRecord],
    calibration: Calibration,
) -> dict[str, EvaluationRecord]:
    """How far to trust each pilot, and its worst, median and best return at scale in currency."""
    config = impact_config.load_or_fail()
    context.log.info(
        f"[2/5] EVALUATE {len(context.partition_keys)} pilots ({config.evaluate.component})"
    )
    pilots = {key: pilot_results.get(key) for key in context.partition_keys}
    records = evaluate_pilots(config, pilots, run_loop_id(context), calibration)
    partition_metadata(context, records.values(), config)
    report_failures(context, "evaluation", records.values())
    context.add_output_metadata(
        {"row_count": len(records), "statuses": count_statuses(records.values())}
    )
    return records


@dg.definitions
def pilot_assets() -> dg.Definitions:
    partitions = loaded_config().partitions
    common = {
        "partitions_def": partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "group_name": LOOP_GROUP,
        "kinds": {"python"},
        "owners": OWNERS,
        "pool": LOOP_POOL,
    }
    return dg.Definitions(
        assets=[
            dg.asset(
                key=PILOT_RESULTS,
                tags={STAGE_TAG: STAGES["pilot_results"]},
                metadata={COLUMN_SCHEMA: MEASUREMENT_SCHEMA},
                **common,
            )(pilot_results),
            dg.asset(
                key=EVALUATIONS,
                ins={
                    "pilot_results": dg.AssetIn(PILOT_RESULTS),
                    "calibration": dg.AssetIn(CALIBRATION),
                },
                tags={STAGE_TAG: STAGES["evaluations"]},
                metadata={COLUMN_SCHEMA: EVALUATION_SCHEMA},
                **common,
            )(evaluations),
        ]
    )
