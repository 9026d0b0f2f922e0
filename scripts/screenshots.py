"""Screenshot the Dagster UI after one loop: the lineage, the calibration, the allocation and
the outcome report's metadata.

    python scripts/screenshots.py [--config config.yaml] [--out docs/images]

Starts ``dagster dev`` on 127.0.0.1 with a temporary DAGSTER_HOME, launches
``impact_loop`` over GraphQL, marks the first-visit dialog as seen, and saves
PNGs taken with headless Chromium (driven over its DevTools protocol, so it can
open the chart, which the UI shows behind a "[Show Markdown]" button). Prints
how long the server took to be ready, how long the loop took, and the server's
peak resident memory meanwhile.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from impact_assets.config import PROJECT_ROOT, load_config
from impact_assets.lib.keys import LOOP_ASSETS
from impact_assets.lib.partitions import partition_range_tags
from impact_assets.loop.ids import new_loop_id
from impact_assets.ui.browser import HeadlessChromium, find_chromium
from impact_assets.ui.server import DagsterDevServer, PeakMemory

LOOP_ASSET_NAMES = [key.to_user_string() for key in LOOP_ASSETS]
CHART_IMAGE = "data:image/png;base64"
SHOW_CHART = """(() => {
  const row = [...document.querySelectorAll("tr")]
    .find(r => r.cells[0] && r.cells[0].innerText.trim() === "predicted_vs_actual");
  const button = row && [...row.querySelectorAll("*")]
    .find(e => e.children.length === 0 && e.innerText.trim() === "[Show Markdown]");
  if (button) button.click();
  return Boolean(button);
})()"""


def page_shows(*texts: str) -> str:
    """A JavaScript test that the page's text contains every one of ``texts``."""
    return " && ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts)


def graph_shows(*names: str) -> str:
    """A JavaScript test that the lineage graph shows every asset in ``names``.

    The graph shortens a long name in its node with an ellipsis in the middle
    (``calibrati…_history``), so its first and last characters are looked for.
    """
    tests = []
    for name in names:
        head, tail = json.dumps(name[:8]), json.dumps(name[-7:])
        text = "document.body.innerText"
        tests.append(
            f"({text}.includes({json.dumps(name)}) || "
            f"({text}.includes({head}) && {text}.includes({tail})))"
        )
    return " && ".join(tests)


def take_screenshots(server: DagsterDevServer, chromium: str, out: Path) -> list[Path]:
    saved = []
    with HeadlessChromium(chromium) as browser:

        def capture(name: str, page: str, ready: str, width: int = 1400, height: int = 900) -> None:
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            browser.open(server.url + page)
            browser.wait_for(ready)
            time.sleep(1.5)  # let the graph finish its layout animation
            browser.screenshot(out / name)
            saved.append(out / name)

        capture(  # the global lineage: the whole loop, as the UI's Lineage page opens
            "lineage.png",
            "/asset-groups",
            graph_shows(*LOOP_ASSET_NAMES),
        )
        capture(
            "calibration.png",
            "/assets/calibration?view=events",
            page_shows("ratios", "neutral_methods"),
            width=1700,
            height=1300,
        )
        capture(
            "allocation.png",
            "/assets/allocation?view=events",
            page_shows("candidates", "budget_left"),
            width=1700,
            height=1450,
        )
        capture(
            "outcome_reports.png",
            "/assets/outcome_reports?view=events",
            page_shows("predicted_vs_actual", "mean absolute prediction error"),
            width=1700,
            height=1300,
        )
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            width=1400,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.wait_for(SHOW_CHART)
        browser.wait_for(
            "[...document.images].some(i => i.src.startsWith("
            f"{json.dumps(CHART_IMAGE)}) && i.complete && i.naturalWidth > 0)"
        )
        time.sleep(0.5)
        browser.screenshot(out / "outcome_reports_chart.png")
        saved.append(out / "outcome_reports_chart.png")
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "config.yaml")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    config_path = args.config.resolve()
    args.out.mkdir(parents=True, exist_ok=True)

    home = Path(tempfile.mkdtemp(prefix="impact-screenshots-"))
    try:
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        ids = load_config(config_path).initiative_ids
        tags = {**partition_range_tags(ids), "impact/loop_id": new_loop_id()}

        with DagsterDevServer(home, config_path=config_path) as server:
            print(f"dagster dev ready in {server.ready_seconds:.1f} s at {server.url}")
            with PeakMemory(server) as memory:
                started = time.monotonic()
                run_id = server.launch_loop(tags)
                status = server.wait_for_run(run_id)
                loop_seconds = time.monotonic() - started
            print(f"impact_loop {status} in {loop_seconds:.1f} s (run {run_id})")
            print(f"server peak memory during the loop: {memory.peak_mib:.0f} MiB RSS")
            if status != "SUCCESS":
                print(f"the loop did not succeed; see {server.log_path}", file=sys.stderr)
                return 1
            server.graphql("mutation { setNuxSeen }")
            for path in take_screenshots(server, chromium, args.out):
                print(f"saved {path}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
