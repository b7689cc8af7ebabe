"""Daily partitions end to end on a temp warehouse: idempotent days, single-run backfills,
incremental fct_transactions equal to a full refresh, and `make daily`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest

from sales_analytics.cli import daily
from sales_analytics.definitions import build_definitions
from sales_analytics.core.generate import day_volume
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB, warehouse_run_config
from sales_analytics.defs.partitions import DayWindow
from sales_analytics.defs.dbt.project import dbt_cli_resource
from sales_analytics.cli.run import partition_range_tags
from sales_analytics.core.settings import Settings

CUSTOMERS = dg.AssetKey(["raw", "customers"])
PRODUCTS = dg.AssetKey(["raw", "products"])
TRANSACTIONS = dg.AssetKey(["raw", "transactions"])
FCT = dg.AssetKey(["marts", "fct_transactions"])
DAY_1, DAY_2, DAY_3 = date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)
AS_OF = date(2026, 1, 13)


@pytest.fixture
def definitions(warehouse_path, monkeypatch) -> dg.Definitions:
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", "2026-01-01")
    return build_definitions(Settings.from_env())


def run(
    definitions: dg.Definitions,
    first: date,
    last: date,
    *,
    selection: list[dg.AssetKey] | None = None,
    **volume: int,
) -> dg.ExecuteInProcessResult:
    """One run of the job over the days first..last (a single-run backfill of that range)."""
    job = definitions.resolve_job_def(SALES_ANALYTICS_JOB)
    config = None if selection else warehouse_run_config(as_of=AS_OF, **volume)
    return job.execute_in_process(
        run_config=config,
        asset_selection=selection,
        tags=partition_range_tags(DayWindow(first, last + timedelta(days=1))),
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


def partitions_materialized(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> set:
    return {
        event.event_specific_data.materialization.partition
        for event in result.get_asset_materialization_events()
        if event.asset_key == key
    }


def test_a_day_materialized_twice_has_the_same_rows_once_and_other_days_stay(
    definitions, warehouse_path
) -> None:
    job = definitions.resolve_job_def(SALES_ANALYTICS_JOB)
    job.execute_in_process(asset_selection=[CUSTOMERS, PRODUCTS])
    run(definitions, DAY_1, DAY_2, selection=[TRANSACTIONS])
    first, neighbour = day_rows(warehouse_path, DAY_1), day_rows(warehouse_path, DAY_2)

    run(definitions, DAY_1, DAY_1, selection=[TRANSACTIONS])

    again = day_rows(warehouse_path, DAY_1)
    assert again.height == first.height == day_volume(DAY_1, 1000, 90)
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
    definitions, warehouse_path
) -> None:
    result = run(definitions, DAY_1, DAY_3)

    days = {DAY_1.isoformat(), DAY_2.isoformat(), DAY_3.isoformat()}
    assert partitions_materialized(result, TRANSACTIONS) == days
    assert partitions_materialized(result, FCT) == days
    # Unpartitioned assets of the run are materialized whole, without a partition.
    assert partitions_materialized(result, dg.AssetKey(["marts", "dim_customers"])) == {None}
    checks = result.get_asset_check_evaluations()
    # The 34 dbt tests, the 24 raw checks and the marts' 3 freshness checks.
    assert len(checks) == 34 + 24 + 3
    assert all(check.passed for check in checks)
    expected = sum(day_volume(day, 1000, 90) for day in (DAY_1, DAY_2, DAY_3))
    counts = query(
        warehouse_path,
        "select (select count(*) from raw.transactions) as raw,"
        " (select count(*) from marts.fct_transactions) as fct",
    )
    assert counts.row(0) == (expected, expected)


def test_incremental_fct_transactions_equals_a_full_refresh(definitions, warehouse_path) -> None:
    run(definitions, DAY_1, DAY_3)
    # Day 2 changes (a higher volume): the incremental run replaces that day only.
    with duckdb.connect(str(warehouse_path)) as connection:
        connection.execute(
            "update marts.fct_transactions set customer_name = 'kept' where transaction_date = ?",
            [DAY_1],
        )
    run(definitions, DAY_2, DAY_2, transactions=9000, days=90)

    incremental = query(
        warehouse_path, "select * from marts.fct_transactions order by transaction_id"
    )
    # Day 1 was not rebuilt (the marker stays): the run rebuilt its own day only.
    day_1 = incremental.filter(pl.col("transaction_date") == DAY_1)
    assert (day_1["customer_name"] == "kept").all()
    assert incremental.filter(pl.col("transaction_date") == DAY_2).height == day_volume(
        DAY_2, 9000, 90
    )

    dbt_cli_resource().cli(["build", "--full-refresh", "--select", "fct_transactions"]).wait()
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
