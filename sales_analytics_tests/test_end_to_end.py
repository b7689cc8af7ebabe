"""The whole graph materialized into a temp warehouse in one run over 180 days, marts checked
against raw recomputed here, as of the end of the run's window."""

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from sales_analytics.cli.run import rebuild_warehouse
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings

AS_OF = date(2026, 3, 31)
CUSTOMERS, TRANSACTIONS, DAYS = 500, 1500, 180


@pytest.fixture(scope="module")
def built(module_warehouse_path):
    database = module_warehouse_path
    result, _ = rebuild_warehouse(
        Settings.from_env(),
        # The as-of date is the window's end: the day after its last partition.
        window=DayWindow(AS_OF - timedelta(days=DAYS), AS_OF),
        customers=CUSTOMERS,
        transactions=TRANSACTIONS,
        seed=11,
    )
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {
            name: connection.sql(f"select * from {name}").pl()
            for name in (
                "raw.customers",
                "raw.products",
                "raw.transactions",
                "marts.dim_customers",
                "marts.dim_products",
                "marts.fct_transactions",
            )
        }
        views = {
            row[0]
            for row in connection.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
                " where table_type = 'VIEW'"
            ).fetchall()
        }
    return result, tables, views


def cents(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(column).cast(pl.Float64).round(2) for column in columns)


def test_the_run_succeeds_with_every_check_passing(built):
    result, _, _ = built
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    dbt_evaluations = [e for e in evaluations if e.asset_key.path[0] in ("staging", "marts")]
    # The seed's 31 tests, the registration test and dim_products' catalog_status values.
    assert len(dbt_evaluations) == 33
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_raw_and_mart_row_counts(built):
    _, tables, views = built
    counts = {name: frame.height for name, frame in tables.items()}
    assert counts == {
        "raw.customers": CUSTOMERS,
        "raw.products": 20,
        "raw.transactions": TRANSACTIONS,
        "marts.dim_customers": CUSTOMERS,
        "marts.dim_products": 20,
        "marts.fct_transactions": TRANSACTIONS,
    }
    assert views == {"staging.stg_customers", "staging.stg_products", "staging.stg_transactions"}


def test_customer_lifetime_value_and_orders_match_raw(built):
    _, tables, _ = built
    expected = (
        tables["raw.transactions"]
        .group_by("customer_id")
        .agg(
            total_orders=pl.len(),
            lifetime_value=pl.col("total_amount").sum(),
            last_order_date=pl.col("transaction_date").max().dt.date(),
        )
    )
    actual = tables["marts.dim_customers"].join(
        expected, on="customer_id", how="left", suffix="_raw"
    )
    actual = cents(actual, "lifetime_value", "lifetime_value_raw")
    assert (actual["total_orders"] == actual["total_orders_raw"].fill_null(0)).all()
    assert (actual["lifetime_value"] == actual["lifetime_value_raw"].fill_null(0.0)).all()


def test_customer_status_and_frequency_follow_the_as_of_date(built):
    _, tables, _ = built
    dim = tables["marts.dim_customers"]
    days_since = dim["last_order_date"].map_elements(
        lambda day: (AS_OF - day).days if day else None, return_dtype=pl.Int64
    )
    expected_status = [
        "Never Purchased"
        if days is None
        else "Active"
        if days <= 30
        else "At Risk"
        if days <= 90
        else "Churned"
        for days in days_since
    ]
    assert dim["customer_status"].to_list() == expected_status
    assert set(expected_status) == {"Active", "At Risk", "Churned", "Never Purchased"}
    expected_frequency = [
        "Never Purchased"
        if n == 0
        else "One Time"
        if n == 1
        else "Occasional"
        if n <= 5
        else "Frequent"
        for n in dim["total_orders"]
    ]
    assert dim["purchase_frequency"].to_list() == expected_frequency
    assert set(expected_frequency) == {"Never Purchased", "One Time", "Occasional", "Frequent"}
    assert set(dim["status_as_of_date"]) == {AS_OF}


def test_product_revenue_and_units_match_raw(built):
    _, tables, _ = built
    expected = (
        tables["raw.transactions"]
        .group_by("product_id")
        .agg(units=pl.col("quantity").sum(), revenue=pl.col("total_amount").sum())
        .rename({"product_id": "id"})
    )
    joined = cents(
        tables["marts.dim_products"].join(expected, left_on="product_id", right_on="id"),
        "total_revenue",
        "revenue",
    )
    assert joined.height == 20
    assert (joined["total_units_sold"] == joined["units"]).all()
    assert (joined["total_revenue"] == joined["revenue"]).all()


def test_fact_profit_dates_and_names_are_derived_from_raw(built):
    _, tables, _ = built
    raw = tables["raw.transactions"].select(
        "transaction_id", "transaction_date", "quantity", "unit_price", "total_amount"
    )
    fact = tables["marts.fct_transactions"].join(raw, on="transaction_id", suffix="_raw")
    exact_profit = fact["total_amount_raw"] - fact["quantity_raw"] * fact["unit_price_raw"] * 0.7
    assert (fact["estimated_profit"].cast(pl.Float64) - exact_profit).abs().max() < 0.0051
    assert (fact["transaction_timestamp"] == fact["transaction_date_raw"]).all()
    assert (fact["transaction_date"] == fact["transaction_date_raw"].dt.date()).all()
    assert fact["customer_name"].null_count() == 0
    assert fact["product_name"].null_count() == 0
    assert fact.columns.count("transaction_date") == 1


def test_dbt_materializations_carry_row_counts(built):
    result, tables, _ = built
    counts: dict[str, dict[str, int]] = {}
    for m in result.asset_materializations_for_node("dbt_build"):
        counts.setdefault(m.asset_key.to_user_string(), {})[m.partition] = m.metadata[
            "dagster/row_count"
        ].value
    days = {(AS_OF - timedelta(days=n)).isoformat() for n in range(1, DAYS + 1)}
    # Each day of fct_transactions carries that day's rows; the models rebuilt whole carry the
    # table's rows on each day of the run.
    per_day = tables["marts.fct_transactions"].group_by("transaction_date").agg(n=pl.len())
    expected = dict.fromkeys(days, 0) | {day.isoformat(): n for day, n in per_day.iter_rows()}
    assert counts["marts/fct_transactions"] == expected
    assert sum(expected.values()) == TRANSACTIONS
    assert counts["marts/dim_customers"] == dict.fromkeys(days, CUSTOMERS)
    assert counts["staging/stg_products"] == dict.fromkeys(days, 20)
