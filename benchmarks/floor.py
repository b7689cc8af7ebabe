"""The floor: the dbt project's transforms and data tests as plain DuckDB SQL, run in one process.

The same SQL as the models in sales_analytics_dbt (staging views, marts tables, the 31 data tests),
without Dagster or dbt, so the benchmark can say what the orchestration costs on top of DuckDB.
It writes to its own schemas (floor_staging, floor_marts) next to the raw tables it reads;
sales_analytics_tests/test_benchmark.py checks that its marts equal the pipeline's.
"""

from __future__ import annotations

from datetime import date

import duckdb

STAGING = "floor_staging"
MARTS = "floor_marts"

_STAGING_VIEWS = {
    "stg_customers": """
        select
            customer_id, first_name, last_name, first_name || ' ' || last_name as full_name,
            email, phone, address as street_address, city, state, zip_code, country,
            cast(registration_date as date) as registration_date, customer_segment,
            cast(created_at as timestamp) as loaded_at
        from raw.customers""",
    "stg_products": """
        select
            cast(id as integer) as product_id, trim(title) as product_name,
            category as product_category, description as product_description,
            cast(price as decimal(10, 2)) as unit_price,
            cast(rating_rate as double) as rating_score,
            cast(rating_count as integer) as rating_count, image as product_image,
            cast(extracted_at as timestamp) as loaded_at
        from raw.products""",
    "stg_transactions": """
        select
            transaction_id, cast(transaction_date as timestamp) as transaction_timestamp,
            cast(transaction_date as date) as transaction_date, customer_id,
            cast(product_id as integer) as product_id, trim(product_title) as product_name,
            category as product_category, cast(quantity as integer) as quantity,
            cast(unit_price as decimal(10, 2)) as unit_price,
            cast(total_amount as decimal(10, 2)) as total_amount,
            cast(extracted_at as timestamp) as loaded_at
        from raw.transactions""",
}

# Rows of stg_transactions on the days [?, ?) joined to customers and products.
_FCT_SELECT = """
    select
        t.transaction_id, t.transaction_timestamp, t.transaction_date,
        cast(date_trunc('week', t.transaction_date) as date) as transaction_week,
        cast(date_trunc('month', t.transaction_date) as date) as transaction_month,
        cast(year(t.transaction_date) as integer) as transaction_year,
        cast(month(t.transaction_date) as integer) as transaction_month_number,
        dayname(t.transaction_date) as day_of_week,
        t.customer_id, c.full_name as customer_name, c.customer_segment,
        c.city as customer_city, c.state as customer_state,
        t.product_id,
        coalesce(p.product_name, t.product_name) as product_name,
        coalesce(p.product_category, t.product_category) as product_category,
        t.quantity,
        cast(t.unit_price as decimal(18, 2)) as unit_price,
        cast(t.total_amount as decimal(18, 2)) as total_amount,
        cast(t.total_amount - t.quantity * t.unit_price * 0.7 as decimal(18, 2))
            as estimated_profit,
        cast(t.total_amount / t.quantity as decimal(18, 2)) as revenue_per_unit
    from {staging}.stg_transactions as t
    left join {staging}.stg_customers as c on t.customer_id = c.customer_id
    left join {staging}.stg_products as p on t.product_id = p.product_id
    where t.transaction_date >= ? and t.transaction_date < ?"""

_DIM_CUSTOMERS = """
    with customer_orders as (
        select
            customer_id, count(*) as total_orders, sum(total_amount) as lifetime_value,
            min(transaction_date) as first_order_date, max(transaction_date) as last_order_date
        from {staging}.stg_transactions
        group by customer_id
    )
    select
        c.customer_id, c.first_name, c.last_name, c.full_name, c.email, c.phone,
        c.street_address, c.city, c.state, c.zip_code, c.country, c.registration_date,
        c.customer_segment,
        coalesce(o.total_orders, 0) as total_orders,
        cast(coalesce(o.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        cast(o.lifetime_value / o.total_orders as decimal(18, 2)) as avg_order_value,
        o.first_order_date, o.last_order_date,
        case
            when o.total_orders is null then 'Never Purchased'
            when o.total_orders = 1 then 'One Time'
            when o.total_orders <= 5 then 'Occasional'
            else 'Frequent'
        end as purchase_frequency,
        case
            when o.last_order_date is null then 'Never Purchased'
            when cast(? as date) - o.last_order_date <= 30 then 'Active'
            when cast(? as date) - o.last_order_date <= 90 then 'At Risk'
            else 'Churned'
        end as customer_status,
        cast(? as date) as status_as_of_date
    from {staging}.stg_customers as c
    left join customer_orders as o on c.customer_id = o.customer_id"""

