"""Raw-layer data rules, evaluated by DuckDB (no Dagster here).

Each rule is SQL over the raw tables, so a check scans a 10-million-row table where it lies instead
of loading it into Python. Values reach the SQL only as bound parameters; table and column names are
quoted identifiers from this module. `violations_in_frames` runs the same rules over Polars frames.

A row rule's SQL selects one `offending_key` per offending row; the result counts them and keeps the
first few distinct keys, so a failed check says how bad it is and where to look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import polars as pl

from sales_analytics.core.catalog import CATEGORIES
from sales_analytics.core.generate import (
    CUSTOMER_COLUMNS,
    CUSTOMER_SEGMENTS,
    MAX_QUANTITY,
    REGISTRATION_FIRST_DAY,
    REGISTRATION_LAST_DAY,
    TRANSACTION_COLUMNS,
)
from sales_analytics.core.products import PRODUCT_COLUMNS
from sales_analytics.core.sql import qualified_name, quote_identifier
from sales_analytics.core.us_places import place_keys

TABLES = ("customers", "products", "transactions")
RAW_SCHEMA = "raw"
SAMPLE_SIZE = 5
# Local part, one @, a domain with at least one dot; no spaces anywhere.
EMAIL_PATTERN = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"
# Totals are rounded to cents from quantity x unit price, so a gap of a full cent is an error.
MONEY_TOLERANCE = 0.01
NULL_KEY = "(null)"


def literal(text: str) -> str:
    """A SQL string literal for a name fixed in this module (never for data values: bind those)."""
    return "'" + text.replace("'", "''") + "'"


NULL_LITERAL = literal(NULL_KEY)


def raw_relations(schema: str = RAW_SCHEMA) -> dict[str, str]:
    """The quoted relation of each raw table in `schema`, as rules name them."""
    return {table: qualified_name(schema, table) for table in TABLES}


@dataclass(frozen=True)
class Expectations:
    """What the runs asked for, which some rules compare the data with.

    Times are naive and in the run calendar's timezone, like the generated timestamps. The
    transactions are daily partitions: the history runs from the first partition to today, and
    the latest write covered `written_from` up to `written_before` with a requested row count.
    """

    now: datetime
    registered_from: date
    registered_until: date
    transactions_from: datetime
    transactions_before: datetime
    written_from: datetime = datetime.min
    written_before: datetime = datetime.max
    customers_requested: int | None = None
    transactions_requested: int | None = None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def expectations_for(
    *,
    now: datetime,
    customers_as_of: date,
    history_start: date | None,
    written_days: tuple[date, date] | None = None,
    customers_requested: int | None = None,
    transactions_requested: int | None = None,
) -> Expectations:
    """Windows derived the way generate.py draws its rows: registrations in its fixed span and
    not after the customers' as-of date; transactions from the configured start of the history
    (`history_start`; any date when None) up to today, whose partition is not complete yet.
    `written_days` is the first and end (excluded) day of the latest write of transactions,
    whose rows are counted."""
    return Expectations(
        now=now,
        registered_from=REGISTRATION_FIRST_DAY,
        registered_until=min(REGISTRATION_LAST_DAY, customers_as_of),
        transactions_from=_midnight(history_start) if history_start else datetime.min,
        transactions_before=_midnight(now.date()),
        written_from=_midnight(written_days[0]) if written_days else datetime.min,
        written_before=_midnight(written_days[1]) if written_days else datetime.max,
        customers_requested=customers_requested,
        transactions_requested=transactions_requested,
    )


@dataclass(frozen=True)
class Violations:
    offending_rows: int
    offending_keys: tuple[str, ...] = ()
    details: Mapping[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.offending_rows == 0


def _no_parameters(expectations: Expectations) -> Sequence[object]:
    return ()


@dataclass(frozen=True)
class RowRule:
    """Offending rows are those the SQL selects; in it `{customers}`, `{products}` and
    `{transactions}` stand for the tables and `{null}` for the text shown for a null key."""

    name: str
    table: str
    description: str
    sql: str
    parameters: Callable[[Expectations], Sequence[object]] = _no_parameters
    blocking: bool = False
    references: tuple[str, ...] = ()

    def evaluate(
        self,
        connection: duckdb.DuckDBPyConnection,
        relations: Mapping[str, str],
        expectations: Expectations,
    ) -> Violations:
        query = (
            f"with offending as ({self.sql.format(**relations, null=NULL_LITERAL)})\n"
            "select (select count(*) from offending),"
            " (select coalesce(list(offending_key order by offending_key), [])"
            "  from (select distinct offending_key from offending"
            "        order by offending_key limit ?))"
        )
        count, keys = connection.execute(
            query, [*self.parameters(expectations), SAMPLE_SIZE]
        ).fetchone()
        return Violations(offending_rows=count, offending_keys=tuple(keys))


@dataclass(frozen=True)
class RowCountRule:
    """The rows that `count_sql` counts (default: the whole table) lie within `bounds` (minimum,
    maximum or None); the shortfall or excess counts as the offending rows."""

    name: str
    table: str
    description: str
    bounds: Callable[[Expectations], tuple[int, int | None]]
    count_sql: str = "select count(*) from {table}"
    parameters: Callable[[Expectations], Sequence[object]] = _no_parameters
    blocking: bool = False
    references: tuple[str, ...] = ()

    def evaluate(
        self,
        connection: duckdb.DuckDBPyConnection,
        relations: Mapping[str, str],
        expectations: Expectations,
    ) -> Violations:
        query = self.count_sql.format(table=relations[self.table])
        (row_count,) = connection.execute(query, list(self.parameters(expectations))).fetchone()
        minimum, maximum = self.bounds(expectations)
        shortfall = max(minimum - row_count, 0)
        excess = max(row_count - maximum, 0) if maximum is not None else 0
        details = {"row_count": row_count, "expected_at_least": minimum}
        if maximum is not None:
            details["expected_at_most"] = maximum
        return Violations(offending_rows=shortfall + excess, details=details)


Rule = RowRule | RowCountRule


def _placeholder(table: str) -> str:
    return "{" + table + "}"


def _unique_key(name: str, table: str, key: str, description: str) -> RowRule:
    column = quote_identifier(key)
    return RowRule(
        name=name,
        table=table,
        description=description,
        sql=(
            f"select coalesce(cast({column} as varchar), {{null}}) as offending_key"
            f" from {_placeholder(table)} where {column} is null or {column} in"
            f" (select {column} from {_placeholder(table)} group by {column} having count(*) > 1)"
        ),
        blocking=True,
    )


def _required_columns(table: str, key: str, columns: Sequence[str]) -> RowRule:
    """Rows with a null in any contract column; the key names the row and its null columns."""
    missing = ", ".join(
        f"case when {quote_identifier(column)} is null then {literal(column)} end"
        for column in columns
    )
    any_null = " or ".join(f"{quote_identifier(column)} is null" for column in columns)
    return RowRule(
        name=f"{table}_required_columns_not_null",
        table=table,
        description=f"Every column of the raw {table} contract ({', '.join(columns)}) is set.",
        sql=(
            f"select coalesce(cast({quote_identifier(key)} as varchar), {{null}})"
            f" || ': ' || concat_ws(', ', {missing}) as offending_key"
            f" from {_placeholder(table)} where {any_null}"
        ),
    )


def _exact_or_some(requested: int | None) -> tuple[int, int | None]:
    # Without a recorded request (a table written before counts were recorded), require rows.
    return (requested, requested) if requested is not None else (1, None)


CUSTOMER_RULES: tuple[Rule, ...] = (
    RowCountRule(
        name="customers_match_requested_count",
        table="customers",
        description=(
            "raw.customers holds exactly the number of customers the run asked for (the asset's "
            "`requested_count` metadata)."
        ),
        bounds=lambda expectations: _exact_or_some(expectations.customers_requested),
    ),
    _unique_key(
        "customer_ids_unique_and_not_null",
        "customers",
        "customer_id",
        "customer_id is set and unique: it is the key every transaction points to.",
    ),
    _required_columns("customers", "customer_id", CUSTOMER_COLUMNS),
    RowRule(
        name="customer_segments_valid",
        table="customers",
        description=f"customer_segment is one of {', '.join(CUSTOMER_SEGMENTS)}.",
        sql=(
            "select customer_id as offending_key from {customers}"
            " where not list_contains(?, customer_segment)"
        ),
        parameters=lambda expectations: [list(CUSTOMER_SEGMENTS)],
    ),
    RowRule(
        name="registration_dates_in_registration_span",
        table="customers",
        description=(
            f"registration_date lies in the generator's span ({REGISTRATION_FIRST_DAY} to "
            f"{REGISTRATION_LAST_DAY}) and not after the run's as-of date."
        ),
        sql=(
            "select customer_id as offending_key from {customers}"
            " where registration_date not between ? and ?"
        ),
        parameters=lambda expectations: [
            expectations.registered_from,
            expectations.registered_until,
        ],
    ),
    RowRule(
        name="customer_places_are_real_us_places",
        table="customers",
        description=(
            "city, state and zip_code are one real place of the built-in US table (50 states and "
            "DC), so a map puts the customer where the address says."
        ),
        sql=(
            "select customer_id || ': ' || coalesce(city, {null}) || ', '"
            " || coalesce(state, {null}) || ' ' || coalesce(zip_code, {null}) as offending_key"
            " from {customers}"
            " where not coalesce(list_contains(?, city || '|' || state || '|' || zip_code), false)"
        ),
        parameters=lambda expectations: [place_keys()],
    ),
    RowRule(
        name="customer_emails_well_formed",
        table="customers",
        description="email looks like local@domain.tld, without spaces.",
        sql=(
            "select customer_id as offending_key from {customers}"
            " where not regexp_full_match(email, ?)"
        ),
        parameters=lambda expectations: [EMAIL_PATTERN],
    ),
    RowRule(
        name="customer_emails_unique",
        table="customers",
        description="No two customers share an email address (compared case-insensitively).",
        sql=(
            "select customer_id as offending_key from {customers}"
            " where lower(email) in"
            " (select lower(email) from {customers} group by lower(email) having count(*) > 1)"
        ),
    ),
)

PRODUCT_RULES: tuple[Rule, ...] = (
    RowCountRule(
        name="products_not_empty",
        table="products",
        description="raw.products holds at least one product, or no transaction can be drawn.",
        bounds=lambda expectations: (1, None),
    ),
    _unique_key(
        "product_ids_unique_and_not_null",
        "products",
        "id",
        "id is set and unique: it is the key every transaction points to.",
    ),
    _required_columns("products", "id", PRODUCT_COLUMNS),
    RowRule(
        name="product_prices_positive",
        table="products",
        description="price is a finite number greater than 0.",
        sql=(
            "select cast(id as varchar) as offending_key from {products}"
            " where price <= 0 or isnan(price) or isinf(price)"
        ),
    ),
    RowRule(
        name="product_categories_in_catalog",
        table="products",
        description=f"category is one of the catalog's categories: {', '.join(CATEGORIES)}.",
        sql=(
            "select cast(id as varchar) as offending_key from {products}"
            " where not list_contains(?, category)"
        ),
        parameters=lambda expectations: [list(CATEGORIES)],
    ),
)

TRANSACTION_RULES: tuple[Rule, ...] = (
    RowCountRule(
        name="transactions_match_requested_count",
        table="transactions",
        description=(
            "The days the latest run wrote hold exactly the transactions it asked for (the "
            "asset's `requested_count`, `window_start` and `window_end` metadata)."
        ),
        bounds=lambda expectations: _exact_or_some(expectations.transactions_requested),
        count_sql=(
            "select count(*) from {table} where transaction_date >= ? and transaction_date < ?"
        ),
        parameters=lambda expectations: [expectations.written_from, expectations.written_before],
    ),
    _unique_key(
        "transaction_ids_unique_and_not_null",
        "transactions",
        "transaction_id",
        "transaction_id is set and unique: fct_transactions has one row per id.",
    ),
    _required_columns("transactions", "transaction_id", TRANSACTION_COLUMNS),
    RowRule(
        name="transaction_quantities_between_1_and_5",
        table="transactions",
        description=f"quantity is a whole number from 1 to {MAX_QUANTITY}.",
        sql=(
            "select transaction_id as offending_key from {transactions}"
            " where quantity not between ? and ?"
        ),
        parameters=lambda expectations: [1, MAX_QUANTITY],
    ),
    RowRule(
        name="transaction_unit_prices_positive",
        table="transactions",
        description="unit_price is a finite number greater than 0.",
        sql=(
            "select transaction_id as offending_key from {transactions}"
            " where unit_price <= 0 or isnan(unit_price) or isinf(unit_price)"
        ),
    ),
    RowRule(
        name="transaction_totals_match_quantity_times_price",
        table="transactions",
        description=(
            "total_amount equals quantity x unit_price within a cent; a total that cannot be "
            "verified (a null in any of the three) counts as wrong, since revenue sums it."
        ),
        # Rounded so binary noise (3 x 22.3 = 66.8999...) is not mistaken for a missing cent.
        sql=(
            "select transaction_id as offending_key from {transactions}"
            " where coalesce(round(abs(total_amount - quantity * unit_price), 6) >= ?, true)"
        ),
        parameters=lambda expectations: [MONEY_TOLERANCE],
        blocking=True,
    ),
    RowRule(
        name="transaction_categories_in_catalog",
        table="transactions",
        description=f"category is one of the catalog's categories: {', '.join(CATEGORIES)}.",
        sql=(
            "select transaction_id as offending_key from {transactions}"
            " where not list_contains(?, category)"
        ),
        parameters=lambda expectations: [list(CATEGORIES)],
    ),
    RowRule(
        name="transaction_dates_within_history_window",
        table="transactions",
        description=(
            "transaction_date lies in the history: from SALES_ANALYTICS_HISTORY_START when it is "
            "set (make run's first day for its run), up to today, whose partition is not "
            "complete yet, and never in the future."
        ),
        sql=(
            "select transaction_id as offending_key from {transactions}"
            " where transaction_date < ? or transaction_date >= ? or transaction_date > ?"
        ),
        parameters=lambda expectations: [
            expectations.transactions_from,
            expectations.transactions_before,
            expectations.now,
        ],
    ),
    RowRule(
        name="transactions_reference_customers",
        table="transactions",
        description=(
            "Every transaction's customer_id exists in raw.customers; the key shows the missing "
            "customer."
        ),
        sql=(
            "select coalesce(t.transaction_id, {null})"
            " || ' -> ' || coalesce(t.customer_id, {null}) as offending_key"
            " from {transactions} as t anti join {customers} as c"
            " on t.customer_id = c.customer_id"
        ),
        blocking=True,
        references=("customers",),
    ),
    RowRule(
        name="transactions_reference_products",
        table="transactions",
        description=(
            "Every transaction the latest run wrote (its days) has a product_id of raw.products, "
            "the catalog it was drawn from; the key shows the missing product. Earlier days were "
            "checked against the catalog of their own run: a product the API no longer serves "
            "stays in the product history (dbt), which the dbt tests compare every day with."
        ),
        sql=(
            "select coalesce(t.transaction_id, {null})"
            " || ' -> ' || coalesce(cast(t.product_id as varchar), {null}) as offending_key"
            " from {transactions} as t anti join {products} as p on t.product_id = p.id"
            " where t.transaction_date >= ? and t.transaction_date < ?"
        ),
        parameters=lambda expectations: [expectations.written_from, expectations.written_before],
        blocking=True,
        references=("products",),
    ),
    RowRule(
        name="transactions_not_before_customer_registration",
        table="transactions",
        description=(
            "No transaction is dated before its customer's registration_date (tenure and cohort "
            "analyses would go negative); the key shows the transaction, the customer and the "
            "registration date."
        ),
        sql=(
            "select t.transaction_id || ' -> ' || t.customer_id || ' registered '"
            " || cast(c.registration_date as varchar) as offending_key"
            " from {transactions} as t join {customers} as c on t.customer_id = c.customer_id"
            " where cast(t.transaction_date as date) < c.registration_date"
        ),
        blocking=True,
        references=("customers",),
    ),
)

RULES_BY_TABLE: dict[str, tuple[Rule, ...]] = {
    "customers": CUSTOMER_RULES,
    "products": PRODUCT_RULES,
    "transactions": TRANSACTION_RULES,
}


def evaluate_rules(
    connection: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    expectations: Expectations,
    relations: Mapping[str, str] | None = None,
) -> dict[str, Violations]:
    """Violations per rule name, reading the tables named by `relations` (default: schema raw)."""
    tables = relations or raw_relations()
    return {rule.name: rule.evaluate(connection, tables, expectations) for rule in rules}


def violations_in_frames(
    frames: Mapping[str, pl.DataFrame],
    expectations: Expectations,
    rules: Sequence[Rule] | None = None,
) -> dict[str, Violations]:
    """The rules over in-memory frames (customers, products, transactions), through an in-memory
    DuckDB that reads the frames without copying them."""
    selected = rules if rules is not None else [r for t in frames for r in RULES_BY_TABLE[t]]
    with duckdb.connect() as connection:
        for table, frame in frames.items():
            connection.register(f"frame_{table}", frame)
        relations = {table: quote_identifier(f"frame_{table}") for table in frames}
        return evaluate_rules(connection, selected, expectations, relations)
