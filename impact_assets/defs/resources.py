"""The resources every loop asset uses, per profile, and the executor choice every run makes.

A profile is one dictionary of resources, chosen once by ``$IMPACT_ENGINE_PROFILE``
when the Definitions load:

- ``local`` (default): asset values under the instance's storage folder, MEASURE
  on threads unless the config names a pool;
- ``distributed``: asset values under ``$IMPACT_ENGINE_VALUES_URL`` (a folder every
  worker reaches, or an fsspec URL such as ``s3://bucket/prefix``), MEASURE on the
  Dask cluster at ``$DASK_SCHEDULER_ADDRESS``. The instance (Postgres storage, run
  queue) is ``$DAGSTER_HOME``'s ``dagster.yaml``; see docs/deployment.md.
"""

import os

import dagster as dg

from impact_assets.lib.config_resource import ImpactConfigResource
from impact_assets.lib.io_manager import RecordIOManagerFactory
from impact_assets.lib.measure_resource import MeasurePoolResource
from impact_assets.loop.measure_pool import SCHEDULER_ENV_VAR

PROFILE_ENV_VAR = "IMPACT_ENGINE_PROFILE"
VALUES_URL_ENV_VAR = "IMPACT_ENGINE_VALUES_URL"
DEFAULT_PROFILE = "local"

PROFILES = {
    "local": {
        "io_manager": RecordIOManagerFactory(),
        "measure_pool": MeasurePoolResource(pool="threads"),
    },
    "distributed": {
        "io_manager": RecordIOManagerFactory(base_dir=dg.EnvVar(VALUES_URL_ENV_VAR)),
        "measure_pool": MeasurePoolResource(
            pool="dask", scheduler_address=dg.EnvVar(SCHEDULER_ENV_VAR)
        ),
    },
}


def profile_name() -> str:
    """The profile ``$IMPACT_ENGINE_PROFILE`` names (``local`` when unset)."""
    name = os.environ.get(PROFILE_ENV_VAR, "").strip() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV_VAR}={name!r} is not a profile; choose one of {', '.join(PROFILES)}"
        )
    return name


@dg.definitions
def resources() -> dg.Definitions:
    # in-process or multiprocess per run, in run config: the impact_loop job defaults to
    # in-process (impact_assets/lib/executors.py)
    return dg.Definitions(
        resources={"impact_config": ImpactConfigResource(), **PROFILES[profile_name()]},
        executor=dg.multi_or_in_process_executor,
    )
