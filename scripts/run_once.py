"""Run the impact loop once from the command line.

Usage:
    python scripts/run_once.py [--config config.yaml] [--output-json PATH] [--loop-id ID]

Validates the config, loads the definitions built for it (its initiatives are the
partitions), runs the ``impact_loop`` job in this process (recording into
``$DAGSTER_HOME`` or ``.dagster_home/``) and prints the outcome reports. Exit status: 0
success, 2 invalid config, 1 a stage or an initiative failed.
"""

import sys

from impact_assets.cli import main

if __name__ == "__main__":
    sys.exit(main())
