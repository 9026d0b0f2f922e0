"""A PostgreSQL server for the cluster: its own data folder, 127.0.0.1 only, password login.

The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/
<version>/bin``), ``$IMPACT_PG_BIN`` or the PATH. PostgreSQL refuses to run as
root, so as root the data folder belongs to the ``postgres`` user and the server
runs as that user (``runuser -u postgres --``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from impact_assets.cluster.processes import ClusterError, Server, log_tail, start, stop

BIN_ENV_VAR = "IMPACT_PG_BIN"
USERNAME = "impact"
DATABASE = "dagster"
SERVER_USER = "postgres"
READY_TIMEOUT_SECONDS = 60
INSTALL_HINT = "apt-get install postgresql (Debian), or set $IMPACT_PG_BIN to its bin folder"


def binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres``; a clear error when there is none."""
    configured = os.environ.get(BIN_ENV_VAR)
    candidates = [Path(configured)] if configured else []
    if not configured:
        candidates += [
            Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version)[::-1]
        ]
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    where = configured or "/usr/lib/postgresql/*/bin or the PATH"
    raise ClusterError(f"PostgreSQL server binaries (initdb, postgres) not found in {where}: "
                       f"{INSTALL_HINT}")  # fmt: skip


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _as_server_user() -> list[str]:
    """The command prefix that runs a PostgreSQL binary as a user it accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ClusterError(
            f"running as root, and there is no {SERVER_USER!r} user to run PostgreSQL as "
            f"(PostgreSQL refuses root): {INSTALL_HINT}"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterError("running as root and `runuser` is missing: apt-get install util-linux")
    return [runuser, "-u", SERVER_USER, "--"]


def _hand_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def _check_reachable(folder: Path) -> None:
    """As root, the server user must be able to reach ``folder`` through its parents."""
    if os.geteuid() != 0:
        return
    for parent in reversed(folder.resolve().parents):  # /, ..., folder's parent
        if not os.stat(parent).st_mode & 0o001:
            raise ClusterError(
                f"the {SERVER_USER} user cannot reach {folder}: {parent} is not searchable by "
                f"others (chmod o+x {parent}, or use a cluster folder elsewhere with --dir)"
            )


def initialise(folder: Path, password: str, log: Path) -> Path:
    """Create the data folder (once) with the ``impact`` user; return the data folder."""
    import subprocess

    data = folder / "data"
    if (data / "PG_VERSION").exists():
        return data
    bin_folder = binaries()
    _check_reachable(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    _hand_to_server_user(folder)
    password_file = folder / "initial-password"
    password_file.write_text(password)
    password_file.chmod(0o600)
    _hand_to_server_user(password_file)
    command = [
        *_as_server_user(),
        str(bin_folder / "initdb"),
        "-D", str(data),
        "-U", USERNAME,
        f"--pwfile={password_file}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
    ]  # fmt: skip
    try:
        with open(log, "ab") as stream:
            done = subprocess.run(
                command, stdout=stream, stderr=subprocess.STDOUT, timeout=120, cwd="/"
            )
    finally:
        password_file.unlink(missing_ok=True)
    if done.returncode != 0:
        raise ClusterError(f"initdb failed (exit {done.returncode}); its log:\n{log_tail(log)}")
    return data


def start_server(data: Path, port: int, log: Path, env: Mapping[str, str], cwd: Path) -> Server:
    """Start the server on 127.0.0.1:``port`` (no Unix socket) and record it."""
    command = [
        *_as_server_user(),
        str(binaries() / "postgres"),
        "-D", str(data),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=",
        "-c", "max_connections=200",
    ]  # fmt: skip
    return start("postgres", command, log, env, cwd, address=f"127.0.0.1:{port}")


def connect(port: int, password: str, database: str = "postgres", timeout: int = 5):
    """A psycopg2 connection to the server (autocommit)."""
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1",
        port=port,
        user=USERNAME,
        password=password,
        dbname=database,
        connect_timeout=timeout,
    )
    connection.autocommit = True
    return connection


def wait_ready(server: Server, port: int, password: str) -> None:
    """Wait until the server accepts logins; a clear error if it exits or never does."""
    import psycopg2

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last_error = ""
    while time.monotonic() < deadline:
        if not server.running:
            tail = log_tail(server.log)
            raise ClusterError(f"PostgreSQL exited while starting; its log:\n{tail}")
        try:
            connect(port, password).close()
            return
        except psycopg2.OperationalError as error:
            last_error = str(error).strip().splitlines()[0] if str(error).strip() else ""
        time.sleep(0.3)
    raise ClusterError(
        f"PostgreSQL did not accept logins on 127.0.0.1:{port} within {READY_TIMEOUT_SECONDS} s "
        f"({last_error}); its log:\n{log_tail(server.log)}"
    )


def ensure_database(port: int, password: str) -> None:
    """Create the ``dagster`` database unless it exists."""
    connection = connect(port, password)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        connection.close()


def stop_server(server: Server) -> bool:
    """Fast shutdown (SIGINT: running statements are cancelled), then SIGKILL if need be."""
    return stop(server, first_signal=signal.SIGINT)
