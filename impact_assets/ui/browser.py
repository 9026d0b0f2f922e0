"""Headless Chromium driven over the DevTools protocol: open a page, click, wait, screenshot.

Chromium's ``--screenshot`` flag cannot click. The Dagster UI shows a long
markdown value (such as an embedded chart) behind a "[Show Markdown]" button,
so pictures of it need a browser that can press that button first.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class HeadlessChromium:
    """One headless Chromium page, controlled through its DevTools websocket."""

    def __init__(self, chromium: str, width: int = 1400, height: int = 900):
        self.chromium = chromium
        self.width = width
        self.height = height
        self._ids = itertools.count(1)

    def __enter__(self) -> HeadlessChromium:
        from websockets.sync.client import connect  # installed with dagster-webserver

        self._profile = Path(tempfile.mkdtemp(prefix="impact-chromium-"))
        self.process = subprocess.Popen(
            [
                self.chromium,
                *HEADLESS_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError("headless chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        # as a context manager: the form websockets supports without deprecation
        self._connection = contextlib.ExitStack()
        self._socket = self._connection.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        )
        self.send("Page.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        if getattr(self, "_connection", None) is not None:
            self._connection.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        """Wait until a JavaScript expression is truthy in the page."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.25)
        raise TimeoutError(f"the page never satisfied: {expression}")

    def record_requests(
        self, url: str, settle: float = 3.0, timeout: float = 180
    ) -> list[dict[str, Any]]:
        """Open ``url`` and record the requests the page makes until none has been pending
        for ``settle`` seconds: ``method``, ``url``, ``post_data``, ``start`` and ``end``
        (seconds on the browser's clock; ``end`` None if it never finished) and
        ``bytes`` received."""
        self.send("Network.enable")
        navigate_id = next(self._ids)
        self._socket.send(
            json.dumps({"id": navigate_id, "method": "Page.navigate", "params": {"url": url}})
        )
        requests: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            pending = any(r["end"] is None for r in requests.values())
            if requests and not pending and time.monotonic() - quiet_since >= settle:
                break
            try:
                message = json.loads(self._socket.recv(timeout=0.25))
            except TimeoutError:
                continue
            method, params = message.get("method"), message.get("params", {})
            if method == "Network.requestWillBeSent":
                request = params["request"]
                requests[params["requestId"]] = {
                    "method": request["method"],
                    "url": request["url"],
                    "post_data": request.get("postData"),
                    "has_post_data": request.get("hasPostData", False),
                    "start": params["timestamp"],
                    "end": None,
                    "bytes": 0,
                }
            elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                recorded = requests.get(params["requestId"])
                if recorded is not None:
                    recorded["end"] = params["timestamp"]
                    recorded["bytes"] = params.get("encodedDataLength", 0)
                    quiet_since = time.monotonic()
        for request_id, recorded in requests.items():
            if recorded["has_post_data"] and recorded["post_data"] is None:
                with contextlib.suppress(RuntimeError):
                    answer = self.send("Network.getRequestPostData", requestId=request_id)
                    recorded["post_data"] = answer.get("postData")
        self.send("Network.disable")
        return list(requests.values())

    def screenshot(self, path: Path) -> None:
        """Save the visible page as a PNG."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
