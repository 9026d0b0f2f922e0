"""The real UI: `dagster dev` on 127.0.0.1, driven over GraphQL and in headless Chromium."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dagster as dg
import pytest
from helpers import PROJECT_ROOT, skip_or_fail

from impact_assets.config import load_config
from impact_assets.defs.partitions import partition_range_tags, sync_initiative_partitions
from impact_assets.ui.server import DagsterDevServer

pytestmark = pytest.mark.live

LOOP_ASSETS = ["pilot_results", "evaluations", "allocation", "scale_results", "outcome_reports"]
PARTITIONED = {"pilot_results", "evaluations", "scale_results"}
EXPECTED_EDGES = {
    ("pilot_results", "evaluations"),
    ("evaluations", "allocation"),
    ("allocation", "scale_results"),
    ("pilot_results", "outcome_reports"),
    ("evaluations", "outcome_reports"),
    ("allocation", "outcome_reports"),
    ("scale_results", "outcome_reports"),
}
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
ASSET_NODES = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    partitionStats { numMaterialized numPartitions }
    assetChecksOrError { ... on AssetChecks { checks {
      name executionForLatestMaterialization { status evaluation { success } } } } }
} }
"""
LATEST_METADATA = """
query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
  assetMaterializations(limit: 1) { runId partition metadataEntries { label } }
} } }
"""


@pytest.fixture(scope="module")
def server():
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    home = Path(tempfile.mkdtemp(prefix="impact-live-"))
    config_path = PROJECT_ROOT / "config.yaml"
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sync_initiative_partitions(instance, load_config(config_path).initiative_ids)
        tags = partition_range_tags(instance)
    dev = DagsterDevServer(home, config_path=config_path).start()
    dev.range_tags = tags
    yield dev
    exit_code = dev.stop()
    assert exit_code is not None, "dagster dev did not stop"
    shutil.rmtree(home, ignore_errors=True)


def wait_for_run(server, run_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = server.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} still running after {timeout} s")


def test_server_binds_to_localhost(server):
    assert server.url.startswith("http://127.0.0.1:")


def test_impact_loop_launched_over_graphql(server):
    tags = {**server.range_tags, "impact/loop_id": "20260101T000000Z-liveui00"}
    params = {
        "selector": {
            "repositoryLocationName": "impact_engine",
            "repositoryName": "__repository__",
            "jobName": "impact_loop",
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        "runConfigData": {},
    }
    launched = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert wait_for_run(server, run_id) == "SUCCESS"

    nodes = {tuple(n["assetKey"]["path"])[0]: n for n in server.graphql(ASSET_NODES)["assetNodes"]}
    assert set(nodes) == set(LOOP_ASSETS)
    edges = {
        (tuple(dep["path"])[0], name) for name, n in nodes.items() for dep in n["dependencyKeys"]
    }
    assert edges == EXPECTED_EDGES
    for name in PARTITIONED:
        assert nodes[name]["partitionStats"] == {"numMaterialized": 5, "numPartitions": 5}
    checks = [c for n in nodes.values() for c in n["assetChecksOrError"]["checks"]]
    assert len(checks) == 5
    for check in checks:
        execution = check["executionForLatestMaterialization"]
        assert execution["status"] == "SUCCEEDED", check
        assert execution["evaluation"]["success"], check

    expected_labels = {
        "pilot_results": {"status", "estimate", "ci_lower", "ci_upper", "p_value", "sample_size"},
        "evaluations": {"confidence", "R_worst", "R_med", "R_best"},
        "allocation": {"candidates", "rule", "status", "budget_used", "row_count"},
        "scale_results": {"status", "row_count"},
        "outcome_reports": {"reports", "summary", "row_count"},
    }
    for name, labels in expected_labels.items():
        asset = server.graphql(LATEST_METADATA, {"key": {"path": [name]}})["assetOrError"]
        latest = asset["assetMaterializations"][0]
        assert latest["runId"] == run_id
        present = {entry["label"] for entry in latest["metadataEntries"]}
        assert labels <= present, (name, labels - present)


def test_materialize_all_as_an_asset_backfill(server):
    selection = [{"path": [name]} for name in LOOP_ASSETS]
    launched = server.graphql(
        """mutation($selection: [AssetKeyInput!]) {
             launchPartitionBackfill(backfillParams: {assetSelection: $selection,
                                                      allPartitions: true}) {
               __typename ... on LaunchBackfillSuccess { backfillId }
               ... on PythonError { message } } }""",
        {"selection": selection},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    deadline = time.monotonic() + 420
    status = None
    while time.monotonic() < deadline:
        backfill = server.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 ... on PartitionBackfill { status runs(limit: 20) { status } } } }""",
            {"id": backfill_id},
        )["partitionBackfillOrError"]
        status = backfill["status"]
        if status not in {"REQUESTED"}:
            break
        time.sleep(2)
    assert status == "COMPLETED_SUCCESS", backfill
    assert backfill["runs"] and all(run["status"] == "SUCCESS" for run in backfill["runs"])
    report = server.graphql(LATEST_METADATA, {"key": {"path": ["outcome_reports"]}})
    latest_run = report["assetOrError"]["assetMaterializations"][0]["runId"]
    assert latest_run in {
        r["runId"]
        for r in server.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 ... on PartitionBackfill { runs(limit: 20) { runId } } } }""",
            {"id": backfill_id},
        )["partitionBackfillOrError"]["runs"]
    }


def test_lineage_page_draws_the_five_assets(server, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        skip_or_fail("chromium is not installed (apt-get install -y chromium)")
    assert server.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    url = f"{server.url}/assets/outcome_reports?view=lineage&lineageScope=upstream&lineageDepth=5"
    dom = subprocess.run(
        [
            chromium,
            *BROWSER_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "outcome_reports" in dom
    for name in LOOP_ASSETS:
        assert f">{name}<" in dom or f'"{name}"' in dom, name
