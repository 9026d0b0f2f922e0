"""Run the distributed profile on this machine: PostgreSQL, a Dask cluster, the Dagster daemon.

    python scripts/cluster.py up [--workers N] [--pg-port P] [--scheduler-port P]
    . .cluster/env && python scripts/run_once.py --config config.yaml
    python scripts/cluster.py status
    python scripts/cluster.py down

See impact_assets/cluster/main.py and docs/deployment.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from impact_assets.cluster.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
