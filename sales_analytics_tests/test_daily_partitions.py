"""Daily partitions end to end on a temp warehouse: idempotent days, single-run backfills, each
day's own row count on its partition, the run's as-of date, incremental fct_transactions equal to a
full refresh, and `make daily`."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest

from sales_analytics.cli import daily
from sales_analytics.cli.run import partition_range_tags, warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.dbt.project import dbt_resource
from sales_analytics.defs.partitions import AS_OF_TAG
from sales_analytics_tests.conftest import use_test_warehouse

CUSTOMERS = dg.AssetKey(["raw", "customers"])
PRODUCTS = dg.AssetKey(["raw", "products"])
TRANSACTIONS = dg.AssetKey(["raw", "transactions"])
FCT = dg.AssetKey(["marts", "fct_transactions"])
DIM_CUSTOMERS = dg.AssetKey(["marts", "dim_customers"])
DAY_1, DAY_2, DAY_3 = date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)
# The end of the three days' window: the as-of date of a run of them.
AS_OF = date(2026, 1, 13)
ROW_COUNT = "dagster/row_count"


def expected_day_rows(day: date, count: int = 1000, days: int = 90) -> int:
    """The rows of `day` at a rate of `count` transactions every `days` days, as the rate is
    defined: the day's share of the running total floor(n * count / days) over day numbers n."""
    number = day.toordinal()
    return (number + 1) * count // days - number * count // days


HISTORY_START = "2026-01-01"


@pytest.fixture
def definitions(warehouse_path, monkeypatch) -> dg.Definitions:
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", HISTORY_START)
    return build_definitions(Settings.from_env())


@dataclass(frozen=True)
class Backfill:
    """The three days run once at the default rate into a fresh warehouse, and that warehouse."""

    result: dg.ExecuteInProcessResult
    warehouse: Path


@pytest.fixture(scope="module")
def three_day_backfill(tmp_path_factory: pytest.TempPathFactory) -> Backfill:
    """Shared by the tests that read it, and copied by those that go on from it: one run less."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        warehouse = use_test_warehouse(monkeypatch, tmp_path_factory.mktemp("three_days"))
        monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", HISTORY_START)
        result = run(build_definitions(Settings.from_env()), DAY_1, DAY_3)
    return Backfill(result, warehouse)


def run(
    definitions: dg.Definitions,
    first: date,
    last: date,
    *,
    selection: list[dg.AssetKey] | None = None,
    rate: tuple[int, int] | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the job over the days first..last (a single-run backfill of that range), with
    `rate` transactions (count, every days days) when given, else the default rate."""
    window = DayWindow(first, last + timedelta(days=1))
    job = definitions.resolve_job_def(SALES_ANALYTICS_JOB)
    config = warehouse_run_config(window)
    if rate is not None:
        count, days = rate
        config["ops"]["raw__transactions"]["config"].update(count=count, days=days)
    return job.execute_in_process(
        run_config=config,
        asset_selection=selection,
        tags={**partition_range_tags(window), **(tags or {})},
    )


def query(path, sql: str, params: list | None = None) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql, params or []).pl()


def day_rows(path, day: date) -> pl.DataFrame:
    return query(
        path,
        "select * from raw.transactions where cast(transaction_date as date) = ?"
        " order by transaction_id",
        [day],
    )


def materializations(
    result: dg.ExecuteInProcessResult, key: dg.AssetKey
) -> dict[str | None, dg.AssetMaterialization]:
    found: dict[str | None, dg.AssetMaterialization] = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key == key:
            materialization = event.event_specific_data.materialization
            assert materialization.partition not in found, "one materialization per partition"
            found[materialization.partition] = materialization
    return found


