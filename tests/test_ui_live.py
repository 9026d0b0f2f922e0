"""The real UI: `dagster dev` on 127.0.0.1, driven over GraphQL and in headless Chromium."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers import PROJECT_ROOT, run_cli, skip_or_fail

from impact_assets.config import load_config
from impact_assets.lib.instance_settings import ensure_instance_settings
from impact_assets.lib.partitions import partition_range_tags
from impact_assets.loop.decision import REASON_KINDS
from impact_assets.loop.tables import ALLOCATION_COLUMNS, REPORT_COLUMNS
from impact_assets.ui.browser import HEADLESS_FLAGS, HeadlessChromium, find_chromium
from impact_assets.ui.server import DagsterDevServer, PeakMemory

pytestmark = pytest.mark.live

CONFIG = PROJECT_ROOT / "config.yaml"
LOOP_ASSETS = [
    "pilot_results",
    "calibration_history",
    "calibration",
    "evaluations",
    "allocation",
    "scale_results",
    "outcome_reports",
]
PARTITIONED = {"pilot_results", "evaluations", "scale_results"}
EXPECTED_EDGES = {
    ("calibration_history", "calibration"),
    ("pilot_results", "calibration"),
    ("calibration", "evaluations"),
    ("pilot_results", "evaluations"),
    ("evaluations", "allocation"),
    ("allocation", "scale_results"),
    ("pilot_results", "outcome_reports"),
    ("evaluations", "outcome_reports"),
    ("allocation", "outcome_reports"),
    ("scale_results", "outcome_reports"),
    ("calibration", "outcome_reports"),
}
ASSET_NODES = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName kinds description
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries { label }
    partitionStats { numMaterialized numPartitions }
    assetChecksOrError { ... on AssetChecks { checks {
      name description
      executionForLatestMaterialization { status evaluation { success } } } } }
} }
"""
LATEST_METADATA = """
query($key: AssetKeyInput!, $limit: Int!) { assetOrError(assetKey: $key) { ... on Asset {
  assetMaterializations(limit: $limit) { runId partition metadataEntries {
    label
    ... on MarkdownMetadataEntry { mdStr }
    ... on TableMetadataEntry { table { records schema { columns { name } } } } } }
} } }
"""
GROUPS = dict.fromkeys(LOOP_ASSETS, "impact_loop")
PARTITION_LABELS = {
    "pilot_results": {
        "status", "estimate", "ci_lower", "ci_upper", "ci_95", "p_value", "method",
        "sample_size", "model_type", "diagnostics", "diagnostics_summary",
    },
    "evaluations": {"status", "confidence", "R_worst", "R_med", "R_best"},
    "scale_results": {"status", "loop_id", "method"},
}  # fmt: skip
SCALED_LABELS = {"estimate", "ci_95", "p_value", "sample_size", "diagnostics"}
ASSET_LABELS = {
    "calibration_history": {"row_count", "pairs", "loops", "by_loop", "newest_pairs"},
    "calibration": {"ratios", "notes", "prior_pilots", "history_pairs", "pilot_vs_scale"},
    "allocation": {
        "candidates", "scenarios", "rule", "status", "budget", "budget_used", "budget_left",
    },
    "outcome_reports": {
        "reports", "summary", "predicted_vs_actual", "budget_used",
        "mean_abs_prediction_error", "pilot_ci_coverage_pilot_truth",
        "pilot_ci_coverage_scale_truth", "realised_value", "oracle_value", "oracle_ratio",
        "mean_prediction_error", "interval_coverage_actual", "interval_coverage_truth",
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    home = Path(tempfile.mkdtemp(prefix="impact-live-"))
    config_path = CONFIG
    ensure_instance_settings(home)  # the CLI's settings: the run queue, one loop at a time
    tags = partition_range_tags(load_config(config_path).initiative_ids)
    dev = DagsterDevServer(home, config_path=config_path).start()
    dev.range_tags = tags
    yield dev
    exit_code = dev.stop()
    assert exit_code is not None, "dagster dev did not stop"
    shutil.rmtree(home, ignore_errors=True)


def materializations(server, name: str, limit: int = 1) -> list[dict]:
    asset = server.graphql(LATEST_METADATA, {"key": {"path": [name]}, "limit": limit})
    return asset["assetOrError"]["assetMaterializations"]


def labels(materialization: dict) -> set[str]:
    return {entry["label"] for entry in materialization["metadataEntries"]}


def test_server_binds_to_localhost(server):
    assert server.url.startswith("http://127.0.0.1:")


def test_impact_loop_launched_over_graphql(server):
    tags = {**server.range_tags, "impact/loop_id": "20260101T000000Z-liveui00"}
    with PeakMemory(server) as memory:
        started = time.monotonic()
        run_id = server.launch_loop(tags)
        assert server.wait_for_run(run_id) == "SUCCESS"
        loop_seconds = time.monotonic() - started
    print(
        f"dagster dev ready in {server.ready_seconds:.1f} s; impact_loop over GraphQL in "
        f"{loop_seconds:.1f} s; server peak RSS {memory.peak_mib:.0f} MiB"
    )
    server.loop_run_id = run_id

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
        assert check["description"], check
        execution = check["executionForLatestMaterialization"]
        assert execution["status"] == "SUCCEEDED", check
        assert execution["evaluation"]["success"], check


def test_assets_are_grouped_owned_and_described(server):
    nodes = {tuple(n["assetKey"]["path"])[0]: n for n in server.graphql(ASSET_NODES)["assetNodes"]}
    for name, group in GROUPS.items():
        node = nodes[name]
        assert node["groupName"] == group, name
        assert "python" in node["kinds"], name
        assert node["owners"] == [{"team": "impact-engine"}], name
        assert node["description"], name
        assert "dagster/column_schema" in labels(node), name


def test_every_partition_and_asset_carries_its_metadata(server):
    run_id = getattr(server, "loop_run_id", None)
    if run_id is None:
        pytest.fail("the loop was not launched: see the failure of the test that launches it")
    for name, expected in PARTITION_LABELS.items():
        latest = materializations(server, name, limit=5)
        assert {m["partition"] for m in latest} == set(load_config(CONFIG).initiative_ids)
        for materialization in latest:
            assert materialization["runId"] == run_id
            present = labels(materialization)
            assert expected <= present, (name, materialization["partition"], expected - present)
    scaled = [
        m for m in materializations(server, "scale_results", limit=5) if labels(m) >= SCALED_LABELS
    ]
    assert scaled, "no scale_results partition carries a scale estimate"

    for name, expected in ASSET_LABELS.items():
        (latest,) = materializations(server, name)
        assert latest["runId"] == run_id
        assert expected <= labels(latest), (name, expected - labels(latest))
    (report,) = materializations(server, "outcome_reports")
    chart = next(e for e in report["metadataEntries"] if e["label"] == "predicted_vs_actual")
    assert chart["mdStr"].startswith("![")
    assert "(data:image/png;base64,iVBORw0KGgo" in chart["mdStr"]  # a PNG's signature
    reports = next(e for e in report["metadataEntries"] if e["label"] == "reports")
    assert [c["name"] for c in reports["table"]["schema"]["columns"]] == list(REPORT_COLUMNS)
    (allocation,) = materializations(server, "allocation")
    candidates = next(e for e in allocation["metadataEntries"] if e["label"] == "candidates")
    columns = [c["name"] for c in candidates["table"]["schema"]["columns"]]
    assert columns == list(ALLOCATION_COLUMNS)
    records = [json.loads(record) for record in candidates["table"]["records"]]
    assert len(records) == 5  # one record per candidate
    # the same reasons as the console and --output-json (impact_assets/loop/decision.py)
    assert {r["kind"] for r in records} <= set(REASON_KINDS)
    assert all(r["reason"].startswith(r["kind"]) for r in records)
    assert sum(r["selected"] for r in records) == sum(r["reason"] == "selected" for r in records)


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
    latest_run = materializations(server, "outcome_reports")[0]["runId"]
    assert latest_run in {
        r["runId"]
        for r in server.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 ... on PartitionBackfill { runs(limit: 20) { runId } } } }""",
            {"id": backfill_id},
        )["partitionBackfillOrError"]["runs"]
    }


def test_lineage_page_draws_every_loop_asset(server, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        skip_or_fail("chromium is not installed (apt-get install -y chromium)")
    assert server.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    url = f"{server.url}/assets/outcome_reports?view=lineage&lineageScope=upstream&lineageDepth=5"
    dom = subprocess.run(
        [
            chromium,
            *HEADLESS_FLAGS,
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
        shortened = re.search(rf">{shortened_pattern(name)}<", dom)
        assert f">{name}<" in dom or f'"{name}"' in dom or shortened, name


def shortened_pattern(name: str) -> str:
    """A long asset name as the graph draws it: shortened, an ellipsis in the middle."""
    return rf"{re.escape(name[:8])}[^<]*…[^<]*{re.escape(name[-7:])}"


def is_drawn_name(text: str, name: str) -> bool:
    return text == name or re.fullmatch(shortened_pattern(name), text) is not None


def test_the_global_lineage_opens_on_the_loop_assets_and_their_edges(server, tmp_path):
    """The first view of the lineage is the loop itself, not collapsed group boxes."""
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail("chromium is not installed (apt-get install -y chromium)")
    assert server.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    with HeadlessChromium(chromium, width=1400, height=900) as browser:
        browser.open(f"{server.url}/asset-groups")
        browser.wait_for(
            "document.querySelectorAll('svg foreignObject').length >= " + str(len(LOOP_ASSETS)),
            timeout=60,
        )
        time.sleep(1)  # let the edges draw
        nodes = browser.evaluate(
            "[...document.querySelectorAll('svg foreignObject')].map(e => e.textContent)"
        )
        edges = browser.evaluate(
            "(() => { const svg = document.querySelector('svg foreignObject').ownerSVGElement;"
            " return svg.querySelectorAll('path').length; })()"
        )
        browser.screenshot(tmp_path / "lineage.png")
    drawn = sorted(node.strip() for node in nodes)
    assert len(drawn) == len(LOOP_ASSETS), drawn  # no group boxes
    for name in LOOP_ASSETS:
        assert any(is_drawn_name(text, name) for text in drawn), (name, drawn)
    assert edges >= len(EXPECTED_EDGES)
    png = (tmp_path / "lineage.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_the_ui_opens_the_instance_run_once_wrote(tmp_path):
    """`run_once.py` then `dagster dev` on the same DAGSTER_HOME: the CLI's run and values show."""
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    home = tmp_path / "home"
    completed = run_cli("--config", str(CONFIG), "--quiet", dagster_home=home)
    assert completed.returncode == 0, completed.stderr
    with DagsterDevServer(home, config_path=CONFIG) as dev:
        runs = dev.graphql(
            "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
        )
        results = runs["runsOrError"]["results"]
        assert [run["status"] for run in results] == ["SUCCESS"]
        assert {"key": "impact/launched_by", "value": "run_once"} in results[0]["tags"]
        report = materializations(dev, "outcome_reports")
        assert report and {"summary", "reports", "predicted_vs_actual"} <= labels(report[0])


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (Linux /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_ui_listens_on_127_0_0_1_unless_told_otherwise(tmp_path):
    """`dagster dev` started without `-h`, as the README's command does."""
    if importlib.util.find_spec("dagster_webserver") is None:
        skip_or_fail("dagster-webserver is not installed")
    if not Path("/proc/net/tcp").exists():
        skip_or_fail("needs Linux /proc/net/tcp to see which address the server listens on")
    with DagsterDevServer(tmp_path / "home", config_path=CONFIG, host=None) as dev:
        addresses = listening_addresses(dev.port)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1 only: no 0.0.0.0, no ::
    assert "host" not in (PROJECT_ROOT / "workspace.yaml").read_text()
