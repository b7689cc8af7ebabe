"""Every launch a Dagster user makes builds exactly what was selected, through a real `dagster dev`
(webserver and daemon) driven by the GraphQL API the UI uses: "Materialize all" over a range of
days, a backfill of raw/transactions and everything downstream, one partition from the
launchpad, and the nightly schedule's tick. Each is one run; its days of raw.transactions and
marts.fct_transactions are (re)written and no others; its checks ran; an alert reached a local
webhook.

The expected rows of a day come from the generator's rate as the design states it (any `days`
consecutive days hold `count` transactions, each day floor((n+1)c/d) - floor(nc/d)), recomputed
here, not read from the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from sales_analytics_tests.conftest import LocalServer, json_response, serving_locally
from sales_analytics_tests.live.graphql import DagsterGraphQL, Run
from sales_analytics_tests.live.servers import DagsterServers, dagster_dev

DEFAULT_COUNT, DEFAULT_DAYS = 1000, 90
RUN_TIMEOUT = 600
RAW_CHECK = "raw/transactions"
DBT_TEST_ON_FACT = "unique_fct_transactions_transaction_id"


def expected_rows(day: date, count: int = DEFAULT_COUNT, days: int = DEFAULT_DAYS) -> int:
    number = day.toordinal()
    return (number + 1) * count // days - number * count // days


class Warehouse:
    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def rows_per_day(self, table: str, column: str) -> dict[str, int]:
        return {
            day.isoformat(): rows
            for day, rows in self.query(
                f"select cast({column} as date), count(*) from {table} group by 1"
            )
        }

    def loads_per_day(self) -> dict[str, datetime]:
        """When each day of raw.transactions was written (its rows' extracted_at)."""
        return {
            day.isoformat(): loaded
            for day, loaded in self.query(
                "select cast(transaction_date as date), max(extracted_at)"
                " from raw.transactions group by 1"
            )
        }


@pytest.fixture(scope="module")
def webhook() -> Iterator[LocalServer]:
    with serving_locally() as server:
        server.respond(json_response({"ok": True}))
        yield server


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, webhook: LocalServer
) -> Iterator[DagsterServers]:
    folder = tmp_path_factory.mktemp("launches")
    with dagster_dev(folder, env_overrides={"SALES_ANALYTICS_WEBHOOK_URL": webhook.url}) as running:
        running.client.wait_for_daemons(timeout=180)
        yield running


@pytest.fixture(scope="module")
def warehouse(servers: DagsterServers) -> Warehouse:
    return Warehouse(Path(servers.env["SALES_ANALYTICS_DUCKDB_PATH"]))


@pytest.fixture(scope="module")
def days(servers: DagsterServers) -> list[str]:
    """The daily partitions, oldest first; every asset shares them."""
    return servers.client.partition_keys("raw/transactions")


@pytest.fixture(scope="module")
def alerted_runs() -> dict[str, str]:
    """The launches whose alert the last test waits for, by name: the run-status sensor ticks
    every ~30 s, so the next launch goes ahead while the alerts of the earlier ones arrive."""
    return {}


def only_run(client: DagsterGraphQL, backfill_id: str) -> Run:
    backfill, runs = client.wait_for_backfill(backfill_id, timeout=RUN_TIMEOUT)
    assert backfill.status == "COMPLETED_SUCCESS", backfill
    assert len(runs) == 1, f"expected one run for the range, got {[run.run_id for run in runs]}"
    (run,) = runs
    assert run.status == "SUCCESS"
    return run


def alerts_for(webhook: LocalServer, run_id: str) -> list[str]:
    return [
        body.decode()
        for method, _, body in webhook.requests
        if method == "POST" and run_id in body.decode()
    ]


def wait_for_alert(client: DagsterGraphQL, webhook: LocalServer, run_id: str) -> str:
    """The alert the daemon's run-status sensor posted for the run (it ticks every ~30 s)."""
    found = client.wait_for(
        f"the alert of run {run_id}", lambda: alerts_for(webhook, run_id), timeout=180
    )
    return found[0]


def assert_days_built(warehouse: Warehouse, built: list[str]) -> None:
    raw = warehouse.rows_per_day("raw.transactions", "transaction_date")
    fact = warehouse.rows_per_day("marts.fct_transactions", "transaction_date")
    for day in built:
        assert raw.get(day) == expected_rows(date.fromisoformat(day)), day
        assert fact.get(day) == raw.get(day), day


def test_materialize_all_over_three_days_is_one_run_of_exactly_those_days(
    servers: DagsterServers, warehouse: Warehouse, days: list[str], alerted_runs: dict[str, str]
) -> None:
    client = servers.client
    chosen = days[-3:]
    run = only_run(client, client.launch_backfill(partition_names=chosen))
    assert run.partition_range == (chosen[0], chosen[-1])

    assert sorted(warehouse.rows_per_day("raw.transactions", "transaction_date")) == chosen
    assert sorted(warehouse.rows_per_day("marts.fct_transactions", "transaction_date")) == chosen
    assert_days_built(warehouse, chosen)

    events = client.run_events(run.run_id)
    # One materialization per selected asset and day, raw to BI; each day of raw.transactions
    # carries that day's own row count.
    materialized = {(m.asset_key, m.partition) for m in events.materializations}
    assert materialized == {(key, day) for key in client.asset_keys() for day in chosen}
    for materialization in events.materializations:
        if materialization.asset_key in ("raw/transactions", "marts/fct_transactions"):
            day = date.fromisoformat(materialization.partition)
            assert materialization.metadata["dagster/row_count"] == expected_rows(day)
    # Every check of every asset ran, the dbt tests on the fact among them, and passed.
    evaluated = {(e.asset_key, e.check_name): e.success for e in events.check_evaluations}
    expected_checks = {
        (asset, name) for asset, names in client.asset_checks().items() for name in names
    }
    assert set(evaluated) == expected_checks
    assert ("marts/fct_transactions", DBT_TEST_ON_FACT) in evaluated
    assert all(evaluated.values()), [check for check, ok in evaluated.items() if not ok]
    alerted_runs["materialize all"] = run.run_id


