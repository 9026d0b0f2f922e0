"""Time the GraphQL queries the UI makes for an asset's page, on an instance holding a loop.

    python benchmarks/ui_graphql.py --home DAGSTER_HOME --config CONFIG
                                    [--pages pilot_results pilot_results?view=partitions]
                                    [--repeats 3]

Starts ``dagster dev`` on ``--home`` (an instance a loop recorded into, such as one
``loop_scale.py --keep DIR`` left), opens each page in headless Chromium and records
every GraphQL request the page makes until the page has made none for 3 s. Each
recorded query is then sent again ``--repeats`` times, alone, and timed.

Columns: ``page``; ``operation`` (the query's name); ``browser ms``: from the request
to the end of its answer while the page loaded (the first load: Dagster computes and
caches the partition status of the asset then); ``again ms``: the median of the
repeats (the cache warm); ``KB``: the answer's size. A last row per page gives the
page's load: from opening it to its last GraphQL answer. Needs Chromium.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from impact_assets.ui.browser import HeadlessChromium, find_chromium  # noqa: E402
from impact_assets.ui.server import DagsterDevServer  # noqa: E402


def post(url: str, body: bytes) -> tuple[float, int]:
    """Seconds and bytes of one GraphQL POST."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        size = len(answer.read())
    return time.perf_counter() - start, size


def operation_name(post_data: str | None) -> str:
    try:
        return json.loads(post_data or "{}").get("operationName") or "(unnamed)"
    except ValueError:
        return "(not JSON)"


def measure_page(server: DagsterDevServer, browser: HeadlessChromium, page: str, repeats: int):
    requests = browser.record_requests(f"{server.url}/assets/{page}")
    graphql = [
        r for r in requests if r["url"].split("?")[0].endswith("/graphql") and r["post_data"]
    ]
    rows = []
    for recorded in graphql:
        body = recorded["post_data"].encode()
        again = [post(f"{server.url}/graphql", body) for _ in range(repeats)]
        rows.append(
            {
                "page": page,
                "operation": operation_name(recorded["post_data"]),
                "browser ms": 1000 * (recorded["end"] - recorded["start"])
                if recorded["end"]
                else float("nan"),
                "again ms": 1000 * statistics.median(seconds for seconds, _ in again),
                "KB": again[0][1] / 1024,
            }
        )
    if graphql:
        first = min(r["start"] for r in requests)
        last = max(r["end"] or r["start"] for r in graphql)
        rows.append(
            {
                "page": page,
                "operation": "(page: open to last answer)",
                "browser ms": 1000 * (last - first),
                "again ms": float("nan"),
                "KB": sum(r["bytes"] for r in graphql) / 1024,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="DAGSTER_HOME holding a loop")
    parser.add_argument("--config", type=Path, help="the loop's config (for the sensors)")
    parser.add_argument(
        "--pages",
        nargs="+",
        default=["pilot_results", "pilot_results?view=partitions", "allocation"],
        help="asset pages, relative to /assets/",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium found (apt-get install chromium)")
    rows = []
    with DagsterDevServer(args.home, args.config, log_path=args.home / "ui-bench.log") as server:
        print(f"dagster dev answered after {server.ready_seconds:.1f} s", flush=True)
        with HeadlessChromium(chromium) as browser:
            for page in args.pages:
                for row in measure_page(server, browser, page, args.repeats):
                    rows.append(row)
                    print(
                        f"{row['page']:<32} {row['operation']:<44} {row['browser ms']:>10.0f} "
                        f"{row['again ms']:>9.0f} {row['KB']:>8.1f}",
                        flush=True,
                    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
