"""Asset keys of the loop, in the order the loop runs them."""

import dagster as dg

PILOT_RESULTS = dg.AssetKey("pilot_results")
EVALUATIONS = dg.AssetKey("evaluations")
ALLOCATION = dg.AssetKey("allocation")
SCALE_RESULTS = dg.AssetKey("scale_results")
OUTCOME_REPORTS = dg.AssetKey("outcome_reports")

LOOP_ASSETS = (PILOT_RESULTS, EVALUATIONS, ALLOCATION, SCALE_RESULTS, OUTCOME_REPORTS)

LOOP_ID_TAG = "impact/loop_id"
OWNERS = ["team:impact-engine"]
