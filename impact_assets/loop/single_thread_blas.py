"""Imported first by the measurement workers' fork server, never by the main process.

The worker processes are the parallelism, so each keeps its linear algebra to one
thread: two processes on two cores, each running a two-thread BLAS, fight over the
cores (measured: DiD fits slower with two processes than with one). This must run
before numpy is imported. An explicit setting in the environment is kept.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
