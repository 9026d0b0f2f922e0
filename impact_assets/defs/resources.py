"""The resources every loop asset uses: the portfolio config and the record IO manager."""

import dagster as dg

from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.executors import selected_executor
from impact_assets.lib.io_manager import RecordIOManagerFactory


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "impact_config": ImpactConfigResource(),
            "io_manager": RecordIOManagerFactory(),
        },
        executor=selected_executor(),
    )
