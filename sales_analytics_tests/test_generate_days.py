"""Transactions as a pure function of (seed, day, volume): per-day volume and range generation."""

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.generate import (
    TRANSACTION_COLUMNS,
    day_volume,
    generate_customers,
    generate_day_transactions,
    generate_transactions,
)
from sales_analytics.core.products import products_frame

LOADED_AT = datetime(2026, 3, 1, 12, 0)
SEED = 42


@pytest.fixture(scope="module")
def inputs() -> dict:
    customers = generate_customers(300, seed=SEED, as_of=date(2026, 3, 1), loaded_at=LOADED_AT)
    products = products_frame(offline_catalog(), extracted_at=LOADED_AT)
    return {
        "customer_ids": customers["customer_id"],
        "products": products.select("id", "title", "category", "price"),
        "seed": SEED,
        "loaded_at": LOADED_AT,
    }


@pytest.mark.parametrize("count, days", [(1000, 90), (10_000_000, 90), (7, 30), (50_000, 30)])
def test_any_window_of_days_days_holds_exactly_count(count: int, days: int) -> None:
    for start in (date(2025, 12, 31), date(2026, 1, 1), date(2026, 2, 17)):
        window = [start + timedelta(days=offset) for offset in range(days)]
        assert sum(day_volume(day, count, days) for day in window) == count


def test_the_default_rate_is_about_eleven_a_day() -> None:
    volumes = {day_volume(date(2026, 1, 1) + timedelta(days=n), 1000, 90) for n in range(90)}
    assert volumes == {11, 12}


def test_day_volume_rejects_a_rate_over_no_days() -> None:
    with pytest.raises(ValueError, match="days"):
        day_volume(date(2026, 1, 1), 10, 0)


def test_a_day_is_the_same_whenever_and_within_whichever_range_it_is_generated(inputs) -> None:
    day = date(2026, 1, 2)
    alone = generate_transactions(day, day + timedelta(days=1), count=1000, days=90, **inputs)
    in_range = generate_transactions(
        date(2026, 1, 1), date(2026, 1, 4), count=1000, days=90, **inputs
    )
    again = generate_day_transactions(day, day_volume(day, 1000, 90), **inputs)

    assert alone.equals(again)
    assert in_range.filter(pl.col("transaction_date").dt.date() == day).equals(alone)


def test_a_range_has_each_days_volume_unique_ids_and_the_raw_columns(inputs) -> None:
    start, end = date(2026, 1, 1), date(2026, 1, 11)
    frame = generate_transactions(start, end, count=50_000, days=30, **inputs)

    per_day = frame.group_by(pl.col("transaction_date").dt.date().alias("day")).len()
    expected = {start + timedelta(days=n): None for n in range(10)}
    assert dict(per_day.iter_rows()) == {day: day_volume(day, 50_000, 30) for day in expected}
    assert frame["transaction_id"].is_unique().all()
    assert tuple(frame.columns) == TRANSACTION_COLUMNS
    assert frame["transaction_date"].dt.date().is_between(start, end, closed="left").all()


def test_days_without_transactions_keep_the_schema(inputs) -> None:
    # 7 transactions every 30 days: most days get none.
    frame = generate_transactions(date(2026, 1, 1), date(2026, 1, 3), count=7, days=30, **inputs)
    empty = generate_day_transactions(date(2026, 1, 1), 0, **inputs)

    assert empty.height == 0
    assert empty.schema == frame.schema


def test_an_empty_range_is_an_error(inputs) -> None:
    with pytest.raises(ValueError, match="holds no day"):
        generate_transactions(date(2026, 1, 2), date(2026, 1, 2), count=10, days=1, **inputs)


def test_customers_at_scale_sample_a_small_faker_pool() -> None:
    # Faker fills a pool of at most 1,000 people; rows are drawn from it with NumPy, so 100k
    # customers cost array work (and their IDs and emails stay unique).
    frame = generate_customers(100_000, seed=SEED, as_of=date(2026, 3, 1), loaded_at=LOADED_AT)

    assert frame.height == 100_000
    assert frame["customer_id"].is_unique().all()
    assert frame["email"].is_unique().all()
    distinct = frame.select(pl.col("first_name", "last_name", "city").n_unique()).row(0)
    assert max(distinct) <= 1000
