"""Headless Chromium driven through the Chrome DevTools Protocol over a websocket.

Python only (the `websockets` package): no driver binary, no browser download. The browser is
started with a throw-away profile and a DevTools port chosen by Chromium itself.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
# Points the tests at another Chromium or Chrome binary (a path); one that is missing counts as
# no browser at all.
CHROMIUM_OVERRIDE = "SALES_ANALYTICS_CHROMIUM"
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
)
STARTUP_SECONDS = 30.0


class CdpError(RuntimeError):
    """Chromium answered a DevTools command with an error, or never answered."""


def find_chromium() -> str | None:
    override = os.environ.get(CHROMIUM_OVERRIDE)
    if override:
        return shutil.which(override)
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass
class Page:
    """One tab, attached through a flat session of the browser's websocket."""

    browser: Browser
    session_id: str

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session_id=self.session_id)

    def evaluate(self, expression: str) -> Any:
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            message = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"page raised: {message}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30.0) -> Any:
        """Polls `expression` until it is truthy and returns its value; an exception (the page
        still loading) counts as not yet."""
        deadline = time.monotonic() + timeout
        last_error: CdpError | None = None
        while True:
            try:
                value = self.evaluate(expression)
            except CdpError as error:
                value, last_error = None, error
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"still false after {timeout:.0f}s: {expression}"
                    + (f" (last error: {last_error})" if last_error else "")
                )
            time.sleep(0.05)

    def screenshot(self, path: Path) -> Path:
        answer = self.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(answer["data"]))
        return path

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.browser.events
            if event.get("sessionId") == self.session_id
            and event.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        errors = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session_id:
                continue
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                errors.append(details.get("exception", {}).get("description") or details["text"])
            elif (
                event.get("method") == "Log.entryAdded"
                and event["params"]["entry"]["level"] == "error"
            ):
                errors.append(event["params"]["entry"]["text"])
        return errors


@dataclass
class Browser:
    process: subprocess.Popen
    socket: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    _next_id: int = 0

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"no answer to {method} within {timeout:.0f}s")
            answer = json.loads(self.socket.recv(timeout=remaining))
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise CdpError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(browser=self, session_id=attached["sessionId"])
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        return page


def devtools_websocket(profile: Path, process: subprocess.Popen) -> str:
    """Chromium writes the port it picked, and the browser's websocket path, into the profile."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CdpError(f"Chromium exited during start-up with code {process.returncode}")
        lines = marker.read_text().splitlines() if marker.exists() else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        time.sleep(0.05)
    raise CdpError(f"Chromium did not open its DevTools port within {STARTUP_SECONDS:.0f}s")


@contextmanager
def headless_chromium(executable: str, profile: Path, log: Path) -> Iterator[Browser]:
    profile.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [executable, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            with connect(
                devtools_websocket(profile, process), max_size=None, open_timeout=STARTUP_SECONDS
            ) as socket:
                browser = Browser(process=process, socket=socket)
                try:
                    yield browser
                finally:
                    # A browser that will not close politely is ended with its group below.
                    with suppress(CdpError, OSError, TimeoutError):
                        browser.send("Browser.close", timeout=5)
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """Chromium's helper processes share the group started for it; end that group only."""
    for stop_signal in (None, signal.SIGTERM, signal.SIGKILL):
        if stop_signal is not None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, stop_signal)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
        break
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # helpers that outlived the browser process