_DIM_PRODUCTS = """
    with product_sales as (
        select
            product_id, count(*) as total_orders, sum(quantity) as total_units_sold,
            sum(total_amount) as total_revenue
        from {staging}.stg_transactions
        group by product_id
    )
    select
        p.product_id, p.product_name, p.product_category, p.product_description, p.unit_price,
        p.rating_score, p.rating_count, p.product_image,
        coalesce(s.total_orders, 0) as total_orders,
        cast(coalesce(s.total_units_sold, 0) as bigint) as total_units_sold,
        cast(coalesce(s.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        cast(s.total_revenue / s.total_orders as decimal(18, 2)) as avg_order_value,
        case
            when s.total_orders is null then 'No Sales'
            when s.total_revenue < 1000 then 'Low'
            when s.total_revenue < 5000 then 'Mid'
            else 'Top'
        end as performance_tier,
        case
            when p.unit_price < 20 then 'Budget'
            when p.unit_price < 100 then 'Mid Range'
            when p.unit_price < 500 then 'Premium'
            else 'Luxury'
        end as price_tier
    from {staging}.stg_products as p
    left join product_sales as s on p.product_id = s.product_id"""

# A test is (relation, looks at the run's days only?, query counting the failing rows of `r`).
_WINDOWED = "(select * from {relation} where transaction_date >= ? and transaction_date < ?)"


def _unique(column: str) -> str:
    return f"select count(*) from (select {column} from r group by {column} having count(*) > 1)"


def _not_null(column: str) -> str:
    return f"select count(*) from r where {column} is null"


