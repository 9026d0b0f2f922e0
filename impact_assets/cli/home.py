"""The Dagster instance the CLI records into: ``$DAGSTER_HOME``, else ``.dagster_home/``."""

from __future__ import annotations

import os
from pathlib import Path

from impact_assets.config import PROJECT_ROOT
from impact_assets.lib.instance_settings import ensure_instance_settings

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``.dagster_home/`` at the project root.

    A new home gets the local instance settings (a run queue that runs one loop
    at a time); an existing ``dagster.yaml`` is left as it is.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    ensure_instance_settings(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ui_command(home: Path) -> str:
    """The command that opens the Dagster UI on ``home`` (run from the project root)."""
    return f"DAGSTER_HOME={home} dagster dev -w workspace.yaml"
