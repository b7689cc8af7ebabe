"""`dagster dev` as a user starts it (no venv on PATH) loads the project's code location, and its
GraphQL API shows the asset graph the definitions build."""

from __future__ import annotations

from pathlib import Path

import pytest

from sales_analytics.core.settings import Settings
from sales_analytics.definitions import build_definitions
from sales_analytics_tests.conftest import use_test_warehouse
from sales_analytics_tests.live.instance import VENV_BIN
from sales_analytics_tests.live.processes import pids_with_environment
from sales_analytics_tests.live.servers import dagster_dev


def expected_graph(folder: Path) -> tuple[set[str], set[str]]:
    """Asset keys and schedule names of the definitions built in this process from the
    settings the servers get."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_test_warehouse(monkeypatch, folder)
        definitions = build_definitions(Settings.from_env())
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    schedules = {schedule.name for schedule in definitions.schedules or []}
    return keys, schedules


def test_dagster_dev_serves_the_asset_graph_without_the_venv_on_path(tmp_path: Path) -> None:
    keys, schedules = expected_graph(tmp_path)
    with dagster_dev(tmp_path) as servers:
        assert str(VENV_BIN) not in servers.env["PATH"].split(":")
        assert set(servers.client.asset_keys()) == keys
        assert set(servers.client.schedule_names()) == schedules
        home = str(servers.home)
    # dagster dev's webserver, daemon and code server are all gone.
    assert pids_with_environment("DAGSTER_HOME", home) == []
