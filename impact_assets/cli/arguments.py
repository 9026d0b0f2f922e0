"""The command line of ``scripts/run_once.py``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.lib.executors import EXECUTOR_ENV_VAR, EXECUTORS, executor_from_env


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_once.py",
        description="Run the impact loop once (pilot, evaluate, allocate, scale, report).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"portfolio config (default: ${CONFIG_ENV_VAR} or config.yaml at the project root)",
    )
    parser.add_argument("--output-json", type=Path, help="also write every record to this file")
    parser.add_argument(
        "--loop-id", help="id for this loop (default: its start time and a random suffix)"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help=f"how the run executes its steps (default: ${EXECUTOR_ENV_VAR} or in_process)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the report")
    args = parser.parse_args(argv)
    if args.executor is None:
        try:
            args.executor = executor_from_env()
        except ValueError as error:
            parser.error(str(error))
    return args
