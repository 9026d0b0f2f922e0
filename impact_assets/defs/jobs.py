"""The loop as one asset job: a single run materialises every asset for every initiative."""

import dagster as dg

from impact_assets.lib.keys import LOOP_ASSETS

impact_loop = dg.define_asset_job(
    name="impact_loop",
    selection=dg.AssetSelection.assets(*LOOP_ASSETS),
    description=(
        "Pilot MEASURE -> EVALUATE -> ALLOCATE -> scale MEASURE -> outcome reports, over every "
        "initiative in the config, in one run."
    ),
)
