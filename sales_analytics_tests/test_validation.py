"""The raw data rules over generated frames, without Dagster: good data passes every rule, and
each kind of damage fails exactly the rules it should, with the right counts and keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import duckdb
import polars as pl
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.generate import generate_customers, generate_transactions
from sales_analytics.core.products import products_frame
from sales_analytics.core.validation import (
    RULES_BY_TABLE,
    SAMPLE_SIZE,
    TABLES,
    Violations,
    evaluate_rules,
    expectations_for,
    raw_relations,
    violations_in_frames,
)

AS_OF = date(2026, 3, 31)
NOW = datetime(2026, 3, 31, 9, 30)
LOADED_AT = datetime(2026, 3, 31, 2, 0)
CUSTOMERS = 200
TRANSACTIONS = 1_000
DAYS = 90
HISTORY_START = AS_OF - timedelta(days=DAYS)

Frames = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def good() -> Frames:
    customers = generate_customers(CUSTOMERS, seed=7, as_of=AS_OF, loaded_at=LOADED_AT)
    products = products_frame(offline_catalog(), extracted_at=LOADED_AT)
    transactions = generate_transactions(
        HISTORY_START,
        AS_OF,
        count=TRANSACTIONS,
        days=DAYS,
        customer_ids=customers["customer_id"],
        products=products,
        seed=7,
        loaded_at=LOADED_AT,
    )
    return {"customers": customers, "products": products, "transactions": transactions}


EXPECTATIONS = expectations_for(
    now=NOW,
    customers_as_of=AS_OF,
    history_start=HISTORY_START,
    written_days=(HISTORY_START, AS_OF),
    customers_requested=CUSTOMERS,
    transactions_requested=TRANSACTIONS,
)


def failures(frames: Frames) -> dict[str, Violations]:
    return {
        name: violations
        for name, violations in violations_in_frames(frames, EXPECTATIONS).items()
        if not violations.passed
    }


def where(column: str, *values: object) -> pl.Expr:
    return pl.col(column).is_in(list(values))


def replace(frame: pl.DataFrame, condition: pl.Expr, **columns: object) -> pl.DataFrame:
    """`frame` with `columns` set to the given values (or expressions) on rows matching
    `condition`."""
    return frame.with_columns(
        **{
            name: pl.when(condition)
            .then(value if isinstance(value, pl.Expr) else pl.lit(value))
            .otherwise(pl.col(name))
            for name, value in columns.items()
        }
    )


def test_every_rule_passes_on_generated_data(good: Frames) -> None:
    results = violations_in_frames(good, EXPECTATIONS)
    assert set(results) == {rule.name for table in TABLES for rule in RULES_BY_TABLE[table]}
    assert len(results) == 24
    assert failures(good) == {}


def test_blocking_rules_are_keys_references_and_money() -> None:
    blocking = {rule.name for table in TABLES for rule in RULES_BY_TABLE[table] if rule.blocking}
    assert blocking == {
        "customer_ids_unique_and_not_null",
        "product_ids_unique_and_not_null",
        "transaction_ids_unique_and_not_null",
        "transaction_totals_match_quantity_times_price",
        "transactions_reference_customers",
        "transactions_reference_products",
        "transactions_not_before_customer_registration",
    }


def txn(frames: Frames, position: int) -> str:
    return frames["transactions"]["transaction_id"][position]


Damage = Callable[[Frames], Frames]


def _with(frames: Frames, **tables: pl.DataFrame) -> Frames:
    return {**frames, **tables}


def duplicate_customers(frames: Frames) -> Frames:
    customers = frames["customers"]
    extra = customers.filter(where("customer_id", "CUST-000007", "CUST-000042"))
    return _with(frames, customers=pl.concat([customers, extra]))


def null_transaction_id(frames: Frames) -> Frames:
    transactions = frames["transactions"]
    condition = pl.col("transaction_id") == txn(frames, 10)
    return _with(frames, transactions=replace(transactions, condition, transaction_id=None))


def orphan_transactions(frames: Frames) -> Frames:
    condition = where("transaction_id", txn(frames, 1), txn(frames, 2), txn(frames, 3))
    return _with(
        frames, transactions=replace(frames["transactions"], condition, customer_id="CUST-999999")
    )


def unknown_product(frames: Frames) -> Frames:
    condition = where("transaction_id", txn(frames, 4), txn(frames, 5))
    return _with(frames, transactions=replace(frames["transactions"], condition, product_id=99))


def wrong_totals(frames: Frames) -> Frames:
    transactions = frames["transactions"]
    off_by_a_cent = where("transaction_id", txn(frames, 20), txn(frames, 21))
    within_a_cent = pl.col("transaction_id") == txn(frames, 22)
    transactions = replace(transactions, off_by_a_cent, total_amount=pl.col("total_amount") + 0.01)
    transactions = replace(transactions, within_a_cent, total_amount=pl.col("total_amount") + 0.004)
    return _with(frames, transactions=transactions)


def null_total(frames: Frames) -> Frames:
    condition = pl.col("transaction_id") == txn(frames, 30)
    return _with(frames, transactions=replace(frames["transactions"], condition, total_amount=None))


def null_email(frames: Frames) -> Frames:
    condition = pl.col("customer_id") == "CUST-000010"
    return _with(frames, customers=replace(frames["customers"], condition, email=None))


def quantities_out_of_range(frames: Frames) -> Frames:
    transactions = frames["transactions"]
    # Totals follow the quantity, so only the quantity rule is broken.
    for position, quantity in ((40, 0), (41, 9)):
        transactions = replace(
            transactions,
            pl.col("transaction_id") == txn(frames, position),
            quantity=quantity,
            total_amount=(pl.col("unit_price") * quantity).round(2),
        )
    return _with(frames, transactions=transactions)


def bad_segment_and_old_registration(frames: Frames) -> Frames:
    customers = replace(
        frames["customers"], pl.col("customer_id") == "CUST-000011", customer_segment="Diamond"
    )
    customers = replace(
        customers,
        pl.col("customer_id") == "CUST-000012",
        registration_date=date(2023, 12, 31),  # before the generator's span
    )
    return _with(frames, customers=customers)


def registered_after_buying(frames: Frames) -> Frames:
    """Two transactions' customers registered the day after the purchase (later in the span)."""
    transactions = frames["transactions"]
    late = transactions.filter(pl.col("transaction_date") >= datetime(2026, 1, 2))[
        "transaction_id"
    ].head(2)
    buyers = transactions.filter(pl.col("transaction_id").is_in(late.to_list()))
    customers = frames["customers"]
    for buyer, bought in zip(buyers["customer_id"], buyers["transaction_date"], strict=True):
        customers = replace(
            customers,
            pl.col("customer_id") == buyer,
            registration_date=pl.lit(bought.date() + timedelta(days=1)),
        )
    return _with(frames, customers=customers)


