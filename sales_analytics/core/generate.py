"""Synthetic customers and transactions as pure, seeded, vectorized functions (no Dagster here).

Faker is called only to fill a small pool of names and places; rows sample that pool with NumPy, so
the cost of a large volume is array work, not one Faker call per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from faker import Faker

from sales_analytics.core.us_places import US_PLACES

CUSTOMER_SEGMENTS = ("Bronze", "Silver", "Gold", "Platinum")
SEGMENT_WEIGHTS = (0.45, 0.30, 0.17, 0.08)
# Registrations are spread over a fixed calendar span, not "two years before the as-of date": a
# customer's registration date must not move when customers are generated again for another
# as-of date, or transactions already written would come to predate it.
REGISTRATION_FIRST_DAY = date(2024, 1, 1)
REGISTRATION_WINDOW_DAYS = 730
REGISTRATION_LAST_DAY = REGISTRATION_FIRST_DAY + timedelta(days=REGISTRATION_WINDOW_DAYS - 1)
MAX_QUANTITY = 5
FAKER_POOL_SIZE = 1_000
SECONDS_PER_DAY = 86_400
CUSTOMER_ID_PREFIX = "CUST-"
# Streams of per-customer draws (see _uniform). Registration has no seed in its stream, so the
# transactions of any seed can tell from a customer ID alone when that customer registered.
_FIRST_NAME, _LAST_NAME, _STREET, _DOMAIN, _PLACE, _SEGMENT, _PHONE = range(1, 8)
_REGISTRATION_STREAM = (0x5EED, 0xDA7E)

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
    return pl.format(CUSTOMER_ID_PREFIX + "{}", number.cast(pl.String).str.zfill(6))


def customer_numbers(customer_ids: pl.Series) -> np.ndarray:
    """The numbers of CUST-000001.. IDs; an ID of another form is an error that names it."""
    numbers = customer_ids.str.strip_prefix(CUSTOMER_ID_PREFIX).cast(pl.Int64, strict=False)
    malformed = customer_ids.filter(numbers.is_null() | (numbers < 1) | customer_ids.is_null())
    if malformed.len():
        raise ValueError(
            f"customer IDs must look like {CUSTOMER_ID_PREFIX}000001, got {malformed[0]!r}"
        )
    return numbers.to_numpy().astype(np.uint64)


def _email_part(column: str) -> pl.Expr:
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _require_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value}")


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _uniform(numbers: np.ndarray, *stream: int) -> np.ndarray:
    """A uniform draw in [0, 1) per customer number, from a hash of (stream, number): a
    customer's attributes depend on its number and the seed only, never on how many customers
    are generated or in which order (splitmix64's finaliser; uint64 arithmetic wraps)."""
    state = numbers.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for part in stream:
        state = (state ^ np.uint64(part & 0xFFFFFFFFFFFFFFFF)) * np.uint64(0xBF58476D1CE4E5B9)
        state ^= state >> np.uint64(31)
    state = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    state = (state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    state = (state ^ (state >> np.uint64(31))) & _MASK64
    return (state >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _pick(numbers: np.ndarray, size: int, *stream: int) -> np.ndarray:
    return np.minimum((_uniform(numbers, *stream) * size).astype(np.int64), size - 1)


def registration_dates(numbers: np.ndarray) -> np.ndarray:
    """Registration date (numpy datetime64[D]) of each customer number: a pure function of the
    number, within REGISTRATION_FIRST_DAY and REGISTRATION_LAST_DAY."""
    offsets = _pick(numbers, REGISTRATION_WINDOW_DAYS, *_REGISTRATION_STREAM)
    return np.datetime64(REGISTRATION_FIRST_DAY, "D") + offsets.astype("timedelta64[D]")


def _faker_pool(seed: int) -> dict[str, list[str]]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return {
        "first_name": [fake.first_name() for _ in range(FAKER_POOL_SIZE)],
        "last_name": [fake.last_name() for _ in range(FAKER_POOL_SIZE)],
        "address": [fake.street_address() for _ in range(FAKER_POOL_SIZE)],
        "email_domain": [fake.free_email_domain() for _ in range(FAKER_POOL_SIZE)],
    }


def generate_customers(count: int, *, seed: int, as_of: date, loaded_at: datetime) -> pl.DataFrame:
    """`count` customers CUST-000001.. with the same rows for the same arguments.

    Each customer's attributes depend only on the seed and its number, so generating more or
    fewer customers, or for another `as_of`, never changes an existing customer. First and last
    names are drawn independently from a pool of Faker names (few full names repeat); city, state
    and ZIP are one real place (us_places); registration_date depends on the number alone
    (registration_dates) and lies between REGISTRATION_FIRST_DAY and REGISTRATION_LAST_DAY,
    whatever `as_of` is (kept in the signature for the callers that pass it). Emails are unique
    because they carry the customer number.
    """
    _require_positive("customers", count)
    del as_of  # the registration dates must not depend on it (see REGISTRATION_FIRST_DAY)
    pool = _faker_pool(seed)
    number = np.arange(1, count + 1, dtype=np.uint64)
    place = pl.DataFrame(US_PLACES, schema=["city", "state", "zip_code"], orient="row")[
        _pick(number, len(US_PLACES), seed, _PLACE)
    ]
    segment = np.searchsorted(
        np.cumsum(SEGMENT_WEIGHTS), _uniform(number, seed, _SEGMENT) * sum(SEGMENT_WEIGHTS)
    )
    segment = np.minimum(segment, len(CUSTOMER_SEGMENTS) - 1)
    phone_parts = ((200, 1000), (200, 1000), (0, 10_000))
    phone = [
        _pick(number, high - low, seed, _PHONE, part) + low
        for part, (low, high) in enumerate(phone_parts)
    ]
    return (
        pl.DataFrame(
            {
                "number": number.astype(np.int64),
                **{
                    column: pl.Series(pool[column]).gather(
                        _pick(number, FAKER_POOL_SIZE, seed, stream)
                    )
                    for column, stream in (
                        ("first_name", _FIRST_NAME),
                        ("last_name", _LAST_NAME),
                        ("address", _STREET),
                        ("email_domain", _DOMAIN),
                    )
                },
                "city": place["city"],
                "state": place["state"],
                "zip_code": place["zip_code"],
                "registration_date": registration_dates(number),
                "customer_segment": np.array(CUSTOMER_SEGMENTS)[segment],
            }
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
            phone=pl.format(
                "({}) {}-{}",
                pl.Series(phone[0]),
                pl.Series(phone[1]),
                pl.Series(phone[2]).cast(pl.String).str.zfill(4),
            ),
            country=pl.lit("USA"),
            registration_date=pl.col("registration_date").cast(pl.Date),
            created_at=pl.lit(loaded_at, dtype=pl.Datetime("us")),
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


@dataclass(frozen=True)
class Buyers:
    """Customers ordered by registration date, so the customers registered by a day are a prefix.

    The order does not depend on the order of the IDs given, so a day's draw is the same for the
    same set of customers."""

    customer_ids: pl.Series
    registered: np.ndarray  # datetime64[D], ascending

    @classmethod
    def of(cls, customer_ids: pl.Series) -> Buyers:
        numbers = customer_numbers(customer_ids)
        dates = registration_dates(numbers)
        # By registration date, then number: the same order whatever order the IDs came in.
        order = np.lexsort((numbers, dates))
        return cls(customer_ids=customer_ids.gather(order), registered=dates[order])

    def registered_by(self, day: date) -> int:
        """How many customers had registered by the end of `day` (they may buy on that day)."""
        return int(np.searchsorted(self.registered, np.datetime64(day, "D"), side="right"))


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
    day is generated again. Products are drawn uniformly from `products` (id, title, category,
    price); customers uniformly from those of `customer_ids` registered on or before `day`
    (registration_dates), so no transaction predates its customer.
    """
    if customer_ids.len() == 0 or products.height == 0:
        raise ValueError("transactions need at least one customer and one product")
    return _day_transactions(
        day, count, Buyers.of(customer_ids), products, seed=seed, loaded_at=loaded_at
    )


def _day_transactions(
    day: date,
    count: int,
    buyers: Buyers,
    products: pl.DataFrame,
    *,
    seed: int,
    loaded_at: datetime,
) -> pl.DataFrame:
    eligible = buyers.registered_by(day)
    if count > 0 and eligible == 0:
        raise ValueError(
            f"no customer has registered by {day} (the first registration is "
            f"{buyers.registered[0]}): transactions cannot start before it"
        )
    rng = np.random.default_rng([seed, 2, day.toordinal()])
    seconds = np.sort(rng.integers(0, SECONDS_PER_DAY, size=count))
    picked = products[rng.integers(0, products.height, size=count)]
    quantity = rng.integers(1, MAX_QUANTITY + 1, size=count)
    buyer = rng.integers(0, max(eligible, 1), size=count)
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
                "customer_id": buyers.customer_ids.gather(buyer),
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
    if customer_ids.len() == 0 or products.height == 0:
        raise ValueError("transactions need at least one customer and one product")
    buyers = Buyers.of(customer_ids)
    pending: list[pl.DataFrame] = []
    for offset in range((end_day - first_day).days):
        day = first_day + timedelta(days=offset)
        pending.append(
            _day_transactions(
                day,
                day_volume(day, count, days),
                buyers,
                products,
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
