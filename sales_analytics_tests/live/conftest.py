"""Fixtures for tests that drive Dagster's own servers (see servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sales_analytics_tests.live.servers import DagsterServers, dagster_dev


@pytest.fixture(scope="module")
def dagster_dev_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterServers]:
    """One `dagster dev` for the module (starting it costs ~30 s), loaded and with healthy
    daemons; its warehouse and DAGSTER_HOME in a fresh folder."""
    with dagster_dev(tmp_path_factory.mktemp("dagster_dev")) as servers:
        servers.client.wait_for_daemons(timeout=120)
        yield servers