def _accepted(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"select count(*) from r where {column} is not null and {column} not in ({listed})"


def _in_range(column: str, low: int, high: int | None = None) -> str:
    upper = f" or {column} > {high}" if high is not None else ""
    return f"select count(*) from r where {column} is not null and ({column} < {low}{upper})"


def _related(column: str, parent: str) -> str:
    return (
        f"select count(*) from r left join {{staging}}.{parent} as p on r.{column} = p.{column}"
        f" where r.{column} is not null and p.{column} is null"
    )


TESTS: tuple[tuple[str, bool, str], ...] = (
    ("{staging}.stg_products", False, _unique("product_id")),
    ("{staging}.stg_products", False, _not_null("product_id")),
    ("{staging}.stg_products", False, _not_null("product_name")),
    ("{staging}.stg_products", False, _not_null("unit_price")),
    ("{staging}.stg_products", False, _in_range("unit_price", 0)),
    ("{staging}.stg_customers", False, _unique("customer_id")),
    ("{staging}.stg_customers", False, _not_null("customer_id")),
    ("{staging}.stg_customers", False, _not_null("email")),
    (
        "{staging}.stg_customers",
        False,
        _accepted("customer_segment", ("Bronze", "Silver", "Gold", "Platinum")),
    ),
    ("{staging}.stg_transactions", True, _unique("transaction_id")),
    ("{staging}.stg_transactions", True, _not_null("transaction_id")),
    ("{staging}.stg_transactions", True, _not_null("customer_id")),
    ("{staging}.stg_transactions", True, _related("customer_id", "stg_customers")),
    ("{staging}.stg_transactions", True, _not_null("product_id")),
    ("{staging}.stg_transactions", True, _related("product_id", "stg_products")),
    ("{staging}.stg_transactions", True, _not_null("total_amount")),
    ("{staging}.stg_transactions", True, _in_range("total_amount", 0)),
    ("{staging}.stg_transactions", True, _not_null("quantity")),
    ("{staging}.stg_transactions", True, _in_range("quantity", 1, 100)),
    ("{marts}.dim_customers", False, _unique("customer_id")),
    ("{marts}.dim_customers", False, _not_null("customer_id")),
    (
        "{marts}.dim_customers",
        False,
        _accepted("customer_status", ("Active", "At Risk", "Churned", "Never Purchased")),
    ),
    (
        "{marts}.dim_customers",
        False,
        _accepted("purchase_frequency", ("Never Purchased", "One Time", "Occasional", "Frequent")),
    ),
    ("{marts}.dim_products", False, _unique("product_id")),
    ("{marts}.dim_products", False, _not_null("product_id")),
    (
        "{marts}.dim_products",
        False,
        _accepted("performance_tier", ("No Sales", "Low", "Mid", "Top")),
    ),
    ("{marts}.fct_transactions", True, _unique("transaction_id")),
    ("{marts}.fct_transactions", True, _not_null("transaction_id")),
    ("{marts}.fct_transactions", True, _not_null("customer_id")),
    ("{marts}.fct_transactions", True, _not_null("product_id")),
    ("{marts}.fct_transactions", True, _not_null("total_amount")),
)
# Everything but these is in the nightly run (customers are not regenerated at night).
_CUSTOMER_TABLES = ("{staging}.stg_customers",)
ALL_HISTORY = (date(1900, 1, 1), date(9999, 12, 31))


def _sql(text: str) -> str:
    return text.format(staging=STAGING, marts=MARTS)


def create_staging(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {STAGING}")
    for name, query in _STAGING_VIEWS.items():
        connection.execute(f"create or replace view {STAGING}.{name} as {query}")


def build_dimensions(connection: duckdb.DuckDBPyConnection, as_of: date) -> None:
    connection.execute(f"create schema if not exists {MARTS}")
    connection.execute(
        _sql(f"create or replace table {{marts}}.dim_customers as {_DIM_CUSTOMERS}"),
        [as_of, as_of, as_of],
    )
    connection.execute(_sql(f"create or replace table {{marts}}.dim_products as {_DIM_PRODUCTS}"))


def run_tests(
    connection: duckdb.DuckDBPyConnection,
    window: tuple[date, date] = ALL_HISTORY,
    *,
    with_customers: bool = True,
) -> int:
    """Run the data tests (windowed ones on `window`); the number of failing tests."""
    failures = 0
    for relation, windowed, query in TESTS:
        if not with_customers and relation in _CUSTOMER_TABLES:
            continue
        source = _WINDOWED if windowed else "(select * from {relation})"
        source = source.format(relation=relation)
        params = list(window) if windowed else []
        (failing,) = connection.execute(_sql(f"with r as {source} {query}"), params).fetchone()
        failures += failing > 0
    return failures


def full_build(connection: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Staging views, the three marts from scratch, every test; the number of failing tests."""
    create_staging(connection)
    build_dimensions(connection, as_of)
    connection.execute(
        _sql(f"create or replace table {{marts}}.fct_transactions as {_FCT_SELECT}"),
        list(ALL_HISTORY),
    )
    return run_tests(connection)


def incremental_build(
    connection: duckdb.DuckDBPyConnection, as_of: date, window: tuple[date, date]
) -> int:
    """What a nightly run does after raw rows of `window` changed: replace those days in
    fct_transactions, rebuild the dimensions, run the nightly tests on the window."""
    connection.execute("begin")
    connection.execute(
        _sql(
            "delete from {marts}.fct_transactions"
            " where transaction_date >= ? and transaction_date < ?"
        ),
        list(window),
    )
    connection.execute(
        _sql(f"insert into {{marts}}.fct_transactions {_FCT_SELECT}"),
        list(window),
    )
    connection.execute("commit")
    build_dimensions(connection, as_of)
    return run_tests(connection, window, with_customers=False)