def partitions_materialized(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> set:
    return set(materializations(result, key))


def rows_per_day(path, table: str) -> dict[str, int]:
    counts = query(
        path,
        f"select cast(transaction_date as date) as day, count(*) as n from {table} group by 1",
    )
    return {day.isoformat(): n for day, n in counts.iter_rows()}


def test_a_day_materialized_twice_has_the_same_rows_once_and_other_days_stay(
    definitions, warehouse_path
) -> None:
    run(definitions, DAY_1, DAY_2, selection=[CUSTOMERS, PRODUCTS])
    run(definitions, DAY_1, DAY_2, selection=[TRANSACTIONS])
    first, neighbour = day_rows(warehouse_path, DAY_1), day_rows(warehouse_path, DAY_2)

    run(definitions, DAY_1, DAY_1, selection=[TRANSACTIONS])

    again = day_rows(warehouse_path, DAY_1)
    assert again.height == first.height == expected_day_rows(DAY_1)
    # The same rows; only the load time differs.
    assert again.drop("extracted_at").equals(first.drop("extracted_at"))
    assert again["extracted_at"].min() > first["extracted_at"].max()
    # The neighbouring day was not touched, not even reloaded.
    assert day_rows(warehouse_path, DAY_2).equals(neighbour)
    totals = query(
        warehouse_path,
        "select count(*) as n, count(distinct transaction_id) as d from raw.transactions",
    )
    assert totals.row(0) == (first.height + neighbour.height,) * 2


def test_a_three_day_backfill_is_one_run_of_raw_through_marts_with_every_check(
    definitions, three_day_backfill: Backfill
) -> None:
    result, warehouse_path = three_day_backfill.result, three_day_backfill.warehouse

    days = {DAY_1.isoformat(), DAY_2.isoformat(), DAY_3.isoformat()}
    # Every asset of the graph is daily-partitioned: each has each day of the run materialized,
    # those rebuilt whole (customers, dimensions, BI) as much as the daily ones.
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert partitions_materialized(result, key) == days, key.to_user_string()
    # One run, one step per definition: one dbt build for the three days.
    steps = [
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START
    ]
    assert steps.count("dbt_build") == 1
    checks = result.get_asset_check_evaluations()
    # The 34 dbt tests and the 24 raw checks.
    assert len(checks) == 34 + 24
    assert all(check.passed for check in checks)
    expected = sum(expected_day_rows(day) for day in (DAY_1, DAY_2, DAY_3))
    counts = query(
        warehouse_path,
        "select (select count(*) from raw.transactions) as raw,"
        " (select count(*) from marts.fct_transactions) as fct",
    )
    assert counts.row(0) == (expected, expected)
    # Customers' status is measured as of the end of the run's window.
    status_dates = query(
        warehouse_path, "select distinct status_as_of_date from marts.dim_customers"
    )
    assert status_dates["status_as_of_date"].to_list() == [AS_OF]


def test_each_days_materialization_carries_that_days_own_row_count(
    definitions, warehouse_path
) -> None:
    # A rate whose days differ from each other, so a run total or a neighbour's count would show.
    rate = (700, 30)
    result = run(definitions, DAY_1, DAY_3, rate=rate)

    expected = {day.isoformat(): expected_day_rows(day, *rate) for day in (DAY_1, DAY_2, DAY_3)}
    assert len(set(expected.values())) > 1
    for key, table in ((TRANSACTIONS, "raw.transactions"), (FCT, "marts.fct_transactions")):
        counts = {
            partition: materialization.metadata[ROW_COUNT].value
            for partition, materialization in materializations(result, key).items()
        }
        assert counts == expected, key.to_user_string()
        assert rows_per_day(warehouse_path, table) == expected, table


def test_the_as_of_tag_overrides_the_window_end(definitions, warehouse_path) -> None:
    override = DAY_1 - timedelta(days=20)

    result = run(definitions, DAY_1, DAY_3, tags={AS_OF_TAG: override.isoformat()})

    assert result.success
    status_dates = query(
        warehouse_path, "select distinct status_as_of_date from marts.dim_customers"
    )
    assert status_dates["status_as_of_date"].to_list() == [override]
    # The raw checks measured registrations against the same date: customers registered after
    # it are the rule's offending rows.
    after = query(
        warehouse_path,
        "select count(*) as n from raw.customers where registration_date > ?",
        [override],
    )["n"].item()
    (registrations,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "registration_dates_in_registration_span"
    ]
    assert registrations.metadata["offending_rows"].value == after
    assert registrations.passed == (after == 0)


def test_incremental_fct_transactions_equals_a_full_refresh(
    definitions, warehouse_path, three_day_backfill: Backfill
) -> None:
    # The three days built as `run(definitions, DAY_1, DAY_3)` builds them, in this test's file.
    assert three_day_backfill.result.success
    shutil.copytree(three_day_backfill.warehouse.parent, warehouse_path.parent)
    # Day 2 changes (a higher volume): the incremental run replaces that day only.
    with duckdb.connect(str(warehouse_path)) as connection:
        connection.execute(
            "update marts.fct_transactions set customer_name = 'kept' where transaction_date = ?",
            [DAY_1],
        )
    run(definitions, DAY_2, DAY_2, rate=(9000, 90))

    incremental = query(
        warehouse_path, "select * from marts.fct_transactions order by transaction_id"
    )
    # Day 1 was not rebuilt (the marker stays): the run rebuilt its own day only.
    day_1 = incremental.filter(pl.col("transaction_date") == DAY_1)
    assert (day_1["customer_name"] == "kept").all()
    assert incremental.filter(pl.col("transaction_date") == DAY_2).height == expected_day_rows(
        DAY_2, 9000, 90
    )

    dbt_resource().cli(["build", "--full-refresh", "--select", "fct_transactions"]).wait()
    full = query(warehouse_path, "select * from marts.fct_transactions order by transaction_id")

    def without_marker(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("transaction_date") != DAY_1)

    assert full.schema == incremental.schema
    assert full.height == incremental.height
    assert without_marker(full).equals(without_marker(incremental))
    assert full.filter(pl.col("transaction_date") == DAY_1)["customer_name"].ne("kept").all()


def test_make_run_backfills_the_total_and_make_daily_replaces_yesterday(
    warehouse_path, monkeypatch
) -> None:
    from sales_analytics.cli import run as make_run

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # The nightly volume matches the backfill's: 300 over 3 days is 100 a day.
    monkeypatch.setenv("SALES_ANALYTICS_TRANSACTIONS_PER_DAY", "100")
    assert make_run.main(["--days", "3", "--transactions", "300", "--customers", "50"]) == 0
    yesterday = datetime.now(ZoneInfo("UTC")).date() - timedelta(days=1)
    before = day_rows(warehouse_path, yesterday)
    assert query(warehouse_path, "select count(*) from raw.transactions").item() == 300

    assert daily.main() == 0

    after = day_rows(warehouse_path, yesterday)
    assert after.height == 100
    assert after.drop("extracted_at").equals(before.drop("extracted_at"))
    assert after["extracted_at"].min() > before["extracted_at"].max()
    counts = query(
        warehouse_path,
        "select (select count(*) from raw.transactions) as raw,"
        " (select count(*) from marts.fct_transactions) as fct",
    )
    assert counts.row(0) == (300, 300)
    # The nightly run is as of the tick's date: today, the end of yesterday's partition.
    today = yesterday + timedelta(days=1)
    status_dates = query(
        warehouse_path, "select distinct status_as_of_date from marts.dim_customers"
    )
    assert status_dates["status_as_of_date"].to_list() == [today]
