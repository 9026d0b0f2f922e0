"""Dagster definitions, loaded as a folder: assets, checks, jobs, schedules, sensors, resources."""

import warnings

import dagster as dg

# BackfillPolicy.single_run() is how one run covers every initiative; Dagster
# marks the parameter beta, which is a fact to note once, not to print per import.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
