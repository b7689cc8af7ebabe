from datetime import date, datetime, timedelta

import polars as pl
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.generate import (
    CUSTOMER_COLUMNS,
    CUSTOMER_SEGMENTS,
    REGISTRATION_FIRST_DAY,
    REGISTRATION_LAST_DAY,
    TRANSACTION_COLUMNS,
    day_volume,
    generate_customers,
    generate_transactions,
)
from sales_analytics.core.products import products_frame

AS_OF = date(2026, 3, 31)
LOADED_AT = datetime(2026, 3, 31, 2, 0)


@pytest.fixture(scope="module")
def products() -> pl.DataFrame:
    return products_frame(offline_catalog(), extracted_at=LOADED_AT)


def customers(count: int = 200, seed: int = 42) -> pl.DataFrame:
    return generate_customers(count, seed=seed, as_of=AS_OF, loaded_at=LOADED_AT)


def transactions(customer_frame, products, total=1000, days=90, seed=42) -> pl.DataFrame:
    """`total` transactions over the `days` days before AS_OF."""
    return generate_transactions(
        AS_OF - timedelta(days=days),
        AS_OF,
        count=total,
        days=days,
        customer_ids=customer_frame["customer_id"],
        products=products,
        seed=seed,
        loaded_at=LOADED_AT,
    )


def test_customers_have_the_contract_columns_stable_ids_and_valid_values():
    frame = customers(250)
    assert frame.columns == list(CUSTOMER_COLUMNS)
    assert frame.height == 250
    assert frame["customer_id"].to_list() == [f"CUST-{n:06d}" for n in range(1, 251)]
    assert frame["email"].n_unique() == 250
    assert frame["email"].str.contains(r"^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$").all()
    assert set(frame["customer_segment"]) <= set(CUSTOMER_SEGMENTS)
    assert frame["registration_date"].min() >= REGISTRATION_FIRST_DAY
    assert frame["registration_date"].max() <= REGISTRATION_LAST_DAY < AS_OF
    assert frame.null_count().sum_horizontal().item() == 0


def test_customers_are_deterministic_for_a_seed_and_differ_across_seeds():
    assert customers(seed=7).equals(customers(seed=7))
    assert not customers(seed=7).equals(customers(seed=8))


def test_transactions_follow_the_contract(products):
    customer_frame = customers()
    frame = transactions(customer_frame, products)
    assert frame.columns == list(TRANSACTION_COLUMNS)
    assert frame.height == 1000
    assert frame["transaction_id"].n_unique() == 1000
    assert frame["quantity"].is_between(1, 5).all()
    expected_total = (frame["quantity"] * frame["unit_price"]).round(2)
    assert (frame["total_amount"] - expected_total).abs().max() < 0.005
    first_day = datetime.combine(AS_OF - timedelta(days=90), datetime.min.time())
    assert frame["transaction_date"].min() >= first_day
    assert frame["transaction_date"].max() < datetime.combine(AS_OF, datetime.min.time())
    assert frame.null_count().sum_horizontal().item() == 0


def test_transactions_reference_existing_customers_and_products_with_catalog_values(products):
    customer_frame = customers()
    frame = transactions(customer_frame, products)
    assert set(frame["customer_id"]) <= set(customer_frame["customer_id"])
    joined = frame.join(products, left_on="product_id", right_on="id", how="left")
    assert joined["title"].null_count() == 0
    assert (joined["product_title"] == joined["title"]).all()
    assert (joined["unit_price"] == joined["price"]).all()
    assert (joined["category"] == joined["category_right"]).all()


def test_every_customer_can_buy_not_only_the_first_two_hundred(products):
    customer_frame = customers(2000)
    frame = transactions(customer_frame, products, total=50_000)
    numbers = frame["customer_id"].str.slice(5).cast(pl.Int64)
    assert numbers.max() > 1900
    assert frame["customer_id"].n_unique() > 1900


def test_transactions_are_deterministic_per_seed_and_day(products):
    customer_frame = customers()
    first = transactions(customer_frame, products, seed=3)
    assert first.equals(transactions(customer_frame, products, seed=3))
    assert not first.equals(transactions(customer_frame, products, seed=4))
    # A longer history ending on the same day repeats the shared days' rows exactly.
    longer = transactions(customer_frame, products, total=2000, days=180, seed=3)
    last_day = first.filter(pl.col("transaction_date").dt.date() == AS_OF - timedelta(days=1))
    same_day = longer.filter(pl.col("transaction_date").dt.date() == AS_OF - timedelta(days=1))
    assert last_day.height == same_day.height
    assert last_day.equals(same_day)


def test_transactions_are_spread_over_every_day_of_the_history(products):
    frame = transactions(customers(), products, total=1000, days=90)
    per_day = frame.group_by(pl.col("transaction_date").dt.date()).len()
    assert per_day.height == 90
    assert set(per_day["len"]) == {11, 12}


@pytest.mark.parametrize(("count", "days"), [(1000, 90), (7, 3), (2, 5), (50_000, 30)])
def test_any_run_of_days_holds_exactly_the_rate(count, days):
    for first in (date(2026, 1, 1), date(2026, 2, 17)):
        volumes = [day_volume(first + timedelta(days=n), count, days) for n in range(days)]
        assert sum(volumes) == count
        assert max(volumes) - min(volumes) <= 1


@pytest.mark.parametrize("count", [0, -5])
def test_bad_volumes_are_rejected_with_the_setting_named(count, products):
    with pytest.raises(ValueError, match="customers must be a positive"):
        customers(count)
    with pytest.raises(ValueError, match="days must be a positive"):
        day_volume(AS_OF, 1000, count)
    with pytest.raises(ValueError, match="holds no day"):
        transactions(customers(), products, days=count)
    with pytest.raises(ValueError, match="transactions must not be negative, got -1"):
        day_volume(AS_OF, -1, 90)
