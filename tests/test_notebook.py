"""The tutorial notebook runs, through the command the README gives for it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from helpers import PROJECT_ROOT

from impact_assets.config import CONFIG_ENV_VAR

NOTEBOOK = PROJECT_ROOT / "notebooks" / "impact_engine_loop.ipynb"


def readme_notebook_command() -> list[str]:
    """The headless command the README gives for the notebook (``jupyter execute ...``)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    (command,) = re.findall(r"`(jupyter execute [^`]+)`", readme)
    return shlex.split(command)


def test_the_notebook_runs_through_the_readme_command(tmp_path):
    command = readme_notebook_command()
    assert Path(command[-1]).resolve() == NOTEBOOK.resolve()
    # this environment's jupyter, so the kernel runs the project's Python
    command[0] = str(Path(sys.executable).parent / command[0])
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "unused_home")}
    env.pop(CONFIG_ENV_VAR, None)
    completed = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "Executing notebook with kernel" in completed.stderr
    assert not (tmp_path / "unused_home").exists()  # the notebook keeps to its own instance
