"""A catalog that changes between nightly runs (issue 13, point 7): a local Fake Store-compatible
server on 127.0.0.1 serves one catalog for the backfill, then another (one product retired, one
price changed, one added). Every run succeeds; earlier transactions keep their product and price,
new ones use the new price; dim_products lists every product with the right status, and the
append-only product history holds each version once."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import polars as pl
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.settings import Settings
from sales_analytics_tests.conftest import LocalServer, json_response

AS_OF = date(2026, 3, 31)
HISTORY = 10
RETIRED, REPRICED, ADDED = 2, 3, 7
NEW_PRICE = 49.99


def launch(kind: str, *, first_day: date, end_day: date) -> dg.ExecuteInProcessResult:
    """The project's two launchers, kept in one place: `make run`'s backfill of the days
    first_day..end_day ("backfill"), and the nightly job for one day's partition ("nightly");
    either runs as of end_day."""
    from sales_analytics.cli.run import definitions_covering, rebuild_warehouse
    from sales_analytics.core.days import DayWindow
    from sales_analytics.defs.automation.jobs import NIGHTLY_JOB

    settings = Settings.from_env()
    window = DayWindow(first_day, end_day)
    if kind == "backfill":
        result, _ = rebuild_warehouse(
            settings, window=window, customers=60, transactions=300, seed=3
        )
        return result
    assert window.days == 1, "a nightly run is one day"
    history = DayWindow(AS_OF - timedelta(days=HISTORY), end_day)
    nightly = definitions_covering(settings, history).resolve_job_def(NIGHTLY_JOB)
    return nightly.execute_in_process(partition_key=first_day.isoformat(), raise_on_error=False)


def catalog_before() -> list[dict]:
    return [product for product in offline_catalog() if product["id"] <= 6]


def catalog_after() -> list[dict]:
    products = [dict(product) for product in catalog_before() if product["id"] != RETIRED]
    for product in products:
        if product["id"] == REPRICED:
            product["price"] = NEW_PRICE
    added = next(product for product in offline_catalog() if product["id"] == ADDED)
    return [*products, added]


def query(path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(sql).pl()


def assert_succeeded(result: dg.ExecuteInProcessResult) -> None:
    assert result.success
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []


@pytest.fixture
def three_runs(warehouse_path, local_server: LocalServer, monkeypatch):
    """Backfill with the first catalog, then two nightly runs with the second one; the facts
    as they were after the backfill."""
    monkeypatch.setenv("SALES_ANALYTICS_PRODUCTS_URL", local_server.url)
    monkeypatch.delenv("SALES_ANALYTICS_OFFLINE", raising=False)
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", "0")
    monkeypatch.setenv("SALES_ANALYTICS_TRANSACTIONS_PER_DAY", "80")
    first_day = AS_OF - timedelta(days=HISTORY)

    local_server.respond(json_response(catalog_before()))
    backfill = launch("backfill", first_day=first_day, end_day=AS_OF)
    assert_succeeded(backfill)
    facts_before = query(warehouse_path, "select * from marts.fct_transactions")

    local_server.respond(json_response(catalog_after()))
    nights = [
        launch("nightly", first_day=day, end_day=day + timedelta(days=1))
        for day in (AS_OF, AS_OF + timedelta(days=1))
    ]
    for night in nights:
        assert_succeeded(night)
    return facts_before


def earlier_transactions_keep_their_product_and_price(facts_before, warehouse_path) -> None:
    assert facts_before.filter(pl.col("product_id") == RETIRED).height > 0
    assert facts_before.filter(pl.col("product_id") == REPRICED).height > 0

    facts_after = query(warehouse_path, "select * from marts.fct_transactions")
    kept = facts_after.join(facts_before, on="transaction_id", how="inner", suffix="_before")

    assert kept.height == facts_before.height
    for column in ("product_id", "unit_price", "total_amount", "product_name"):
        assert (kept[column] == kept[f"{column}_before"]).all(), column


def new_transactions_use_the_new_catalog_and_price(warehouse_path) -> None:
    nightly_days = [AS_OF, AS_OF + timedelta(days=1)]
    new = query(warehouse_path, "select * from marts.fct_transactions").filter(
        pl.col("transaction_date").is_in(nightly_days)
    )
    assert new.height == 2 * 80
    served = {product["id"] for product in catalog_after()}
    assert set(new["product_id"]) <= served
    repriced = new.filter(pl.col("product_id") == REPRICED)
    assert repriced.height > 0
    assert (repriced["unit_price"].cast(pl.Float64) == NEW_PRICE).all()
    assert new.filter(pl.col("product_id") == ADDED).height > 0


def dim_products_lists_every_product_ever_served_with_its_status(warehouse_path) -> None:
    dim = query(warehouse_path, "select * from marts.dim_products order by product_id")
    ever = {product["id"] for product in catalog_before()} | {ADDED}
    assert set(dim["product_id"]) == ever
    status = dict(zip(dim["product_id"], dim["catalog_status"], strict=True))
    assert status == {pid: "Retired" if pid == RETIRED else "Available" for pid in ever}
    prices = dict(zip(dim["product_id"], dim["unit_price"].cast(pl.Float64), strict=True))
    assert prices[REPRICED] == NEW_PRICE
    # Sales of the retired product stay counted: recomputed from the raw rows.
    raw = query(warehouse_path, "select product_id, total_amount from raw.transactions")
    revenue = raw.group_by("product_id").agg(pl.col("total_amount").sum().round(2))
    expected = dict(zip(revenue["product_id"], revenue["total_amount"], strict=True))
    actual = dict(zip(dim["product_id"], dim["total_revenue"].cast(pl.Float64), strict=True))
    assert actual == {pid: expected.get(pid, 0.0) for pid in ever}


def the_history_holds_each_version_once(warehouse_path) -> None:
    history = query(
        warehouse_path,
        "select product_id, unit_price, catalog_status, valid_from from history.product_history"
        " order by product_id, valid_from",
    )
    versions = history.group_by("product_id").agg(
        pl.col("catalog_status"), pl.col("unit_price").cast(pl.Float64)
    )
    by_id = {row["product_id"]: row for row in versions.iter_rows(named=True)}
    old_price = next(p["price"] for p in catalog_before() if p["id"] == REPRICED)
    assert by_id[RETIRED]["catalog_status"] == ["Available", "Retired"]
    assert by_id[REPRICED]["unit_price"] == [old_price, NEW_PRICE]
    assert by_id[ADDED]["catalog_status"] == ["Available"]
    # Six products first, then a price, a retirement and an addition; the second night, with
    # the same catalog, added nothing.
    assert history.height == 6 + 3


def test_a_catalog_change_between_nightly_runs_keeps_history_and_every_run_succeeds(
    three_runs, warehouse_path
) -> None:
    # One test over the three runs (about 40 s together); each part names what it asserts.
    earlier_transactions_keep_their_product_and_price(three_runs, warehouse_path)
    new_transactions_use_the_new_catalog_and_price(warehouse_path)
    dim_products_lists_every_product_ever_served_with_its_status(warehouse_path)
    the_history_holds_each_version_once(warehouse_path)
