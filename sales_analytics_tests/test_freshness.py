"""Freshness of the marts: a time-window freshness policy on each mart (the API that supersedes
freshness checks and their sensor), failing once SALES_ANALYTICS_FRESHNESS_HOURS pass without a
rebuild; nothing else carries one, and no freshness check or sensor is left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from sales_analytics.definitions import defs

MARTS = {
    dg.AssetKey(["marts", name]) for name in ("dim_customers", "dim_products", "fct_transactions")
}


def freshness_policies(graph) -> dict[dg.AssetKey, object]:
    return {
        key: graph.get(key).freshness_policy
        for key in graph.get_all_asset_keys()
        if graph.get(key).freshness_policy is not None
    }


def test_each_mart_and_nothing_else_fails_after_the_default_26_hours(warehouse_path: Path) -> None:
    policies = freshness_policies(defs().resolve_asset_graph())

    assert set(policies) == MARTS
    expected = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
    for key, policy in policies.items():
        assert policy == expected, key


@pytest.mark.parametrize("hours", ["30", "0.5"])
def test_the_fail_window_is_the_freshness_setting(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch, hours: str
) -> None:
    monkeypatch.setenv("SALES_ANALYTICS_FRESHNESS_HOURS", hours)

    policies = freshness_policies(defs().resolve_asset_graph())

    expected = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=float(hours)))
    assert set(policies) == MARTS
    assert all(policy == expected for policy in policies.values())


def test_no_freshness_check_or_sensor_remains(warehouse_path: Path) -> None:
    definitions = defs()
    graph = definitions.resolve_asset_graph()

    assert not [key for key in graph.asset_check_keys if "freshness" in key.name]
    assert not [sensor.name for sensor in definitions.sensors or [] if "freshness" in sensor.name]
