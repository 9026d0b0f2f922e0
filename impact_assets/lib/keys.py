"""Asset keys of the loop, in the order the loop runs them, and the names runs share."""

import dagster as dg

PILOT_RESULTS = dg.AssetKey("pilot_results")
CALIBRATION_HISTORY = dg.AssetKey("calibration_history")
CALIBRATION = dg.AssetKey("calibration")
EVALUATIONS = dg.AssetKey("evaluations")
ALLOCATION = dg.AssetKey("allocation")
SCALE_RESULTS = dg.AssetKey("scale_results")
OUTCOME_REPORTS = dg.AssetKey("outcome_reports")

LOOP_ASSETS = (
    PILOT_RESULTS,
    CALIBRATION_HISTORY,
    CALIBRATION,
    EVALUATIONS,
    ALLOCATION,
    SCALE_RESULTS,
    OUTCOME_REPORTS,
)

LOOP_JOB = "impact_loop"
LOOP_SCHEDULE = "impact_loop_schedule"
PARTITION_SYNC_SENSOR = "initiative_partitions_sensor"
SCALE_DATA_SENSOR = "scale_data_sensor"
LOOP_ID_TAG = "impact/loop_id"
OWNERS = ["team:impact-engine"]

# Every loop asset is in this concurrency pool. The instance's dagster.yaml sets pool
# granularity to `run` and its limit to 1, so Dagster's run queue starts a run touching
# the loop only when no other such run is in progress (impact_assets/lib/instance_settings.py).
LOOP_POOL = "impact_loop"
