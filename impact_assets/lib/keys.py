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
# One asset group: the UI's lineage opens on the whole loop. Each asset's stage is a tag.
LOOP_GROUP = "impact_loop"
STAGE_TAG = "stage"
STAGES = {
    "pilot_results": "1-measure-pilot",
    "calibration_history": "2-evaluate-calibration",
    "calibration": "2-evaluate-calibration",
    "evaluations": "2-evaluate",
    "allocation": "3-allocate",
    "scale_results": "4-measure-scale",
    "outcome_reports": "5-report",
}
LOOP_SCHEDULE = "impact_loop_schedule"
PARTITION_SYNC_SENSOR = "initiative_partitions_sensor"
SCALE_DATA_SENSOR = "scale_data_sensor"
LOOP_ID_TAG = "impact/loop_id"
OWNERS = ["team:impact-engine"]

# Every loop asset is in this concurrency pool. The instance's dagster.yaml sets pool
# granularity to `run` and its limit to 1, so Dagster's run queue starts a run touching
# the loop only when no other such run is in progress (impact_assets/lib/instance_settings.py).
LOOP_POOL = "impact_loop"
# Every run of the loop job carries this tag; the run queue starts one such run at a time
LOOP_RUN_TAG = "impact/loop_run"
