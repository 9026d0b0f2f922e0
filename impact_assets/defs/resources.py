"""The resources every loop asset uses, and the executor choice every run makes."""

import dagster as dg

from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.io_manager import RecordIOManagerFactory


@dg.definitions
def resources() -> dg.Definitions:
    # in-process or multiprocess per run, in run config: the impact_loop job defaults to
    # in-process (impact_assets/lib/executors.py)
    return dg.Definitions(
        resources={
            "impact_config": ImpactConfigResource(),
            "io_manager": RecordIOManagerFactory(),
        },
        executor=dg.multi_or_in_process_executor,
    )