def places_that_do_not_exist(frames: Frames) -> Frames:
    customers = replace(frames["customers"], pl.col("customer_id") == "CUST-000030", state="IN")
    customers = replace(
        customers,
        pl.col("customer_id") == "CUST-000031",
        city="Hagatna",
        state="GU",
        zip_code="96910",
    )
    return _with(frames, customers=customers)


def bad_product_values(frames: Frames) -> Frames:
    products = replace(frames["products"], pl.col("id") == 3, category="toys")
    products = replace(products, pl.col("id") == 4, price=-1.0)
    return _with(frames, products=products)


def dates_outside_window(frames: Frames) -> Frames:
    transactions = replace(
        frames["transactions"],
        pl.col("transaction_id") == txn(frames, 50),
        transaction_date=datetime(2025, 1, 1, 12, 0),
    )
    transactions = replace(
        transactions,
        pl.col("transaction_id") == txn(frames, 51),
        transaction_date=NOW + timedelta(hours=1),
    )
    return _with(frames, transactions=transactions)


def bad_emails(frames: Frames) -> Frames:
    customers = frames["customers"]
    other = customers.filter(pl.col("customer_id") == "CUST-000021")["email"][0]
    customers = replace(customers, pl.col("customer_id") == "CUST-000020", email=other.upper())
    customers = replace(customers, pl.col("customer_id") == "CUST-000022", email="not an@email.com")
    customers = replace(customers, pl.col("customer_id") == "CUST-000023", email="nobody@home")
    return _with(frames, customers=customers)