def test_a_backfill_of_transactions_and_downstream_rewrites_only_its_days(
    servers: DagsterServers, warehouse: Warehouse, days: list[str], alerted_runs: dict[str, str]
) -> None:
    client = servers.client
    before = warehouse.loads_per_day()
    assert before, "runs after the Materialize-all test"
    chosen = days[-6:-3]
    downstream = [
        key for key in client.asset_keys() if key not in ("raw/customers", "raw/products")
    ]
    run = only_run(
        client, client.launch_backfill(partition_names=chosen, asset_selection=downstream)
    )

    after = warehouse.loads_per_day()
    assert sorted(after) == sorted([*before, *chosen])
    assert {day: after[day] for day in before} == before, "other days must be untouched"
    assert_days_built(warehouse, chosen)
    events = client.run_events(run.run_id)
    assert {m.asset_key for m in events.materializations} == set(downstream)
    assert {m.partition for m in events.materializations} == set(chosen)
    checked = {(e.asset_key, e.check_name) for e in events.check_evaluations}
    assert ("marts/fct_transactions", DBT_TEST_ON_FACT) in checked
    assert not any(asset == "raw/customers" for asset, _ in checked)
    alerted_runs["backfill"] = run.run_id


def test_one_partition_from_the_launchpad_rewrites_that_day(
    servers: DagsterServers, warehouse: Warehouse, days: list[str]
) -> None:
    client = servers.client
    before = warehouse.loads_per_day()
    day = days[-2]
    run = client.wait_for_run(
        client.launch_run("sales_analytics_job", partition_key=day), timeout=RUN_TIMEOUT
    )
    assert run.status == "SUCCESS"
    after = warehouse.loads_per_day()
    assert after[day] > before[day]
    assert {d: t for d, t in after.items() if d != day} == {
        d: t for d, t in before.items() if d != day
    }
    assert_days_built(warehouse, [day])


def test_the_schedule_tick_runs_yesterday_under_the_daemon(
    servers: DagsterServers, warehouse: Warehouse, days: list[str], alerted_runs: dict[str, str]
) -> None:
    client = servers.client
    assert client.schedule_status("nightly_warehouse_rebuild") == "RUNNING"
    today = date.fromisoformat(days[-1]) + timedelta(days=1)
    tick = datetime(today.year, today.month, today.day, 2, 0, tzinfo=UTC).timestamp()
    evaluation = client.schedule_dry_run("nightly_warehouse_rebuild", tick)
    (request,) = evaluation.run_requests
    assert request.tags["dagster/partition"] == days[-1]
    before = warehouse.loads_per_day()
    run_id = client.launch_requested_run(
        request, default_job=client.schedule_job_name("nightly_warehouse_rebuild")
    )
    # Queued, then dequeued and executed by the daemon.
    run = client.wait_for_run(run_id, timeout=RUN_TIMEOUT)
    assert (run.status, run.job_name) == ("SUCCESS", "nightly_job")
    after = warehouse.loads_per_day()
    assert after[days[-1]] > before[days[-1]]
    assert {d: t for d, t in after.items() if d != days[-1]} == {
        d: t for d, t in before.items() if d != days[-1]
    }
    materialized = {m.asset_key for m in client.run_events(run_id).materializations}
    assert "raw/customers" not in materialized
    assert {"raw/products", "raw/transactions", "marts/fct_transactions"} <= materialized
    alerted_runs["schedule tick"] = run_id


def test_the_code_location_has_the_project_name(servers: DagsterServers) -> None:
    location, _repository = servers.client.location
    assert location == "sales_analytics"


def freshness(client: DagsterGraphQL, key: str) -> tuple[int | None, str | None]:
    data = client.execute(
        """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
             ... on AssetNode {
               freshnessPolicy: internalFreshnessPolicy {
                 ... on TimeWindowFreshnessPolicy { failWindowSeconds } }
               freshnessStatusInfo { freshnessStatus } } } }""",
        {"key": {"path": key.split("/")}},
    )
    node = data["assetNodeOrError"]
    policy = node.get("freshnessPolicy") or {}
    status = node.get("freshnessStatusInfo") or {}
    return policy.get("failWindowSeconds"), status.get("freshnessStatus")


def test_the_daemon_evaluates_the_marts_freshness_policy(servers: DagsterServers) -> None:
    client = servers.client
    for mart in ("marts/dim_customers", "marts/dim_products", "marts/fct_transactions"):
        window, _ = freshness(client, mart)
        assert window == 26 * 3600
        # Built by the runs above, within the window: the freshness daemon marks it healthy.
        client.wait_for(
            f"{mart} evaluated fresh",
            lambda mart=mart: freshness(client, mart)[1] == "HEALTHY",
            timeout=120,
        )


def test_every_launch_alerted_the_webhook(
    servers: DagsterServers, webhook: LocalServer, alerted_runs: dict[str, str]
) -> None:
    # Last: the runs launched above, one alert each, posted by the daemon's run-status sensor.
    assert set(alerted_runs) == {"materialize all", "backfill", "schedule tick"}, (
        "a launch test above failed before its run finished"
    )
    for launch, run_id in alerted_runs.items():
        alert = json.loads(wait_for_alert(servers.client, webhook, run_id))
        assert run_id in json.dumps(alert), launch
