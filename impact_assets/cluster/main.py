"""``python scripts/cluster.py up [--workers N] | down | status``: the distributed profile here.

``up`` starts, on 127.0.0.1 and free ports: PostgreSQL (its data under
``.cluster/postgres``), a Dask scheduler and N Dask workers (one thread each, the
project preloaded), and the Dagster daemon on a ``DAGSTER_HOME`` whose
``dagster.yaml`` keeps runs and events in that PostgreSQL and runs one loop at a
time. It writes ``.cluster/env``, export lines for every client::

    . .cluster/env && python scripts/run_once.py --config config.yaml

Every wait has a deadline: a server that cannot start (port taken, package
missing, crash) stops everything ``up`` started and says why, with its log.
``down`` stops exactly what ``up`` started (recorded in ``.cluster/state.json``),
and ``status`` says what runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import secrets
import shlex
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from impact_assets.cluster import postgres
from impact_assets.cluster.processes import (
    ClusterError,
    Server,
    check_port_free,
    free_port,
    log_tail,
    start,
    stop,
    wait_until,
)
from impact_assets.config import CONFIG_ENV_VAR, PROJECT_ROOT, default_config_path
from impact_assets.defs.resources import PROFILE_ENV_VAR, VALUES_URL_ENV_VAR
from impact_assets.lib.instance_settings import PG_PASSWORD_ENV_VAR as PASSWORD_VAR
from impact_assets.lib.instance_settings import (
    distributed_environment,
    distributed_instance_settings,
)
from impact_assets.loop.measure_pool import SCHEDULER_ENV_VAR

DEFAULT_DIR = PROJECT_ROOT / ".cluster"
WORKSPACE = PROJECT_ROOT / "workspace.yaml"
SCHEDULER_READY_SECONDS = 60
WORKERS_READY_SECONDS = 120
DAEMON_READY_SECONDS = 180
# The Python packages the distributed profile needs, and the extra that installs them.
PACKAGES = {"distributed": "distributed", "psycopg2": "psycopg2-binary",
            "dagster_postgres": "dagster-postgres"}  # fmt: skip
INSTALL_HINT = "pip install -e '.[distributed]'"
# Worker processes keep linear algebra to one thread: the processes are the parallelism.
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Layout:
    """Where the cluster keeps its files."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        self.env_file = self.folder / "env"
        self.state_file = self.folder / "state.json"
        self.dagster_home = self.folder / "dagster_home"
        self.values = self.folder / "values"
        self.postgres = self.folder / "postgres"
        self.logs = self.folder / "logs"
        self.dask = self.folder / "dask"

    def servers(self) -> list[Server]:
        if not self.state_file.exists():
            return []
        state = json.loads(self.state_file.read_text())
        return [Server.from_dict(server) for server in state.get("servers", [])]

    def save(self, servers: Sequence[Server]) -> None:
        self.state_file.write_text(
            json.dumps({"servers": [s.to_dict() for s in servers]}, indent=2) + "\n"
        )

    def saved_password(self) -> str | None:
        """The database password from an earlier ``up`` (it lives only in the env file)."""
        if not self.env_file.exists():
            return None
        for line in self.env_file.read_text().splitlines():
            if line.startswith(f"export {PASSWORD_VAR}="):
                return shlex.split(line.partition("=")[2])[0]
        return None


def client_environment(
    layout: Layout, scheduler: str, password: str, config: Path
) -> dict[str, str]:
    """The variables ``.cluster/env`` exports: everything a client needs.

    The config is the cluster's portfolio (the daemon's definitions load it, and
    ``run_once.py`` without ``--config`` runs it); Dagster's event batching and one
    planned event per asset apply to every process that sources the file, the CLI
    (which executes its runs) and the daemon with the run workers it starts.
    """
    return {
        **distributed_environment(),
        PROFILE_ENV_VAR: "distributed",
        CONFIG_ENV_VAR: str(config),
        "DAGSTER_HOME": str(layout.dagster_home),
        VALUES_URL_ENV_VAR: str(layout.values),
        SCHEDULER_ENV_VAR: scheduler,
        PASSWORD_VAR: password,
    }


def write_env_file(layout: Layout, variables: dict[str, str]) -> None:
    lines = [
        "# The distributed profile on this machine, written by `python scripts/cluster.py up`.",
        "# Use it: . .cluster/env && python scripts/run_once.py --config config.yaml",
        *(f"export {name}={shlex.quote(value)}" for name, value in variables.items()),
    ]
    layout.env_file.touch(mode=0o600)
    layout.env_file.write_text("\n".join(lines) + "\n")


