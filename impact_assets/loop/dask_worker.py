"""Preloaded by each Dask worker (``dask worker --preload impact_assets.loop.dask_worker``).

The worker imports the measurement code once, as it starts, instead of in its first
task: the same modules the process pool's fork server preloads. Its linear algebra
keeps to one thread (the worker processes are the parallelism).
"""

import importlib

import impact_assets.loop.single_thread_blas  # noqa: F401  (first: before numpy loads)
from impact_assets.loop.execution import PRELOADED_MODULES

for _module in PRELOADED_MODULES:
    importlib.import_module(_module)
