"""Retries: the raw (extraction) assets are retried as configured, dbt and checks are not, and a
failed extraction that succeeds on its retry leaves a successful run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.definitions import defs
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.raw import assets as raw
from sales_analytics.defs.raw.assets import build_raw_assets, extraction_retry_policy
from sales_analytics_tests.conftest import LocalServer, json_response, raw_response

RAW_OPS = {"raw__customers", "raw__products", "raw__transactions"}
DBT_OP = "dbt_build"
CUSTOMERS = dg.AssetKey(["raw", "customers"])
PRODUCTS = dg.AssetKey(["raw", "products"])
HISTORY_START = "2026-01-01"
PARTITION = "2026-01-05"


def test_policy_from_settings() -> None:
    assert extraction_retry_policy(0, 300) is None
    assert extraction_retry_policy(2, 0.5) == dg.RetryPolicy(max_retries=2, delay=0.5)


def _retry_policies(monkeypatch: pytest.MonkeyPatch, count: str, delay: str) -> dict[str, object]:
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", count)
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_DELAY_SECONDS", delay)
    job = defs().resolve_job_def(SALES_ANALYTICS_JOB)
    return {name: node.definition.retry_policy for name, node in job.graph.node_dict.items()}


def test_only_the_extraction_assets_are_retried(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = _retry_policies(monkeypatch, "2", "7")

    retried = {name for name, policy in policies.items() if policy is not None}
    assert retried == RAW_OPS
    assert {policies[name] for name in RAW_OPS} == {dg.RetryPolicy(max_retries=2, delay=7.0)}
    assert policies[DBT_OP] is None


def test_defaults_retry_once_after_five_minutes(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test warehouse switches retries off; the defaults apply once the variables are unset.
    monkeypatch.delenv("SALES_ANALYTICS_RETRY_COUNT")
    monkeypatch.delenv("SALES_ANALYTICS_RETRY_DELAY_SECONDS", raising=False)
    job = defs().resolve_job_def(SALES_ANALYTICS_JOB)

    policies = {name: node.definition.retry_policy for name, node in job.graph.node_dict.items()}

    assert policies["raw__products"] == dg.RetryPolicy(max_retries=1, delay=300.0)


def test_the_retry_policy_is_stated_on_each_raw_asset_where_it_is_defined() -> None:
    first_day = date.fromisoformat(HISTORY_START)
    retried = build_raw_assets(first_day, "UTC", 3, 0.5)
    plain = build_raw_assets(first_day, "UTC", 0, 0.5)

    for assets_def in retried:
        # The policy is the op's own, not added by rewriting the asset afterwards.
        assert assets_def.op.retry_policy == dg.RetryPolicy(max_retries=3, delay=0.5)
    assert [assets_def.op.retry_policy for assets_def in plain] == [None, None, None]
    for before, after in zip(plain, retried, strict=True):
        assert after.op.name == before.op.name
        assert after.keys == before.keys
        (spec_before,), (spec_after,) = before.specs, after.specs
        assert spec_after.description == spec_before.description
        assert spec_after.group_name == spec_before.group_name == "raw"
        assert spec_after.owners == spec_before.owners
        assert spec_after.kinds == spec_before.kinds
        assert spec_after.partitions_def == spec_before.partitions_def
    # Settings read at load time give the same definitions for the same values.
    assert build_raw_assets(first_day, "UTC", 3, 0.5) is retried


def _run(
    monkeypatch: pytest.MonkeyPatch, key: dg.AssetKey, retries: int
) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", str(retries))
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_DELAY_SECONDS", "0.1")
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", HISTORY_START)
    job = defs().resolve_job_def(SALES_ANALYTICS_JOB)
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[key],
        partition_key=PARTITION,
        raise_on_error=False,
    )


def _retried_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        event.step_key
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]


def _fail_once(function):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the disk was busy")
        return function(*args, **kwargs)

    return flaky


def test_a_failed_extraction_is_retried_and_the_run_succeeds(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raw, "generate_customers", _fail_once(raw.generate_customers))

    result = _run(monkeypatch, CUSTOMERS, retries=1)

    assert result.success
    assert _retried_steps(result) == ["raw__customers"]
    assert len(result.asset_materializations_for_node("raw__customers")) == 1


def test_without_retries_the_failed_extraction_fails_the_run(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raw, "generate_customers", _fail_once(raw.generate_customers))

    result = _run(monkeypatch, CUSTOMERS, retries=0)

    assert not result.success
    assert _retried_steps(result) == []


def test_bad_api_data_is_not_retried(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch, local_server: LocalServer
) -> None:
    # An outage is handled by the client (retries, then the offline catalog); an answer that is
    # not a product list is an error of the API that a second call would only fetch again.
    local_server.respond(raw_response(b"<html>oops</html>"), json_response(offline_catalog()))
    monkeypatch.setenv("SALES_ANALYTICS_OFFLINE", "0")
    monkeypatch.setenv("SALES_ANALYTICS_PRODUCTS_URL", local_server.url)

    result = _run(monkeypatch, PRODUCTS, retries=3)

    assert not result.success
    assert _retried_steps(result) == []
    assert len(local_server.requests) == 1
