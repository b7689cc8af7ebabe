"""Customers that hold up: registration dates that never move and never follow a purchase,
names that rarely repeat, and addresses of real US places (issue 13, points 1-3)."""

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.generate import (
    REGISTRATION_FIRST_DAY,
    REGISTRATION_LAST_DAY,
    generate_customers,
    generate_day_transactions,
    generate_transactions,
)
from sales_analytics.core.products import products_frame
from sales_analytics.core.us_places import US_PLACES, US_STATES

LOADED_AT = datetime(2026, 3, 31, 2, 0)


@pytest.fixture(scope="module")
def products() -> pl.DataFrame:
    return products_frame(offline_catalog(), extracted_at=LOADED_AT)


def customers(count: int, *, as_of: date = date(2026, 3, 31), seed: int = 42) -> pl.DataFrame:
    return generate_customers(count, seed=seed, as_of=as_of, loaded_at=LOADED_AT)


def test_a_customers_registration_date_does_not_depend_on_the_as_of_date_or_the_count() -> None:
    # What "Materialize all" of an old day does: customers again, for another as-of date.
    today = customers(300, as_of=date(2026, 3, 31))
    old_day = customers(500, as_of=date(2026, 1, 2))
    shared = old_day.head(300)
    assert shared["registration_date"].equals(today["registration_date"])
    # Every other attribute stays too: a customer depends on the seed and its number only.
    assert shared.drop("created_at").equals(today.drop("created_at"))


def test_registrations_spread_over_the_whole_span() -> None:
    dates = customers(5000)["registration_date"]
    assert dates.min() >= REGISTRATION_FIRST_DAY
    assert dates.max() <= REGISTRATION_LAST_DAY
    # Uniform over 730 days: every quarter of the span holds about a quarter of them.
    quarter = (REGISTRATION_LAST_DAY - REGISTRATION_FIRST_DAY) / 4
    for n in range(4):
        start = REGISTRATION_FIRST_DAY + quarter * n
        share = dates.is_between(start, start + quarter, closed="left").mean()
        assert 0.2 < share < 0.3


def test_no_transaction_predates_its_customer_even_while_customers_are_registering(
    products,
) -> None:
    # A history that starts before most customers registered.
    customer_frame = customers(400)
    first_day, end_day = date(2024, 3, 1), date(2026, 3, 1)
    frame = generate_transactions(
        first_day,
        end_day,
        count=20_000,
        days=730,
        customer_ids=customer_frame["customer_id"],
        products=products,
        seed=5,
        loaded_at=LOADED_AT,
    )
    joined = frame.join(customer_frame, on="customer_id", how="left")
    assert joined["registration_date"].null_count() == 0
    assert (joined["transaction_date"].dt.date() >= joined["registration_date"]).all()
    # Late registrants buy too: the eligible set grows over time, it is not a fixed prefix.
    last_registered = customer_frame.sort("registration_date").tail(20)["customer_id"]
    assert frame.filter(pl.col("customer_id").is_in(last_registered.to_list())).height > 0


def test_a_day_before_any_registration_cannot_have_transactions(products) -> None:
    customer_frame = customers(50)
    first = customer_frame["registration_date"].min()
    inputs = {
        "customer_ids": customer_frame["customer_id"],
        "products": products,
        "seed": 1,
        "loaded_at": LOADED_AT,
    }
    message = f"no customer has registered by .*first registration is {first}"
    with pytest.raises(ValueError, match=message):
        generate_day_transactions(first - timedelta(days=1), 3, **inputs)
    # No rows asked for is fine (the schema of an empty day).
    assert generate_day_transactions(first - timedelta(days=1), 0, **inputs).height == 0
    day = generate_day_transactions(first, 3, **inputs)
    assert set(day["customer_id"]) <= set(
        customer_frame.filter(pl.col("registration_date") <= first)["customer_id"]
    )


def test_a_days_draw_does_not_depend_on_the_order_of_the_customer_ids(products) -> None:
    ids = customers(300)["customer_id"]
    inputs = {"products": products, "seed": 9, "loaded_at": LOADED_AT}
    day = date(2026, 2, 1)
    assert generate_day_transactions(day, 40, customer_ids=ids, **inputs).equals(
        generate_day_transactions(day, 40, customer_ids=ids.reverse(), **inputs)
    )


def test_malformed_customer_ids_are_named(products) -> None:
    with pytest.raises(ValueError, match="customer IDs must look like CUST-000001, got 'C-7'"):
        generate_day_transactions(
            date(2026, 2, 1),
            1,
            customer_ids=pl.Series(["CUST-000001", "C-7"]),
            products=products,
            seed=1,
            loaded_at=LOADED_AT,
        )


def test_few_full_names_repeat() -> None:
    frame = customers(200)
    full_names = frame.select(pl.concat_str("first_name", "last_name", separator=" ")).to_series()
    # Independent first and last names from 1,000 each: about 200 * 199 / 2 / 1e6 collisions
    # expected at random, and the Faker pools repeat common names, so allow a few.
    assert full_names.n_unique() >= 195


def test_city_state_and_zip_are_one_real_place_in_the_50_states_and_dc() -> None:
    frame = customers(5000)
    places = set(US_PLACES)
    rows = set(frame.select("city", "state", "zip_code").iter_rows())
    assert rows <= places
    assert set(frame["state"]) <= set(US_STATES)
    # Draws cover the table: every state and DC appears among 5,000 customers.
    assert set(frame["state"]) == set(US_STATES)


def test_the_place_table_covers_exactly_the_50_states_and_dc() -> None:
    assert len(US_STATES) == len(set(US_STATES)) == 51
    assert {state for _, state, _ in US_PLACES} == set(US_STATES)
    assert len(set(US_PLACES)) == len(US_PLACES)
    assert all(len(zip_code) == 5 and zip_code.isdigit() for _, _, zip_code in US_PLACES)
