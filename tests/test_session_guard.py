"""The suite's guard: a process a test leaves running fails the session and is killed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LEAKY_TEST = """
import subprocess, sys

def test_leaves_a_process_behind(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                               start_new_session=True)
    (tmp_path.parent.parent / "leaked.pid").write_text(str(process.pid))
"""


def test_a_process_left_running_fails_the_session_and_is_stopped(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(Path(__file__).with_name("conftest.py"), suite / "conftest.py")
    (suite / "test_leaky.py").write_text(LEAKY_TEST)
    env = {k: v for k, v in os.environ.items() if k != "IMPACT_TEST_SESSION"}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
         str(tmp_path / "base"), str(suite)],
        capture_output=True, text=True, env=env, cwd=suite, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout
    assert "process(es) started by the tests were still running" in completed.stdout
    pid = int((tmp_path / "leaked.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]:
            break
        time.sleep(0.1)
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
