"""Synthetic customers and transactions as pure, seeded, vectorized functions (no Dagster here).

Faker is called only to fill a small pool of names and places; rows sample that pool with NumPy, so
the cost of a large volume is array work, not one Faker call per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from faker import Faker

CUSTOMER_SEGMENTS = ("Bronze", "Silver", "Gold", "Platinum")
SEGMENT_WEIGHTS = (0.45, 0.30, 0.17, 0.08)
REGISTRATION_WINDOW_DAYS = 730
MAX_QUANTITY = 5
FAKER_POOL_SIZE = 1_000
SECONDS_PER_DAY = 86_400

CUSTOMER_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "city",
    "state",
    "zip_code",
    "country",
    "registration_date",
    "customer_segment",
    "created_at",
)
TRANSACTION_COLUMNS = (
    "transaction_id",
    "transaction_date",
    "product_id",
    "product_title",
    "category",
    "quantity",
    "unit_price",
    "total_amount",
    "customer_id",
    "extracted_at",
)


def customer_id_expr(number: pl.Expr) -> pl.Expr:
    return pl.format("CUST-{}", number.cast(pl.String).str.zfill(6))


def _email_part(column: str) -> pl.Expr:
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _require_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value}")


def _faker_pool(seed: int, size: int) -> pl.DataFrame:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return pl.DataFrame(
        {
            "first_name": [fake.first_name() for _ in range(size)],
            "last_name": [fake.last_name() for _ in range(size)],
            "address": [fake.street_address() for _ in range(size)],
            "city": [fake.city() for _ in range(size)],
            "state": [fake.state_abbr() for _ in range(size)],
            "zip_code": [fake.zipcode() for _ in range(size)],
            "email_domain": [fake.free_email_domain() for _ in range(size)],
        }
    )


def generate_customers(count: int, *, seed: int, as_of: date, loaded_at: datetime) -> pl.DataFrame:
    """`count` customers CUST-000001.. with the same rows for the same arguments.

    registration_date lies in the two years before `as_of`; emails are unique because they carry
    the customer number.
    """
    _require_positive("customers", count)
    rng = np.random.default_rng([seed, 1])
    pool = _faker_pool(seed, min(count, FAKER_POOL_SIZE))
    picks = pool[rng.integers(0, pool.height, size=count)]
    number = np.arange(1, count + 1)
    days_before = rng.integers(1, REGISTRATION_WINDOW_DAYS + 1, size=count)
    segment = rng.choice(len(CUSTOMER_SEGMENTS), size=count, p=SEGMENT_WEIGHTS)
    phone = rng.integers([200, 200, 0], [1000, 1000, 10_000], size=(count, 3))
    return (
        picks.with_columns(
            number=pl.Series(number),
            registration_date=pl.lit(as_of) - pl.duration(days=pl.Series(days_before)),
            customer_segment=pl.Series(np.array(CUSTOMER_SEGMENTS)[segment]),
            phone=pl.format(
                "({}) {}-{}",
                pl.Series(phone[:, 0]),
                pl.Series(phone[:, 1]),
                pl.Series(phone[:, 2]).cast(pl.String).str.zfill(4),
            ),
            country=pl.lit("USA"),
            created_at=pl.lit(loaded_at, dtype=pl.Datetime("us")),
        )
        .with_columns(
            customer_id=customer_id_expr(pl.col("number")),
            email=pl.format(
                "{}.{}{}@{}",
                _email_part("first_name"),
                _email_part("last_name"),
                pl.col("number"),
                pl.col("email_domain"),
            ),
            registration_date=pl.col("registration_date").cast(pl.Date),
        )
        .select(CUSTOMER_COLUMNS)
    )


def day_volume(day: date, count: int, days: int) -> int:
    """Transactions on `day` at a rate of `count` transactions every `days` days.

    Day number n (the day's ordinal) gets floor((n + 1) * count / days) - floor(n * count / days):
    a pure function of the day and the rate, and the floors telescope, so any `days` consecutive
    days hold exactly `count` transactions, whichever day they start on.
    """
    _require_positive("days", days)
    if count < 0:
        raise ValueError(f"transactions must not be negative, got {count}")
    number = day.toordinal()
    return (number + 1) * count // days - number * count // days


def range_volume(first_day: date, end_day: date, count: int, days: int) -> int:
    """Transactions from `first_day` up to, not including, `end_day` (sum of day_volume)."""
    return sum(
        day_volume(first_day + timedelta(days=n), count, days)
        for n in range((end_day - first_day).days)
    )


def generate_day_transactions(
    day: date,
    count: int,
    *,
    customer_ids: pl.Series,
    products: pl.DataFrame,
    seed: int,
    loaded_at: datetime,
) -> pl.DataFrame:
    """`count` transactions at random times of `day`, a pure function of (seed, day, count, inputs).

    IDs are TXN-<yyyymmdd>-<n> in time order, so they are unique across days and stable when one
    day is generated again. Customers and products are drawn uniformly from all of `customer_ids`
    and `products` (id, title, category, price).
    """
    if customer_ids.len() == 0 or products.height == 0:
        raise ValueError("transactions need at least one customer and one product")
    rng = np.random.default_rng([seed, 2, day.toordinal()])
    seconds = np.sort(rng.integers(0, SECONDS_PER_DAY, size=count))
    picked = products[rng.integers(0, products.height, size=count)]
    quantity = rng.integers(1, MAX_QUANTITY + 1, size=count)
    start = datetime.combine(day, datetime.min.time())
    return (
        pl.DataFrame(
            {
                "sequence": np.arange(1, count + 1),
                "transaction_date": pl.Series(seconds * 1_000_000).cast(pl.Duration("us")) + start,
                "product_id": picked["id"],
                "product_title": picked["title"],
                "category": picked["category"],
                "quantity": quantity,
                "unit_price": picked["price"],
                "customer_id": customer_ids.gather(rng.integers(0, customer_ids.len(), size=count)),
            }
        )
        .with_columns(
            transaction_id=pl.format(
                "TXN-{}-{}",
                pl.lit(day.strftime("%Y%m%d")),
                pl.col("sequence").cast(pl.String).str.zfill(6),
            ),
            total_amount=(pl.col("quantity") * pl.col("unit_price")).round(2),
            extracted_at=pl.lit(loaded_at, dtype=pl.Datetime("us")),
        )
        .select(TRANSACTION_COLUMNS)
    )


def transaction_batches(
    first_day: date,
    end_day: date,
    *,
    count: int,
    days: int,
    customer_ids: pl.Series,
    products: pl.DataFrame,
    seed: int,
    loaded_at: datetime,
    batch_rows: int = 1_000_000,
) -> Iterator[pl.DataFrame]:
    """The transactions of every day from `first_day` up to, not including, `end_day`, at a rate
    of `count` every `days` days, generated lazily in batches of whole consecutive days of at
    least `batch_rows` rows (the last may be smaller), so a history of any length is never all
    in memory. Each day's rows are generate_day_transactions of that day, whatever the range."""
    if end_day <= first_day:
        raise ValueError(f"the range {first_day} to {end_day} holds no day")
    pending: list[pl.DataFrame] = []
    for offset in range((end_day - first_day).days):
        day = first_day + timedelta(days=offset)
        pending.append(
            generate_day_transactions(
                day,
                day_volume(day, count, days),
                customer_ids=customer_ids,
                products=products,
                seed=seed,
                loaded_at=loaded_at,
            )
        )
        if sum(frame.height for frame in pending) >= batch_rows:
            yield pl.concat(pending)
            pending = []
    if pending:
        yield pl.concat(pending)


def generate_transactions(first_day: date, end_day: date, **options) -> pl.DataFrame:
    """All of transaction_batches(first_day, end_day, **options) as one frame."""
    return pl.concat(transaction_batches(first_day, end_day, **options), rechunk=False)
