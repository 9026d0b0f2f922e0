"""The distributed profile on real servers: the same records as local, and its faults.

One cluster (``scripts/cluster.py up --workers 2``: PostgreSQL, a Dask scheduler,
two Dask workers, the Dagster daemon, all on 127.0.0.1) serves the whole module;
its fixture stops it with ``cluster.py down``, also when a test fails. Every loop
here runs the module's portfolio with one loop id, so every ``--output-json`` must
equal the local profile's byte for byte. The tests run in file order: the worker
kill and the PostgreSQL stop come last, and each brings the cluster back with ``up``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from distributed_cluster import Cluster, running_cluster
from helpers import (
    PROJECT_ROOT,
    RUN_ONCE,
    cli_output_json,
    open_instance,
    run_cli,
    work_spans,
)
from test_measure_pool import pid_measure  # noqa: F401  (a fixture)
from upath import UPath

from impact_assets.cluster import postgres
from impact_assets.config import CONFIG_ENV_VAR
from impact_assets.config.models import PortfolioConfig
from impact_assets.contracts import RecordStatus
from impact_assets.lib.instance_settings import distributed_instance_settings
from impact_assets.lib.io_manager import RecordIOManager
from impact_assets.lib.keys import LOOP_ID_TAG
from impact_assets.lib.turns import OWNER_TAG
from impact_assets.loop import stages
from impact_assets.loop.measure_pool import MeasurePool

pytestmark = pytest.mark.distributed

LOOP_ID = "20260101T000000Z-distrib0"
LOOP_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    with running_cluster(workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def local_document(cluster, tmp_path_factory) -> bytes:
    """The local profile's ``--output-json`` for the module's portfolio and loop id."""
    home = tmp_path_factory.mktemp("local") / "home"
    return cli_output_json(cluster.config_path, LOOP_ID, home)


def distributed_cli(cluster: Cluster, *args: str, home: Path | None = None):
    """``run_once.py`` as a client of the cluster: ``. .cluster/env && run_once.py ...``."""
    return run_cli(
        "--config", str(cluster.config_path), *args,
        dagster_home=home or cluster.home,
        extra_env={**cluster.variables, **({"DAGSTER_HOME": str(home)} if home else {})},
        timeout=LOOP_TIMEOUT_SECONDS,
    )  # fmt: skip


def distributed_document(cluster: Cluster, output: Path, loop_id: str = LOOP_ID) -> bytes:
    done = distributed_cli(cluster, "--quiet", "--loop-id", loop_id, "--output-json", str(output))
    assert done.returncode == 0, done.stderr
    return output.read_bytes()


def latest_metadata(cluster: Cluster, asset: str) -> dict:
    with cluster.environment(), open_instance(cluster.home) as instance:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
        return dict(records[0].asset_materialization.metadata)


class BackgroundLoop:
    """``run_once.py`` on the cluster in the background, its output collected line by line."""

    def __init__(self, cluster: Cluster, output: Path):
        env = {**os.environ, **cluster.variables}
        env.pop(CONFIG_ENV_VAR, None)
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_ONCE), "--config", str(cluster.config_path),
             "--loop-id", LOOP_ID, "--output-json", str(output)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "the loop ended early:\n" + "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in {timeout} s"
            time.sleep(0.05)

    def finish(self, timeout: float = LOOP_TIMEOUT_SECONDS) -> int:
        try:
            _, self.stderr = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        return self.process.returncode


def test_the_distributed_profile_gives_the_local_records_byte_for_byte(
    cluster, local_document, tmp_path
):
    document = distributed_document(cluster, tmp_path / "distributed.json")
    assert document == local_document

    pilot = latest_metadata(cluster, "pilot_results")
    assert pilot["measure_pool"].value == "dask"
    assert pilot["measure_workers"].value == 2  # both Dask workers measured pilots
    scale = latest_metadata(cluster, "scale_results")
    assert scale["measure_pool"].value == "dask"
    assert scale["measure_workers"].value >= 1
    # values went to the storage every worker reaches, not the instance's folder
    values = Path(cluster.variables["IMPACT_ENGINE_VALUES_URL"])
    assert (values / "pilot_results" / "file-experiment.json").is_file()


@pytest.mark.usefixtures("pid_measure")
def test_dask_isolates_each_initiative_and_keeps_the_order(cluster):
    import test_measure_pool  # importable on the workers too: see distributed_cluster.py

    ids = ["raise-a", *[f"ok-{k}" for k in range(12)], "missing-b"]
    config = test_measure_pool.pool_config("dask", ids)
    pool = MeasurePool(scheduler_address=cluster.scheduler)
    records = stages.measure_pilots(config, ids, LOOP_ID, pool)
    threads = stages.measure_pilots(test_measure_pool.pool_config("threads", ids), ids, LOOP_ID)
    assert list(records) == ids
    assert (records["raise-a"].status, records["raise-a"].cause) == (
        RecordStatus.FAILED,
        "RuntimeError: singular design matrix in raise-a",
    )
    assert records["missing-b"].status is RecordStatus.FAILED
    pids = {records[i].result.diagnostics["pid"] for i in ids[1:-1]}
    assert os.getpid() not in pids and len(pids) == 2  # both workers, none of them this one
    assert (pool.used, pool.worker_count) == ("dask", 2)
    for initiative_id in ids:
        assert (records[initiative_id].status, records[initiative_id].cause) == (
            threads[initiative_id].status,
            threads[initiative_id].cause,
        )


def test_an_unreachable_scheduler_fails_the_step_with_its_address():
    from distributed_cluster import require_prerequisites

    from impact_assets.cluster.processes import free_port
    from impact_assets.loop.measure_pool import MeasurePoolError

    require_prerequisites()
    address = f"tcp://127.0.0.1:{free_port()}"
    config = PortfolioConfig.model_validate(
        {
            "budget": 1000,
            "measure": {"component": "mock", "pool": "dask", "scheduler_address": address},
            "initiatives": [{"initiative_id": "a", "cost_to_scale": 10}],
        }
    )
    started = time.monotonic()
    with pytest.raises(MeasurePoolError, match=f"cannot reach the Dask scheduler at {address}"):
        stages.measure_pilots(config, ["a"], LOOP_ID)
    assert time.monotonic() - started < 60  # fails, never hangs


def test_killing_a_dask_worker_mid_pilot_measure_loses_no_initiative(
    cluster, local_document, tmp_path
):
    from distributed import Client

    output = tmp_path / "after-kill.json"
    names = {server.name.removeprefix("dask-"): server for server in cluster.servers()}
    with Client(cluster.scheduler, timeout="10s", set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        loop = BackgroundLoop(cluster, output)
        victim = None
        deadline = time.monotonic() + LOOP_TIMEOUT_SECONDS
        while victim is None:
            assert loop.process.poll() is None, "the loop ended before a pilot task ran"
            assert time.monotonic() < deadline, "no pilot measurement ever ran"
            for address, keys in client.processing().items():
                if any(str(key).startswith("measure-pilot-") for key in keys):
                    victim = names[workers[address]["name"]]
                    break
            else:
                time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)  # its tasks in progress are lost with it
        assert loop.finish() == 0, loop.stderr
        assert len(client.scheduler_info()["workers"]) == 1
    assert output.read_bytes() == local_document
    assert latest_metadata(cluster, "pilot_results")["measure_workers"].value >= 1

    restarted = cluster.up()  # up starts the lost worker again
    assert f"{victim.name} stopped: starting it again" in restarted.stdout
    assert all(server.running for server in cluster.servers())


def test_stopping_postgres_mid_loop_fails_clearly_and_the_rerun_gives_the_same_records(
    cluster, local_document, tmp_path
):
    loop = BackgroundLoop(cluster, tmp_path / "interrupted.json")
    loop.wait_for_line("[2/5] EVALUATE", timeout=LOOP_TIMEOUT_SECONDS)
    postgres.stop_server(cluster.server("postgres"))

    assert loop.finish(timeout=300) == 1
    assert "database stopped answering" in loop.stderr, loop.stderr
    assert "Traceback" not in loop.stderr

    restarted = cluster.up()  # PostgreSQL again, on the same port, with its data
    assert "postgres stopped: starting it again" in restarted.stdout
    rerun = distributed_cli(
        cluster, "--loop-id", LOOP_ID, "--output-json", str(tmp_path / "rerun.json")
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "rerun.json").read_bytes() == local_document
    with cluster.environment(), open_instance(cluster.home) as instance:
        statuses = [r.dagster_run.status for r in instance.get_run_records(limit=2)]
    # the interrupted run is failed (by the rerun, if its worker could not record it)
    assert statuses == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]


PARTITIONED = ("pilot_results", "evaluations", "scale_results")


def events_and_values(cluster: Cluster) -> dict[tuple[str, str], tuple[str, str | None]]:
    """For every partition of the loop: the run of its latest materialization event, and
    the loop id of the value stored for it (None when no value is stored)."""
    values = RecordIOManager(UPath(cluster.variables["IMPACT_ENGINE_VALUES_URL"]))
    seen = {}
    with cluster.environment(), open_instance(cluster.home) as instance:
        for asset in PARTITIONED:
            for partition in PortfolioConfig.model_validate(
                yaml.safe_load(cluster.config_path.read_text())
            ).initiative_ids:
                records = instance.fetch_materializations(
                    dg.AssetRecordsFilter(dg.AssetKey(asset), asset_partitions=[partition]),
                    limit=1,
                ).records
                stored = values.read_or_none(asset, partition)
                seen[(asset, partition)] = (
                    records[0].run_id if records else None,
                    stored.loop_id if stored is not None else None,
                )
    return seen


def test_a_run_killed_mid_step_leaves_no_event_without_its_value(
    cluster, local_document, tmp_path
):
    """Events are written in batches of 1,000 (DAGSTER_EVENT_BATCH_SIZE): a run killed while
    it holds a batch loses those events, never a value the event log says was stored."""
    assert cluster.variables["DAGSTER_EVENT_BATCH_SIZE"] == "1000"
    loop = BackgroundLoop(cluster, tmp_path / "killed.json")
    loop.wait_for_line("[4/5] MEASURE (scale)", timeout=LOOP_TIMEOUT_SECONDS)
    loop.process.send_signal(signal.SIGKILL)
    assert loop.finish(timeout=60) == -signal.SIGKILL

    with cluster.environment(), open_instance(cluster.home) as instance:
        (killed,) = instance.get_runs(limit=1)
    for (asset, partition), (run_id, stored_loop) in events_and_values(cluster).items():
        if run_id == killed.run_id:  # an event of the killed run: its value was stored
            assert stored_loop == LOOP_ID, (asset, partition)

    rerun = distributed_cli(
        cluster, "--quiet", "--loop-id", LOOP_ID, "--output-json", str(tmp_path / "rerun.json")
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "rerun.json").read_bytes() == local_document
    with cluster.environment(), open_instance(cluster.home) as instance:
        latest, previous = instance.get_runs(limit=2)
        assert previous.run_id == killed.run_id
        assert previous.status is dg.DagsterRunStatus.FAILURE  # marked by the rerun
    after = events_and_values(cluster)
    assert {run_id for run_id, _ in after.values()} == {latest.run_id}
    assert {stored for _, stored in after.values()} == {LOOP_ID}


# Last in the module: its two loops join the cluster's calibration history, so a loop
# of LOOP_ID after them would learn from them and differ from the local document.
def test_clients_of_two_hosts_run_one_loop_at_a_time_on_one_postgres(cluster, tmp_path):
    homes = []
    for name in ("host-a", "host-b"):  # each client its own DAGSTER_HOME, one database
        home = tmp_path / name
        home.mkdir()
        (home / "dagster.yaml").write_text(
            distributed_instance_settings(
                "127.0.0.1", cluster.pg_port, postgres.USERNAME, postgres.DATABASE
            )
        )
        homes.append(home)
    loop_ids = {"host-a": "20260101T000001Z-hosta000", "host-b": "20260101T000001Z-hostb000"}
    clients = []
    for home in homes:
        env = {**os.environ, **cluster.variables, "DAGSTER_HOME": str(home)}
        env.pop(CONFIG_ENV_VAR, None)
        clients.append(
            subprocess.Popen(
                [sys.executable, str(RUN_ONCE), "--config", str(cluster.config_path), "--quiet",
                 "--loop-id", loop_ids[home.name]],
                cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )
        )  # fmt: skip
    try:
        outputs = [client.communicate(timeout=LOOP_TIMEOUT_SECONDS) for client in clients]
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
    for client, (_, stderr) in zip(clients, outputs, strict=True):
        assert client.returncode == 0, stderr

    with cluster.environment(), open_instance(homes[0]) as instance:
        runs = {
            loop_id: instance.get_run_records(dg.RunsFilter(tags={LOOP_ID_TAG: loop_id}))
            for loop_id in loop_ids.values()
        }
        spans = work_spans(instance)
    assert all(len(records) == 1 for records in runs.values()), runs
    records = [records[0] for records in runs.values()]
    assert {record.dagster_run.status for record in records} == {dg.DagsterRunStatus.SUCCESS}
    (_, first_end), (second_start, _) = sorted(spans[r.dagster_run.run_id] for r in records)
    assert first_end < second_start, "the two loops changed values at the same time"
    # each ran in its own client process, ordered through the one database
    owners = {record.dagster_run.tags[OWNER_TAG] for record in records}
    assert {owner.split("/")[1] for owner in owners} == {str(c.pid) for c in clients}