def check_packages() -> None:
    missing = [pip for module, pip in PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ClusterError(
            f"the distributed profile needs {', '.join(missing)}, not installed here: "
            f"{INSTALL_HINT}"
        )


def _port(requested: int | None, what: str, option: str) -> int:
    if requested is None:
        return free_port()
    check_port_free(requested, what, option)
    return requested


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(server: Server, condition, timeout: float, what: str) -> None:
    def ready_or_dead() -> bool:
        return not server.running or condition()

    if not wait_until(ready_or_dead, timeout, interval=0.5) or not server.running:
        state = "exited" if not server.running else f"was not {what} within {timeout:.0f} s"
        tail = log_tail(server.log)
        raise ClusterError(f"{server.name} {state}; its log ({server.log}):\n{tail}")


def _dask_workers(address: str) -> int:
    from distributed import Client

    try:
        with Client(address, timeout="5s", set_as_default=False) as client:
            return len(client.nthreads())
    except (OSError, TimeoutError):
        return 0


# The daemon type that dequeues runs, as Dagster names it in its heartbeats, and how
# recent a heartbeat must be (daemons send one every 30 s).
QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
HEARTBEAT_FRESH_SECONDS = 65


def console_script(name: str) -> str:
    """A command of this Python environment (``dagster-daemon``), by full path."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def queue_daemon_alive(instance) -> bool:
    """Whether a daemon that dequeues runs has sent a heartbeat to ``instance`` lately."""
    heartbeat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    return heartbeat is not None and time.time() - heartbeat.timestamp <= HEARTBEAT_FRESH_SECONDS


def _daemon_heartbeats(env: dict[str, str]) -> bool:
    import dagster as dg

    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with dg.DagsterInstance.get() as instance:
            return queue_daemon_alive(instance)
    except Exception:
        return False
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def up(
    layout: Layout,
    workers: int,
    pg_port: int | None,
    scheduler_port: int | None,
    config: Path,
) -> int:
    check_packages()
    postgres.binaries()
    recorded = layout.servers()
    if recorded and all(server.running for server in recorded):
        print(f"the cluster in {layout.folder} is already running:")
        return status(layout)
    if any(server.running for server in recorded):
        return restart_stopped(layout, recorded)
    pg_port = _port(pg_port, "PostgreSQL", "--pg-port")
    scheduler_port = _port(scheduler_port, "the Dask scheduler", "--scheduler-port")
    for folder in (layout.folder, layout.dagster_home, layout.values, layout.logs, layout.dask):
        folder.mkdir(parents=True, exist_ok=True)
    layout.folder.chmod(0o755)  # the postgres user reaches its data folder through it
    password = layout.saved_password() or secrets.token_urlsafe(24)
    scheduler = f"tcp://127.0.0.1:{scheduler_port}"
    variables = client_environment(layout, scheduler, password, config.resolve())
    write_env_file(layout, variables)
    (layout.dagster_home / "dagster.yaml").write_text(
        distributed_instance_settings("127.0.0.1", pg_port, postgres.USERNAME, postgres.DATABASE)
    )
    env = {**os.environ, **variables}
    started: list[Server] = []

    def launch(server: Server) -> Server:
        started.append(server)
        layout.save(started)
        return server

    try:
        print(f"PostgreSQL on 127.0.0.1:{pg_port} ...", flush=True)
        data = postgres.initialise(layout.postgres, password, layout.logs / "initdb.log")
        server = launch(
            postgres.start_server(data, pg_port, layout.logs / "postgres.log", env, layout.folder)
        )
        postgres.wait_ready(server, pg_port, password)
        postgres.ensure_database(pg_port, password)

        print(f"Dask scheduler at {scheduler} ...", flush=True)
        python = sys.executable
        dask_env = {**env, **SINGLE_THREAD}
        server = launch(
            start(
                "dask-scheduler",
                [python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                 "--port", str(scheduler_port), "--no-dashboard"],
                layout.logs / "dask-scheduler.log", dask_env, layout.folder, scheduler,
            )
        )  # fmt: skip
        _wait_for(server, lambda: _accepts(scheduler_port), SCHEDULER_READY_SECONDS, "listening")

        print(f"{workers} Dask worker(s) ...", flush=True)
        worker_servers = [
            launch(
                start(
                    f"dask-worker-{index}",
                    [python, "-m", "distributed.cli.dask_worker", scheduler,
                     "--name", f"worker-{index}", "--nthreads", "1", "--no-nanny",
                     "--no-dashboard", "--local-directory", str(layout.dask),
                     "--preload", "impact_assets.loop.dask_worker"],
                    layout.logs / f"dask-worker-{index}.log", dask_env, PROJECT_ROOT,
                )
            )
            for index in range(1, workers + 1)
        ]  # fmt: skip
        for worker in worker_servers:
            _wait_for(
                worker,
                lambda: _dask_workers(scheduler) >= workers,
                WORKERS_READY_SECONDS,
                "connected",
            )

        print("Dagster daemon ...", flush=True)
        server = launch(
            start(
                "dagster-daemon",
                [console_script("dagster-daemon"), "run", "-w", str(WORKSPACE)],
                layout.logs / "dagster-daemon.log", env,
                PROJECT_ROOT,
            )
        )  # fmt: skip
        _wait_for(server, lambda: _daemon_heartbeats(variables), DAEMON_READY_SECONDS, "serving")
    except BaseException:
        for server in reversed(started):
            _stop(server)
        layout.save([])
        raise

    print(f"\nThe cluster runs; its settings are in {layout.env_file}:")
    print(f"  . {layout.env_file} && python scripts/run_once.py   # runs {config}")
    print(f"  . {layout.env_file} && dagster-webserver -w workspace.yaml   # the UI")
    print("  python scripts/cluster.py down                 # stop it")
    return 0


def saved_environment(layout: Layout) -> dict[str, str]:
    """The variables of ``.cluster/env``."""
    variables = {}
    for line in layout.env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            variables[name] = shlex.split(value)[0] if value else ""
    return variables


def restart_stopped(layout: Layout, recorded: list[Server]) -> int:
    """Start again, on the same ports, the servers of a running cluster that stopped.

    After PostgreSQL was stopped, or a Dask worker was lost, ``up`` brings them back.
    """
    variables = saved_environment(layout)
    env = {**os.environ, **variables}
    servers = list(recorded)
    for index, server in enumerate(recorded):
        if server.running:
            continue
        print(f"{server.name} stopped: starting it again ...", flush=True)
        dask = server.name.startswith("dask-")
        server_env = {**env, **SINGLE_THREAD} if dask else env
        again = start(
            server.name,
            server.command,
            Path(server.log),
            server_env,
            Path(server.cwd or layout.folder),
            server.address,
        )
        servers[index] = again
        layout.save(servers)
        if server.name == "postgres":
            port = int(server.address.rpartition(":")[2])
            postgres.wait_ready(again, port, variables[PASSWORD_VAR])
        elif server.name == "dask-scheduler":
            port = int(server.address.rpartition(":")[2])
            _wait_for(again, lambda port=port: _accepts(port), SCHEDULER_READY_SECONDS, "listening")
        elif dask:
            expected = sum(s.name.startswith("dask-worker") for s in recorded)
            _wait_for(
                again,
                lambda count=expected: _dask_workers(variables[SCHEDULER_ENV_VAR]) >= count,
                WORKERS_READY_SECONDS,
                "connected",
            )
        else:
            _wait_for(again, lambda: _daemon_heartbeats(variables), DAEMON_READY_SECONDS, "serving")
    return status(layout)


def _stop(server: Server) -> bool:
    if server.name == "postgres":
        return postgres.stop_server(server)
    return stop(server)


def down(layout: Layout) -> int:
    servers = layout.servers()
    if not servers:
        print(f"no cluster recorded in {layout.folder}: nothing to stop")
        return 0
    # the daemon first (no new run starts), PostgreSQL last (the others write to it)
    for server in reversed(servers):
        was = "stopped" if _stop(server) else "was not running"
        print(f"{server.name} (pid {server.pid}): {was}")
    layout.save([])
    return 0


def status(layout: Layout) -> int:
    servers = layout.servers()
    if not servers:
        print(f"no cluster runs from {layout.folder} (`python scripts/cluster.py up` starts one)")
        return 3
    running = 0
    for server in servers:
        alive = server.running
        running += alive
        where = f" {server.address}" if server.address else ""
        state = "running" if alive else "NOT RUNNING"
        print(f"{server.name:<16} pid {server.pid:<8} {state}{where}")
    print(f"settings: {layout.env_file}")
    return 0 if running == len(servers) else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cluster.py",
        description="Run the distributed profile on this machine: PostgreSQL, Dask, the daemon.",
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="cluster folder "
                        "(default: .cluster at the project root)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("up", help="start the cluster, write .cluster/env")
    start_parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    start_parser.add_argument("--pg-port", type=int, help="PostgreSQL port (default: a free one)")
    start_parser.add_argument("--scheduler-port", type=int, help="Dask port (default: a free one)")
    start_parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the cluster's portfolio, for its sensor and schedule and for run_once.py "
        "without --config (default: $IMPACT_ENGINE_CONFIG or config.yaml)",
    )
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("status", help="say what runs")
    args = parser.parse_args(argv)
    if args.command == "up" and args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    layout = Layout(args.dir)
    started = time.monotonic()
    try:
        if args.command == "up":
            config = args.config or default_config_path()
            code = up(layout, args.workers, args.pg_port, args.scheduler_port, config)
            print(f"(up in {time.monotonic() - started:.1f} s)")
            return code
        if args.command == "down":
            return down(layout)
        return status(layout)
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            down(layout)
        print("interrupted: stopped what had started", file=sys.stderr)
        return 1
