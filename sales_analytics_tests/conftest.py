"""Shared fixtures: a prepared dbt manifest, a temp warehouse, and a real local HTTP server."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# How the suite is spread over xdist's workers and ordered (slowest modules first).
pytest_plugins = ["sales_analytics_tests.scheduling"]


def pytest_sessionstart(session: pytest.Session) -> None:
    # @dbt_assets reads the manifest when sales_analytics is imported, i.e. at collection.
    from sales_analytics.defs.dbt.project import prepare_manifest

    prepare_manifest()


def use_test_warehouse(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Point the project at a warehouse file in `folder` (and its BI outputs beside it), offline,
    with no webhook (a developer's real one must never receive test alerts), no retries (a
    failing step fails at once) and an ephemeral Dagster instance (runs stay out of the project's
    DAGSTER_HOME)."""
    path = folder / "warehouse" / "sales_analytics.duckdb"
    monkeypatch.setenv("SALES_ANALYTICS_DUCKDB_PATH", str(path))
    monkeypatch.setenv(
        "SALES_ANALYTICS_BI_PATH", str(folder / "serving" / "sales_analytics_bi.duckdb")
    )
    monkeypatch.setenv("SALES_ANALYTICS_PARQUET_DIR", str(folder / "serving" / "parquet"))
    monkeypatch.setenv("SALES_ANALYTICS_DASHBOARD_PATH", str(folder / "dashboard" / "index.html"))
    monkeypatch.setenv("SALES_ANALYTICS_OFFLINE", "1")
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", "0")
    for name in (
        "SALES_ANALYTICS_PRODUCTS_URL",
        "SALES_ANALYTICS_TIMEZONE",
        "SALES_ANALYTICS_WEBHOOK_URL",
        "SALES_ANALYTICS_UI_URL",
        "SALES_ANALYTICS_RETRY_DELAY_SECONDS",
        "SALES_ANALYTICS_FRESHNESS_HOURS",
        "SALES_ANALYTICS_HISTORY_START",
        "SALES_ANALYTICS_TRANSACTIONS_PER_DAY",
        "SALES_ANALYTICS_LOCK_TIMEOUT_SECONDS",
        # A developer's Spark settings must not move the DuckDB tests onto Spark.
        "SALES_ANALYTICS_WAREHOUSE",
        "SALES_ANALYTICS_LAKE_PATH",
        "SALES_ANALYTICS_SPARK_REMOTE",
        "DAGSTER_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh warehouse file for the test; dbt sees it through the same env var as Dagster."""
    return use_test_warehouse(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def module_warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Like warehouse_path, for a module that builds its data once and shares it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield use_test_warehouse(monkeypatch, tmp_path_factory.mktemp("module"))


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 answering each request with the next queued handler
    (the last one repeats), recording every request it received."""

    url: str
    handlers: list[Handler] = field(default_factory=list)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    def respond(self, *handlers: Handler) -> None:
        self.handlers[:] = handlers


def json_response(payload: object, status: int = 200) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        body = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


def raw_response(body: bytes, status: int = 200, content_type: str = "text/html") -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or hang up mid-answer are what the fault tests provoke.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serving_locally() -> Iterator[LocalServer]:
    """A LocalServer on a free 127.0.0.1 port, shut down on exit."""
    server_state = LocalServer(url="")

    class RequestHandler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server_state.requests.append((self.command, self.path, body))
            index = min(len(server_state.requests), len(server_state.handlers)) - 1
            server_state.handlers[index](self)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), RequestHandler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with serving_locally() as server:
        yield server
