"""One real run of the whole graph (raw -> dbt -> BI) per test session, in a temp folder.

The BI tests read what that run wrote; those that need another run materialize only the BI
assets against its warehouse, which is fast because the marts are already built.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sales_analytics.cli.run import definitions_covering, rebuild_warehouse
from sales_analytics.core import settings
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings

AS_OF = date(2026, 1, 31)
BI_ASSET_KEYS = [
    dg.AssetKey(["bi", "serving_copy"]),
    dg.AssetKey(["bi", "parquet_exports"]),
    dg.AssetKey(["bi", "dashboard"]),
]


@dataclass(frozen=True)
class BiRun:
    env: dict[str, str]
    warehouse: Path
    serving_copy: Path
    parquet_dir: Path
    dashboard: Path
    result: dg.ExecuteInProcessResult

    def connect_warehouse(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


def run_env(root: Path) -> dict[str, str]:
    return {
        settings.DUCKDB_PATH: str(root / "warehouse" / "sales_analytics.duckdb"),
        settings.BI_PATH: str(root / "serving" / "sales_analytics_bi.duckdb"),
        settings.PARQUET_DIR: str(root / "serving" / "parquet"),
        settings.DASHBOARD_PATH: str(root / "dashboard" / "index.html"),
        settings.OFFLINE: "1",
    }


def apply_env(patch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        patch.setenv(name, value)
    for name in (settings.PRODUCTS_URL, settings.TIMEZONE):
        patch.delenv(name, raising=False)


SESSION_WINDOW = DayWindow(AS_OF - timedelta(days=90), AS_OF)


def materialize(
    selection: list[dg.AssetKey] | None = None, **resource_overrides: object
) -> dg.ExecuteInProcessResult:
    """Without arguments, the whole graph over the session's 90 days as `make run` runs it;
    with a selection, those assets for the session's last day (a nightly run's partition), with
    the project's resources, reading the settings from the environment now."""
    settings = Settings.from_env()
    if selection is None and not resource_overrides:
        result, _ = rebuild_warehouse(settings, window=SESSION_WINDOW)
        return result
    definitions = definitions_covering(settings, SESSION_WINDOW)
    return dg.materialize(
        assets=list(definitions.assets or []),
        resources={**definitions.resources, **resource_overrides},
        selection=selection,
        partition_key=(AS_OF - timedelta(days=1)).isoformat(),
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def bi_run(tmp_path_factory: pytest.TempPathFactory) -> BiRun:
    root = tmp_path_factory.mktemp("bi_run")
    env = run_env(root)
    with pytest.MonkeyPatch.context() as patch:
        apply_env(patch, env)
        result = materialize()
    assert result.success, "the session's full run failed"
    return BiRun(
        env=env,
        warehouse=Path(env[settings.DUCKDB_PATH]),
        serving_copy=Path(env[settings.BI_PATH]),
        parquet_dir=Path(env[settings.PARQUET_DIR]),
        dashboard=Path(env[settings.DASHBOARD_PATH]),
        result=result,
    )


@pytest.fixture
def bi_env(bi_run: BiRun, monkeypatch: pytest.MonkeyPatch) -> Iterator[BiRun]:
    """The session run's settings in the environment, for a test that runs the BI assets again."""
    apply_env(monkeypatch, bi_run.env)
    yield bi_run


CLIENT_SCRIPT = Path(__file__).with_name("duckdb_client.py")


class DuckdbClient:
    """A duckdb_client.py process; talks one JSON line at a time."""

    def __init__(self, *arguments: str, python: str = sys.executable) -> None:
        self.process = subprocess.Popen(
            [python, str(CLIENT_SCRIPT), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"client exited: {self.process.stderr.read()}")
        return json.loads(line)

    def send_line(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DuckdbClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