def missing_transactions(frames: Frames) -> Frames:
    return _with(frames, transactions=frames["transactions"].slice(5))


def no_products(frames: Frames) -> Frames:
    return _with(frames, products=frames["products"].clear())


REMOVED_CUSTOMERS = [f"CUST-{number:06d}" for number in range(1, 11)]


def many_orphans(frames: Frames) -> Frames:
    removed = pl.col("customer_id").is_in(REMOVED_CUSTOMERS)
    return _with(frames, customers=frames["customers"].filter(~removed))


# (damage, {failing rule: (offending rows, offending keys or None to skip)})
CASES: dict[str, tuple[Damage, dict[str, tuple[int, tuple[str, ...] | None]]]] = {
    "duplicate customer keys": (
        duplicate_customers,
        {
            "customer_ids_unique_and_not_null": (4, ("CUST-000007", "CUST-000042")),
            "customers_match_requested_count": (2, ()),
            "customer_emails_unique": (4, ("CUST-000007", "CUST-000042")),
        },
    ),
    "null transaction key": (
        null_transaction_id,
        {
            "transaction_ids_unique_and_not_null": (1, ("(null)",)),
            "transactions_required_columns_not_null": (1, ("(null): transaction_id",)),
        },
    ),
    "orphan transactions": (
        orphan_transactions,
        {"transactions_reference_customers": (3, None)},
    ),
    "unknown product": (unknown_product, {"transactions_reference_products": (2, None)}),
    "wrong totals": (wrong_totals, {"transaction_totals_match_quantity_times_price": (2, None)}),
    "null total": (
        null_total,
        {
            "transaction_totals_match_quantity_times_price": (1, None),
            "transactions_required_columns_not_null": (1, None),
        },
    ),
    "null email": (
        null_email,
        {"customers_required_columns_not_null": (1, ("CUST-000010: email",))},
    ),
    "quantity out of range": (
        quantities_out_of_range,
        {"transaction_quantities_between_1_and_5": (2, None)},
    ),
    "segment and registration": (
        bad_segment_and_old_registration,
        {
            "customer_segments_valid": (1, ("CUST-000011",)),
            "registration_dates_in_registration_span": (1, ("CUST-000012",)),
        },
    ),
    "product values": (
        bad_product_values,
        {"product_categories_in_catalog": (1, ("3",)), "product_prices_positive": (1, ("4",))},
    ),
    "dates outside the window": (
        dates_outside_window,
        {
            "transaction_dates_within_history_window": (2, None),
            # Moved out of the days the write covered, so those days hold 2 rows too few.
            "transactions_match_requested_count": (2, ()),
        },
    ),
    "bad emails": (
        bad_emails,
        {
            "customer_emails_unique": (2, ("CUST-000020", "CUST-000021")),
            "customer_emails_well_formed": (2, ("CUST-000022", "CUST-000023")),
        },
    ),
    "places that do not exist": (
        places_that_do_not_exist,
        {
            "customer_places_are_real_us_places": (
                2,
                None,
            )
        },
    ),
    "missing transactions": (missing_transactions, {"transactions_match_requested_count": (5, ())}),
    "no products": (
        no_products,
        {"products_not_empty": (1, ()), "transactions_reference_products": (TRANSACTIONS, None)},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damage_fails_exactly_the_rules_it_breaks(good: Frames, case: str) -> None:
    damage, expected = CASES[case]
    damaged = damage(good)

    found = failures(damaged)

    assert set(found) == set(expected)
    for name, (rows, keys) in expected.items():
        assert found[name].offending_rows == rows, name
        if keys is not None:
            assert found[name].offending_keys == keys, name


def test_orphan_keys_name_the_transaction_and_the_missing_customer(good: Frames) -> None:
    found = failures(orphan_transactions(good))["transactions_reference_customers"]

    expected_ids = sorted(txn(good, position) for position in (1, 2, 3))
    assert found.offending_keys == tuple(f"{tid} -> CUST-999999" for tid in expected_ids)


def test_at_most_five_keys_are_kept_and_all_rows_counted(good: Frames) -> None:
    damaged = many_orphans(good)
    orphans = good["transactions"].filter(pl.col("customer_id").is_in(REMOVED_CUSTOMERS))

    found = failures(damaged)["transactions_reference_customers"]

    assert found.offending_rows == orphans.height > SAMPLE_SIZE
    assert len(found.offending_keys) == SAMPLE_SIZE
    assert list(found.offending_keys) == sorted(found.offending_keys)


def test_row_count_rule_reports_counts(good: Frames) -> None:
    found = failures(missing_transactions(good))["transactions_match_requested_count"]

    assert dict(found.details) == {
        "row_count": TRANSACTIONS - 5,
        "expected_at_least": TRANSACTIONS,
        "expected_at_most": TRANSACTIONS,
    }


def test_without_a_recorded_request_any_rows_will_do(good: Frames) -> None:
    unknown = expectations_for(now=NOW, customers_as_of=AS_OF, history_start=None)

    results = violations_in_frames(missing_transactions(good), unknown)

    assert results["transactions_match_requested_count"].passed
    assert results["transaction_dates_within_history_window"].passed


def test_rules_read_the_raw_schema_of_a_warehouse(good: Frames, tmp_path) -> None:
    damaged = orphan_transactions(good)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute("create schema raw")
        for table, frame in damaged.items():
            connection.register("frame", frame)
            connection.execute(f"create table raw.{table} as select * from frame")
            connection.unregister("frame")

        results = evaluate_rules(
            connection, RULES_BY_TABLE["transactions"], EXPECTATIONS, raw_relations()
        )

    assert results["transactions_reference_customers"].offending_rows == 3
    assert results["transaction_ids_unique_and_not_null"].passed


def test_a_transaction_before_its_customers_registration_fails_the_blocking_rule(
    good: Frames,
) -> None:
    damaged = registered_after_buying(good)
    joined = damaged["transactions"].join(damaged["customers"], on="customer_id")
    early = joined.filter(pl.col("transaction_date").dt.date() < pl.col("registration_date"))
    assert early.height >= 2

    found = failures(damaged)["transactions_not_before_customer_registration"]

    assert found.offending_rows == early.height
    first = early.sort("transaction_id").row(0, named=True)
    assert found.offending_keys[0] == (
        f"{first['transaction_id']} -> {first['customer_id']} registered "
        f"{first['registration_date']}"
    )


def test_the_product_reference_rule_checks_the_days_the_run_wrote(good: Frames) -> None:
    # The catalog lost product 3 after the earlier days were written; the latest write (the
    # last 10 days) drew from the current catalog only.
    written_from = AS_OF - timedelta(days=10)
    midnight = datetime.combine(written_from, datetime.min.time())
    transactions = good["transactions"]
    earlier = transactions.filter(pl.col("transaction_date") < midnight)
    written = transactions.filter(pl.col("transaction_date") >= midnight)
    frames = _with(
        good,
        transactions=pl.concat([earlier, written.filter(pl.col("product_id") != 3)]),
        products=good["products"].filter(pl.col("id") != 3),
    )
    expectations = expectations_for(
        now=NOW,
        customers_as_of=AS_OF,
        history_start=HISTORY_START,
        written_days=(written_from, AS_OF),
    )
    name = "transactions_reference_products"
    rule = [r for r in RULES_BY_TABLE["transactions"] if r.name == name]
    assert earlier.filter(pl.col("product_id") == 3).height > 0

    assert violations_in_frames(frames, expectations, rule)[name].passed

    # A written day that names the retired product fails.
    broken = _with(frames, transactions=pl.concat([earlier, written]))
    found = violations_in_frames(broken, expectations, rule)[name]
    assert found.offending_rows == written.filter(pl.col("product_id") == 3).height > 0
