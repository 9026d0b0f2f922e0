"""A real cluster for the distributed tests: ``scripts/cluster.py up`` in a temporary folder.

PostgreSQL, a Dask scheduler, Dask workers and the Dagster daemon on 127.0.0.1; the
folder is under /tmp and searchable by others, because PostgreSQL runs as its own
user. ``down`` stops every server in the fixture's teardown, also when a test fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from helpers import PROJECT_ROOT, skip_or_fail

from impact_assets.cluster import postgres
from impact_assets.cluster.processes import ClusterError, Server

CLUSTER_SCRIPT = PROJECT_ROOT / "scripts" / "cluster.py"
UP_TIMEOUT_SECONDS = 300
METHODS = (
    "experiment",
    "difference_in_differences",
    "interrupted_time_series",
    "observational",
    "synthetic_control",
)


def require_prerequisites() -> None:
    """Skip (or, under IMPACT_REQUIRE_LIVE=1, fail) when the servers cannot run here."""
    for module, package in (("distributed", "distributed"), ("psycopg2", "psycopg2-binary"),
                            ("dagster_postgres", "dagster-postgres")):  # fmt: skip
        if importlib.util.find_spec(module) is None:
            skip_or_fail(f"{package} is not installed (pip install -e '.[distributed]')")
    try:
        postgres.binaries()
    except ClusterError as error:
        skip_or_fail(str(error))


def cluster_script(folder: Path, *args: str, env: Mapping[str, str] | None = None, timeout=120):
    return subprocess.run(
        [sys.executable, str(CLUSTER_SCRIPT), "--dir", str(folder), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def portfolio(per_method: int = 8) -> dict[str, Any]:
    """The default config's five, one file-sourced experiment, and simulated pilots of
    every method: enough measurements that both workers get some."""
    config = json.loads(json.dumps(_default_config()))
    config["initiatives"].append(
        {
            "initiative_id": "file-experiment",
            "cost_to_scale": 12000,
            "value_per_unit": 50,
            "method": "experiment",
            "data": {"source": "file", "path": "data/experiment_pilot.csv",
                     "outcome": "basket_value", "treatment": "new_checkout"},
            "scale_data": {"source": "file", "path": "data/experiment_scale.csv",
                           "outcome": "basket_value", "treatment": "new_checkout"},
        }
    )  # fmt: skip
    for method in METHODS:
        for index in range(per_method):
            config["initiatives"].append(
                {
                    "initiative_id": f"{method.replace('_', '-')}-{index}",
                    "cost_to_scale": 8000 + 1000 * index,
                    "value_per_unit": 80000,
                    "method": method,
                    "data": {"source": "simulated", "pilot_sample_size": 150 + 40 * index},
                }
            )
    config["budget"] = 150000
    return config


def _default_config() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((PROJECT_ROOT / "config.yaml").read_text())


class Cluster:
    """A running cluster: its folder, its ``.cluster/env`` variables, its servers."""

    def __init__(self, folder: Path, config_path: Path):
        self.folder = folder
        self.config_path = config_path
        self.variables: dict[str, str] = {}

    def read_env(self) -> None:
        self.variables = {}
        for line in (self.folder / "env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                self.variables[name] = shlex.split(value)[0]

    @property
    def home(self) -> Path:
        return Path(self.variables["DAGSTER_HOME"])

    @property
    def scheduler(self) -> str:
        return self.variables["DASK_SCHEDULER_ADDRESS"]

    @property
    def pg_port(self) -> int:
        return int(self.server("postgres").address.rpartition(":")[2])

    def servers(self) -> list[Server]:
        state = json.loads((self.folder / "state.json").read_text())
        return [Server.from_dict(server) for server in state["servers"]]

    def server(self, name: str) -> Server:
        return next(server for server in self.servers() if server.name == name)

    def up(self, *args: str) -> subprocess.CompletedProcess:
        # the servers also import the tests' modules: a test sends its own MEASURE component
        tests = str(Path(__file__).resolve().parent)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))}
        done = cluster_script(self.folder, "up", *args, env=env, timeout=UP_TIMEOUT_SECONDS)
        assert done.returncode == 0, done.stdout + done.stderr
        self.read_env()
        return done

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        """This process with the cluster's variables (the instance's password among them)."""
        saved = dict(os.environ)
        os.environ.update(self.variables)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


@contextlib.contextmanager
def running_cluster(workers: int = 2) -> Iterator[Cluster]:
    require_prerequisites()
    folder = Path(tempfile.mkdtemp(prefix="impact_test_cluster_", dir="/tmp"))
    folder.chmod(0o755)
    shutil.copytree(PROJECT_ROOT / "data", folder / "data")
    import yaml

    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(portfolio(), sort_keys=False))
    cluster = Cluster(folder / "cluster", config_path)
    try:
        cluster.up("--workers", str(workers), "--config", str(config_path))
        yield cluster
    finally:
        started = _recorded(cluster.folder)
        down = cluster_script(cluster.folder, "down", timeout=180)
        still = [server for server in started if server.running]
        shutil.rmtree(folder, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not still, f"cluster.py down left running: {still}"


def _recorded(folder: Path) -> list[Server]:
    try:
        state = json.loads((folder / "state.json").read_text())
    except OSError:
        return []
    return [Server.from_dict(server) for server in state.get("servers", [])]
