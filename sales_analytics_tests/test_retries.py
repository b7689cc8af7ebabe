"""Retries: the raw (extraction) assets are retried as configured, dbt and checks are not, and a
failed extraction that succeeds on its retry leaves a successful run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from sales_analytics.defs.raw import assets as raw
from sales_analytics.core.catalog import offline_catalog
from sales_analytics.definitions import defs
from sales_analytics.defs.automation.jobs import DBT_OP, SALES_ANALYTICS_JOB
from sales_analytics.defs.raw.retries import extraction_retry_policy
from sales_analytics_tests.conftest import LocalServer, json_response, raw_response

RAW_OPS = {"raw__customers", "raw__products", "raw__transactions"}
CUSTOMERS = dg.AssetKey(["raw", "customers"])
PRODUCTS = dg.AssetKey(["raw", "products"])


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
    monkeypatch.delenv("SALES_ANALYTICS_RETRY_COUNT")

    policies = _retry_policies(monkeypatch, "1", "300")

    assert policies["raw__products"] == dg.RetryPolicy(max_retries=1, delay=300.0)


def test_retried_assets_keep_their_definition(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", "0")
    plain = defs().resolve_asset_graph()
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", "3")
    retried = defs().resolve_asset_graph()

    for table in ("customers", "products", "transactions"):
        key = dg.AssetKey(["raw", table])
        before, after = plain.get(key), retried.get(key)
        assert after.description == before.description
        assert after.group_name == before.group_name == "raw"
        assert after.owners == before.owners
        assert after.kinds == before.kinds
        assert after.parent_keys == before.parent_keys
    raw_transactions = dg.AssetKey(["raw", "transactions"])
    assert retried.get(raw_transactions).parent_keys == {CUSTOMERS, PRODUCTS}
    assert (
        retried.get(raw_transactions).partitions_def == plain.get(raw_transactions).partitions_def
    )


def _run(
    monkeypatch: pytest.MonkeyPatch, key: dg.AssetKey, retries: int
) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", str(retries))
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_DELAY_SECONDS", "0.1")
    job = defs().resolve_job_def(SALES_ANALYTICS_JOB)
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=[key], raise_on_error=False
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
