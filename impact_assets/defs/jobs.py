"""The loop as one asset job: a single run materialises every asset for every initiative."""

import dagster as dg

from impact_assets.lib.executors import execution_config
from impact_assets.lib.keys import LOOP_ASSETS, LOOP_JOB, LOOP_POOL, LOOP_RUN_TAG

impact_loop = dg.define_asset_job(
    name=LOOP_JOB,
    selection=dg.AssetSelection.assets(*LOOP_ASSETS),
    # The launchpad's default: in-process; the launchpad or the CLI may pick multiprocess.
    # A run's config file is pinned by its first step when its run config names no digest
    # (lib/config_resource.py).
    config=execution_config("in_process"),
    # the run queue's tag concurrency limit: one run of this job at a time
    tags={LOOP_RUN_TAG: LOOP_POOL},
    description=(
        "Pilot MEASURE -> EVALUATE -> ALLOCATE -> scale MEASURE -> outcome reports, over "
        "every initiative in the config, in one run."
    ),
)
