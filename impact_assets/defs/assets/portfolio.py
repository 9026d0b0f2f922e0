"""ALLOCATE: one portfolio decision over every current initiative."""

import dagster as dg

from impact_assets.contracts import AllocateResult, EvaluationRecord
from impact_assets.defs.assets.context import run_loop_id
from impact_assets.defs.assets.keys import ALLOCATION, EVALUATIONS, OWNERS
from impact_assets.defs.resources import ImpactConfigResource
from impact_assets.loop.stages import allocate_portfolio
from impact_assets.loop.tables import allocation_rows, markdown_table


@dg.asset(
    key=ALLOCATION,
    ins={"evaluations": dg.AssetIn(EVALUATIONS)},
    group_name="portfolio",
    kinds={"python"},
    owners=OWNERS,
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
    rows = allocation_rows(result, evaluations)
    context.add_output_metadata(
        {
            "loop_id": result.loop_id,
            "rule": result.rule,
            "status": result.status.value,
            "objective": dg.MetadataValue.float(result.objective)
            if result.objective is not None
            else dg.MetadataValue.null(),
            "budget": result.budget,
            "budget_used": result.total_allocated,
            "selected_count": len(result.selected_initiatives),
            "excluded_count": len(result.excluded),
            "row_count": len(rows),
            "candidates": dg.MetadataValue.md(markdown_table(rows)),
            "scenarios": dg.MetadataValue.json(result.scenarios),
        }
    )
    return result
