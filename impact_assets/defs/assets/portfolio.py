"""ALLOCATE: one portfolio decision over every current initiative."""

import dagster as dg

from impact_assets.contracts import AllocateResult, EvaluationRecord
from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.keys import (
    ALLOCATION,
    EVALUATIONS,
    LOOP_GROUP,
    LOOP_POOL,
    OWNERS,
    STAGE_TAG,
    STAGES,
)
from impact_assets.lib.loop_context import run_loop_id
from impact_assets.lib.metadata import (
    ALLOCATION_SCHEMA,
    COLUMN_SCHEMA,
    allocation_metadata,
)
from impact_assets.loop.stages import allocate_portfolio


@dg.asset(
    key=ALLOCATION,
    ins={"evaluations": dg.AssetIn(EVALUATIONS)},
    group_name=LOOP_GROUP,
    tags={STAGE_TAG: STAGES["allocation"]},
    kinds={"python"},
    owners=OWNERS,
    pool=LOOP_POOL,
    metadata={COLUMN_SCHEMA: ALLOCATION_SCHEMA},
)
def allocation(
    context: dg.AssetExecutionContext,
    impact_config: ImpactConfigResource,
    evaluations: dict[str, EvaluationRecord],
) -> AllocateResult:
    """The portfolio chosen for scaling under the budget, by the configured allocation rule."""
    config = impact_config.load_or_fail()
    context.log.info(f"[3/5] ALLOCATE over {len(config.initiatives)} initiatives")
    result = allocate_portfolio(config, evaluations, run_loop_id(context))
    context.log.info(f"Selected {len(result.selected_initiatives)} initiatives")
    context.add_output_metadata(allocation_metadata(result, evaluations))
    return result
