"""The loop as one asset job: a single run materialises every asset for every initiative."""

import dagster as dg

from impact_assets.lib.executors import execution_config
from impact_assets.lib.keys import LOOP_ASSETS, LOOP_JOB, LOOP_POOL, LOOP_RUN_TAG

impact_loop = dg.define_asset_job(
    name=LOOP_JOB,
    selection=dg.AssetSelection.assets(*LOOP_ASSETS),
    # The default run config: in-process; the launchpad or the CLI may pick multiprocess.
    config=execution_config("in_process"),
    # the run queue's tag concurrency limit: one run of this job at a time
    tags={LOOP_RUN_TAG: LOOP_POOL},
    description=(
        "Pilot MEASURE -> EVALUATE -> ALLOCATE -> scale MEASURE -> outcome reports, over every "
        "initiative in the config, in one run."
    ),
)
