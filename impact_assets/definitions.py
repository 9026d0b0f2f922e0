"""The Dagster Definitions of the impact loop: everything `dagster dev` and the CLI load."""

import dagster as dg

from impact_assets.defs.assets.pilot import evaluations, pilot_results
from impact_assets.defs.assets.portfolio import allocation
from impact_assets.defs.assets.report import outcome_reports
from impact_assets.defs.assets.scale import scale_results
from impact_assets.defs.checks import LOOP_CHECKS
from impact_assets.defs.executors import selected_executor
from impact_assets.defs.io_manager import RecordIOManagerFactory
from impact_assets.defs.jobs import impact_loop
from impact_assets.defs.resources import ImpactConfigResource
from impact_assets.defs.schedules import loop_schedule
from impact_assets.defs.sensors import initiative_partitions_sensor, scale_data_sensor

defs = dg.Definitions(
    assets=[pilot_results, evaluations, allocation, scale_results, outcome_reports],
    asset_checks=LOOP_CHECKS,
    jobs=[impact_loop],
    schedules=[loop_schedule()],
    sensors=[initiative_partitions_sensor, scale_data_sensor],
    resources={
        "impact_config": ImpactConfigResource(),
        "io_manager": RecordIOManagerFactory(),
    },
    executor=selected_executor(),
)
