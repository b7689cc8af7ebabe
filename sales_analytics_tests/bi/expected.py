"""What the dashboard must show, computed here straight from the marts with SQL and exact
decimals, independently of sales_analytics.core.dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb

PAGE_TITLES = ["Sales Overview", "Customer Analysis", "Product Performance"]
PAGE_KPIS = {
    "sales-overview": [
        "total_revenue",
        "total_orders",
        "avg_order_value",
        "total_customers",
        "total_profit",
    ],
    "customer-analysis": ["total_customers", "revenue_per_customer", "repeat_customers"],
    "product-performance": ["products_sold", "units_sold", "revenue_per_unit"],
}
CENT = Decimal("0.01")


def money(value: Decimal | None) -> str:
    if value is None:
        return "\u2014"
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"-${-rounded:,.2f}" if rounded < 0 else f"${rounded:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def ratio(numerator: Decimal, denominator: int) -> Decimal | None:
    return numerator / denominator if denominator else None


def expected_kpis(
    connection: duckdb.DuckDBPyConnection,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    excluded_categories: Sequence[str] = (),
    excluded_segments: Sequence[str] = (),
) -> dict[str, str]:
    """Each KPI's text for the selection the slicers describe."""
    selection = (
        "select * from marts.fct_transactions"
        " where (cast(? as date) is null or transaction_date >= ?)"
        " and (cast(? as date) is null or transaction_date <= ?)"
        " and not list_contains(cast(? as varchar[]), product_category)"
        " and not list_contains(cast(? as varchar[]), customer_segment)"
    )
    parameters = [
        date_from,
        date_from,
        date_to,
        date_to,
        list(excluded_categories),
        list(excluded_segments),
    ]
    revenue, orders, customers, profit, products, units = connection.execute(
        "select coalesce(sum(total_amount), 0), count(*), count(distinct customer_id),"
        " coalesce(sum(estimated_profit), 0), count(distinct product_id),"
        f" coalesce(sum(quantity), 0) from ({selection})",
        parameters,
    ).fetchone()
    (repeat_customers,) = connection.execute(
        "select count(*) from ("
        f"  select customer_id from ({selection}) group by customer_id having count(*) > 1"
        ")",
        parameters,
    ).fetchone()
    return {
        "total_revenue": money(revenue),
        "total_orders": count(orders),
        "avg_order_value": money(ratio(revenue, orders)),
        "total_customers": count(customers),
        "total_profit": money(profit),
        "revenue_per_customer": money(ratio(revenue, customers)),
        "repeat_customers": count(repeat_customers),
        "products_sold": count(products),
        "units_sold": count(int(units)),
        "revenue_per_unit": money(ratio(revenue, int(units))),
    }


def expected_top_customers(
    connection: duckdb.DuckDBPyConnection, excluded_segments: Sequence[str] = ()
) -> list[list[str]]:
    """The top 10 customers over the whole period: those of dim_customers with the highest
    lifetime value (ties by name, then ID), each with their ID."""
    rows = connection.execute(
        "select customer_id, full_name, customer_segment, lifetime_value, total_orders"
        " from marts.dim_customers where total_orders > 0"
        " and not list_contains(cast(? as varchar[]), customer_segment)"
        " order by lifetime_value desc, full_name, customer_id limit 10",
        [list(excluded_segments)],
    ).fetchall()
    return [
        [customer_id, name, segment, money(value), count(orders)]
        for customer_id, name, segment, value, orders in rows
    ]


def expected_product_rows(connection: duckdb.DuckDBPyConnection) -> list[list[str]]:
    rows = connection.execute(
        "select product_name, product_category, total_revenue, total_units_sold,"
        " performance_tier, price_tier from marts.dim_products"
        " where total_orders > 0 order by total_revenue desc, product_name"
    ).fetchall()
    return [
        [name, category, money(revenue), count(units), performance, price]
        for name, category, revenue, units, performance, price in rows
    ]
