"""The command line: `python scripts/run_once.py` runs the loop once and prints the outcome."""

from impact_assets.cli.main import EXIT_FAILED, EXIT_INVALID_CONFIG, EXIT_OK, main

__all__ = ["EXIT_FAILED", "EXIT_INVALID_CONFIG", "EXIT_OK", "main"]
