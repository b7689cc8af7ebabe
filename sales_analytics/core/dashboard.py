"""The dashboard: one self-contained HTML file with the three pages the users had in Power BI
(no Dagster here).

The page embeds the marts aggregated by DuckDB, so its size follows the calendar and the catalog,
not the volume: sales per day, product, category and segment; customers' sales per day and
category up to EXACT_CUSTOMER_LIMIT transactions, whole-period summaries per segment beyond. With
them come the chart specifications (Vega-Lite, written with Altair) and the Vega/Vega-Lite/
Vega-Embed bundle that vl-convert ships, so it opens from disk with no network and no server. Its
script filters the aggregates with the slicers (date range, product category, customer segment)
and redraws every KPI, chart and table; the KPI cards of the default view are written here too,
from SQL over the marts, so the page reads right even before (or without) its script. Customers
are keyed on their ID everywhere, never on their name.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import altair as alt
import duckdb
import polars as pl
import vl_convert

from sales_analytics.core.generate import CUSTOMER_SEGMENTS
from sales_analytics.core.publish import fsync_file, fsync_folder, remove_quietly, temp_path_beside
from sales_analytics.core.settings import PROJECT_ROOT

# The Vega-Lite version Altair writes, which the bundle must render.
VEGA_LITE_VERSION = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
CHART_DATA = "values"
NO_VALUE = "\u2014"
CUSTOMER_STATUSES = ("Active", "At Risk", "Churned", "Never Purchased")
PERFORMANCE_TIERS = ("Top", "Mid", "Low", "No Sales")
# The page may run inline scripts and the bundle's compiled expressions, and load nothing at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:"
)
# Charts are drawn this wide first; the page then fits each one to its card's width.
CHART_WIDTH = 380
CHART_HEIGHT = 240
BAR_STEP = 30
LABEL_LIMIT = 200
# Long product names are wrapped by the page on word boundaries (see dashboard.js); the axis shows
# at most this many lines per name, the tooltip the whole name.
LABEL_LINES = 2
# Pixels at least between two axis labels Vega keeps (it hides labels to keep them): closer, two
# dates read as one ("Sep 06Sep 10").
LABEL_SEPARATION = 6
ACCENT = "#2f6fb0"


@dataclass(frozen=True)
class Kpi:
    label: str
    format: str  # "money" (integer cents) or "count"


KPIS = {
    "total_revenue": Kpi("Total Revenue", "money"),
    "total_orders": Kpi("Total Orders", "count"),
    "avg_order_value": Kpi("Avg Order Value", "money"),
    "total_customers": Kpi("Total Customers", "count"),
    "total_profit": Kpi("Total Profit", "money"),
    "revenue_per_customer": Kpi("Revenue per Customer", "money"),
    "repeat_customers": Kpi("Repeat Customers", "count"),
    "products_sold": Kpi("Products Sold", "count"),
    "units_sold": Kpi("Units Sold", "count"),
    "revenue_per_unit": Kpi("Revenue per Unit", "money"),
}


@dataclass(frozen=True)
class Visual:
    key: str  # a chart spec name or a table name; the script fills it with data of that name
    title: str
    kind: str  # "chart" or "table"
    columns: tuple[tuple[str, bool], ...] = ()  # a table's (header, numeric)
    wide: bool = False
    # Periods the visual can add its values up to; the first is "auto" (picked from the range).
    grains: tuple[str, ...] = ()


@dataclass(frozen=True)
class DashboardPage:
    slug: str
    title: str
    kpis: tuple[str, ...]
    visuals: tuple[Visual, ...]


# The time chart's periods; "auto" is day up to AUTO_DAY_LIMIT days, week up to AUTO_WEEK_LIMIT
# days, month beyond (the rule lives in dashboard.js, which applies it to the selected range).
TIME_GRAINS = ("auto", "day", "week", "month")

# KPIs measured on customers: in summary mode they cover the whole period.
CUSTOMER_KPIS = frozenset({"total_customers", "revenue_per_customer", "repeat_customers"})
REVENUE_BY_CATEGORY = Visual("revenue_by_category", "Revenue by category", "chart")
PAGES = (
    DashboardPage(
        "sales-overview",
        "Sales Overview",
        ("total_revenue", "total_orders", "avg_order_value", "total_customers", "total_profit"),
        (
            Visual(
                "revenue_over_time",
                "Revenue over time",
                "chart",
                wide=True,
                grains=TIME_GRAINS,
            ),
            REVENUE_BY_CATEGORY,
            Visual("top_products", "Top 10 products by revenue", "chart"),
        ),
    ),
    DashboardPage(
        "customer-analysis",
        "Customer Analysis",
        ("total_customers", "revenue_per_customer", "repeat_customers"),
        (
            Visual("customers_by_segment", "Customers by segment", "chart"),
            Visual("customers_by_status", "Customers by status", "chart"),
            Visual(
                "revenue_by_customer", "Revenue by customer (customers per revenue band)", "chart"
            ),
            Visual(
                "top_customers",
                "Top 10 customers by revenue",
                "table",
                columns=(
                    ("Customer ID", False),
                    ("Customer", False),
                    ("Segment", False),
                    ("Revenue", True),
                    ("Orders", True),
                ),
            ),
        ),
    ),
    DashboardPage(
        "product-performance",
        "Product Performance",
        ("products_sold", "units_sold", "revenue_per_unit"),
        (
            REVENUE_BY_CATEGORY,
            Visual("products_by_tier", "Products by performance tier", "chart"),
            Visual(
                "products",
                "Products",
                "table",
                columns=(
                    ("Product", False),
                    ("Category", False),
                    ("Revenue", True),
                    ("Units sold", True),
                    ("Performance tier", False),
                    ("Price tier", False),
                ),
                wide=True,
            ),
        ),
    ),
)

NOTES = (
    "Slicers apply to every KPI, chart and table of every page.",
    "An order is one transaction. Customers and products are counted when they have at least one "
    "transaction in the selection; repeat customers have more than one.",
    "Customer status and performance tier are those the run computed over all its transactions "
    "(as of the date above); price tier comes from the list price.",
    "Customers are told apart by their ID: two customers with the same name are two rows.",
    "Profit is estimated: revenue minus 70% of quantity times unit price.",
)


# Up to this many transactions the page carries every customer's sales per day and category, so
# the customer visuals follow every slicer exactly. Beyond it (the page would weigh hundreds of
# MB) it carries per-segment customer summaries over the whole period instead: customer visuals
# then follow the segment slicer only, and the page says so beside them.
EXACT_CUSTOMER_LIMIT = 250_000
# Top customers kept per segment in the summaries: the top 10 of any set of segments is among
# the union of each segment's top 10.
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class MartFrames:
    """What the page is built from, aggregated in SQL: sales per day, product, category and
    segment (`sales`); the products; then either per customer, day and category
    (`customer_sales`, exact) with every customer, or whole-period summaries per segment and
    status (`customer_summary`) and per revenue bucket (`revenue_buckets`) with each segment's
    top customers."""

    sales: pl.DataFrame
    products: pl.DataFrame
    customers: pl.DataFrame
    customer_sales: pl.DataFrame | None
    customer_summary: pl.DataFrame | None
    revenue_buckets: pl.DataFrame | None
    transactions: int
    as_of: date | None

    @property
    def exact_customers(self) -> bool:
        return self.customer_sales is not None


@dataclass(frozen=True)
class DashboardOutcome:
    path: Path
    size_bytes: int
    transactions: int
    kpis: dict[str, int | None]
    seconds: float
    exact_customers: bool = True


class DashboardDataError(ValueError):
    """The marts hold rows the dashboard cannot place (a transaction without its product...)."""


def read_marts(
    connection: duckdb.DuckDBPyConnection, exact_customer_limit: int = EXACT_CUSTOMER_LIMIT
) -> MartFrames:
    """The marts as the page needs them, aggregated by DuckDB; money as integer cents so sums
    stay exact in the page."""
    (transactions,) = connection.execute("select count(*) from marts.fct_transactions").fetchone()
    sales = connection.sql(
        "select transaction_date, product_id, product_category, customer_segment,"
        " count(*) as orders, cast(sum(quantity) as bigint) as units,"
        " cast(sum(total_amount * 100) as bigint) as revenue_cents,"
        " cast(sum(estimated_profit * 100) as bigint) as profit_cents"
        " from marts.fct_transactions group by all order by all"
    ).pl()
    products = connection.sql(
        "select product_id, product_name, product_category, performance_tier, price_tier"
        " from marts.dim_products order by product_id"
    ).pl()
    customer_sales = customer_summary = revenue_buckets = None
    if transactions <= exact_customer_limit:
        customer_sales = connection.sql(
            "select customer_id, transaction_date, product_category, customer_segment,"
            " count(*) as orders, cast(sum(total_amount * 100) as bigint) as revenue_cents"
            " from marts.fct_transactions group by all order by all"
        ).pl()
        customers = connection.sql(
            "select customer_id, full_name, customer_segment, customer_status"
            " from marts.dim_customers order by customer_id"
        ).pl()
    else:
        customers = connection.sql(
            "select customer_id, full_name, customer_segment, customer_status,"
            " cast(lifetime_value * 100 as bigint) as revenue_cents, total_orders as orders"
            " from (select *, row_number() over (partition by customer_segment"
            "   order by lifetime_value desc, customer_id) as place"
            "  from marts.dim_customers where total_orders > 0)"
            f" where place <= {TOP_CUSTOMERS} order by customer_id"
        ).pl()
        customer_summary = connection.sql(
            "select customer_segment, customer_status, count(*) as customers,"
            " count(*) filter (where total_orders > 1) as repeat_customers,"
            " cast(sum(lifetime_value * 100) as bigint) as revenue_cents"
            " from marts.dim_customers where total_orders > 0 group by all order by all"
        ).pl()
        # Customers per segment and revenue, to a 200th of the largest lifetime value: the
        # page bins these weighted values as it bins single customers when exact.
        revenue_buckets = connection.sql(
            "with customers as (select customer_segment, lifetime_value * 100 as cents"
            "  from marts.dim_customers where total_orders > 0),"
            " width as (select greatest(max(cents) / 200, 1) as cents from customers)"
            " select customer_segment,"
            "  cast(floor(customers.cents / width.cents) * width.cents as bigint) as revenue_cents,"
            "  count(*) as customers"
            " from customers, width group by all order by all"
        ).pl()
    (as_of,) = connection.execute(
        "select max(status_as_of_date) from marts.dim_customers"
    ).fetchone()
    return MartFrames(
        sales,
        products,
        customers,
        customer_sales,
        customer_summary,
        revenue_buckets,
        transactions,
        as_of,
    )


def ordered_values(values: list[str], preferred: tuple[str, ...]) -> list[str]:
    """`values` without duplicates: those in `preferred` in its order, then the rest sorted."""
    present = set(values)
    return [value for value in preferred if value in present] + sorted(present - set(preferred))


def codes(values: pl.Series, vocabulary: list[str], what: str) -> list[int]:
    """Each value's position in `vocabulary`; an error names the first value it lacks."""
    index = {value: position for position, value in enumerate(vocabulary)}
    missing = [value for value in values.unique().to_list() if value not in index]
    if missing:
        raise DashboardDataError(f"{what} {missing[0]!r} is not among {vocabulary}")
    return [index[value] for value in values.to_list()]


def distinct_labels(names: list[str], ids: list[str]) -> list[str]:
    """Names as chart labels: a name that two ids share gets its id, so charts never merge them."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [
        f"{name} (#{key})" if counts[name] > 1 else name
        for name, key in zip(names, ids, strict=True)
    ]


def dashboard_payload(marts: MartFrames) -> dict[str, Any]:
    """What the page embeds: columnar arrays with products, customers, categories and segments as
    positions in lookup lists, and days as offsets from the first day."""
    sales, products, customers = marts.sales, marts.products, marts.customers
    categories = sorted(
        set(products["product_category"].drop_nulls().to_list())
        | set(sales["product_category"].drop_nulls().to_list())
    )
    segments = ordered_values(
        customers["customer_segment"].drop_nulls().to_list()
        + sales["customer_segment"].drop_nulls().to_list()
        + (
            marts.customer_summary["customer_segment"].drop_nulls().to_list()
            if marts.customer_summary is not None
            else []
        ),
        CUSTOMER_SEGMENTS,
    )
    days = sales["transaction_date"]
    first_day: date | None = days.min()
    last_day: date | None = days.max()
    product_ids = products["product_id"].cast(pl.String).to_list()
    customer_ids = customers["customer_id"].to_list()

    def day_offsets(column: pl.Series) -> list[int]:
        return [(day - first_day).days for day in column.to_list()] if first_day else []

    payload: dict[str, Any] = {
        "first_day": first_day.isoformat() if first_day else None,
        "last_day": last_day.isoformat() if last_day else None,
        "transactions_total": marts.transactions,
        "exact_customers": marts.exact_customers,
        "categories": categories,
        "segments": segments,
        "customer_statuses": list(CUSTOMER_STATUSES),
        "performance_tiers": list(PERFORMANCE_TIERS),
        "products": {
            "id": product_ids,
            "name": products["product_name"].to_list(),
            "label": distinct_labels(products["product_name"].to_list(), product_ids),
            "category": codes(products["product_category"], categories, "product category"),
            "performance_tier": products["performance_tier"].to_list(),
            "price_tier": products["price_tier"].to_list(),
        },
        "customers": {
            "id": customer_ids,
            "name": customers["full_name"].to_list(),
            "segment": codes(customers["customer_segment"], segments, "customer segment"),
            "status": customers["customer_status"].to_list(),
        },
        "sales": {
            "day": day_offsets(days),
            "product": codes(
                sales["product_id"].cast(pl.String), product_ids, "transaction product_id"
            ),
            "category": codes(sales["product_category"], categories, "product category"),
            "segment": codes(sales["customer_segment"], segments, "customer segment"),
            "orders": sales["orders"].to_list(),
            "units": sales["units"].to_list(),
            "revenue_cents": sales["revenue_cents"].to_list(),
            "profit_cents": sales["profit_cents"].to_list(),
        },
    }
    if marts.customer_summary is not None and marts.revenue_buckets is not None:
        summary, buckets = marts.customer_summary, marts.revenue_buckets
        payload["customers"]["revenue_cents"] = customers["revenue_cents"].to_list()
        payload["customers"]["orders"] = customers["orders"].to_list()
        payload["customer_summary"] = {
            "segment": codes(summary["customer_segment"], segments, "customer segment"),
            "status": summary["customer_status"].to_list(),
            "customers": summary["customers"].to_list(),
            "repeat_customers": summary["repeat_customers"].to_list(),
            "revenue_cents": summary["revenue_cents"].to_list(),
        }
        payload["revenue_buckets"] = {
            "segment": codes(buckets["customer_segment"], segments, "customer segment"),
            "revenue_cents": buckets["revenue_cents"].to_list(),
            "customers": buckets["customers"].to_list(),
        }
    if marts.customer_sales is not None:
        rows = marts.customer_sales
        payload["customer_sales"] = {
            "customer": codes(rows["customer_id"], customer_ids, "transaction customer_id"),
            "day": day_offsets(rows["transaction_date"]),
            "category": codes(rows["product_category"], categories, "product category"),
            "segment": codes(rows["customer_segment"], segments, "customer segment"),
            "orders": rows["orders"].to_list(),
            "revenue_cents": rows["revenue_cents"].to_list(),
        }
    return payload


def divide_rounded(numerator: int, denominator: int) -> int | None:
    """numerator / denominator to the nearest whole number, halves away from zero."""
    if not denominator:
        return None
    quotient = Decimal(numerator) / Decimal(denominator)
    return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def default_view_kpis(connection: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """Every KPI with no slicer narrowed: money in cents, counts as counts."""
    revenue, orders, customers, profit, products, units, repeat_customers = connection.execute(
        "with orders_per_customer as ("
        "  select customer_id, count(*) as orders from marts.fct_transactions group by customer_id"
        ")"
        " select"
        "  cast(coalesce(sum(total_amount), 0) * 100 as bigint),"
        "  count(*),"
        "  count(distinct customer_id),"
        "  cast(coalesce(sum(estimated_profit), 0) * 100 as bigint),"
        "  count(distinct product_id),"
        "  cast(coalesce(sum(quantity), 0) as bigint),"
        "  (select count(*) from orders_per_customer where orders > 1)"
        " from marts.fct_transactions"
    ).fetchone()
    return {
        "total_revenue": revenue,
        "total_orders": orders,
        "avg_order_value": divide_rounded(revenue, orders),
        "total_customers": customers,
        "total_profit": profit,
        "revenue_per_customer": divide_rounded(revenue, customers),
        "repeat_customers": repeat_customers,
        "products_sold": products,
        "units_sold": units,
        "revenue_per_unit": divide_rounded(revenue, units),
    }


def format_money(cents: int | None) -> str:
    if cents is None:
        return NO_VALUE
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def format_count(count: int | None) -> str:
    return NO_VALUE if count is None else f"{count:,}"


def format_kpi(key: str, value: int | None) -> str:
    return format_money(value) if KPIS[key].format == "money" else format_count(value)


# Names of the time chart's parameters the page sets: tick positions (ms) and the labels' format.
PERIOD_TICKS = "period_ticks"
PERIOD_LABEL_FORMAT = "period_label_format"
# Axis ticks are round numbers, so a short form ($1.2B) loses nothing there; tooltips, tables and
# KPIs carry the exact values.
MONEY_TICK_LABEL = (
    "abs(datum.value) >= 1e9 ? format(datum.value / 1e9, '$,~g') + 'B'"
    " : abs(datum.value) >= 1e6 ? format(datum.value / 1e6, '$,~g') + 'M'"
    " : abs(datum.value) >= 1e3 ? format(datum.value / 1e3, '$,~g') + 'K'"
    " : format(datum.value, '$,~g')"
)


def money_axis(across: bool = False) -> alt.Axis:
    """`across`: the axis runs along the chart's width, and gets a tick per 90 px of it at most
    (money labels are wide)."""
    if across:
        return alt.Axis(
            labelExpr=MONEY_TICK_LABEL,
            labelOverlap=True,
            labelSeparation=LABEL_SEPARATION,
            tickCount=alt.ExprRef("ceil(width / 90)"),
        )
    return alt.Axis(labelExpr=MONEY_TICK_LABEL, labelOverlap=True, labelSeparation=LABEL_SEPARATION)


def label_axis(wrapped: bool) -> alt.Axis:
    if not wrapped:
        return alt.Axis(labelLimit=LABEL_LIMIT)
    lines = "split(datum.value, '\\n')"
    kept = ", ".join(f"{lines}[{line}]" for line in range(LABEL_LINES - 1))
    cut = f"[{kept}, {lines}[{LABEL_LINES - 1}] + '\u2026']".replace("[, ", "[")
    return alt.Axis(
        labelLimit=LABEL_LIMIT,
        labelExpr=f"length({lines}) > {LABEL_LINES} ? {cut} : {lines}",
    )


def _bar_chart(
    category: str,
    category_title: str,
    measure: str,
    measure_title: str,
    sort: str | list[str] = "-x",
    wrapped: bool = False,
) -> alt.Chart:
    """Horizontal bars of `measure` per `category`, largest first unless `sort` lists the order.
    `wrapped`: the category values carry line breaks where the page wrapped them; the axis shows
    LABEL_LINES of them and the tooltip the `name` field, unwrapped."""
    money = measure == "revenue"
    # Counts get whole-number ticks only.
    axis = money_axis(across=True) if money else alt.Axis(format=",d", tickMinStep=1)
    tooltip = [
        alt.Tooltip("name:N" if wrapped else f"{category}:N", title=category_title),
        alt.Tooltip(f"{measure}:Q", title=measure_title, format="$,.2f" if money else ",d"),
    ]
    return (
        alt.Chart(alt.NamedData(name=CHART_DATA))
        .mark_bar(color=ACCENT)
        .encode(
            x=alt.X(
                f"{measure}:Q",
                title=measure_title,
                axis=axis,
            ),
            y=alt.Y(f"{category}:N", title=None, sort=sort, axis=label_axis(wrapped)),
            tooltip=tooltip,
        )
        .properties(width=CHART_WIDTH, height=alt.Step(BAR_STEP))
    )


def chart_specs(segments: list[str]) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs, one per chart; each reads the dataset CHART_DATA that the page fills."""
    values = alt.NamedData(name=CHART_DATA)
    # One bar per period, from its first selected day to the day after its last: periods the range
    # cuts short are drawn as narrow as the days they cover. The page computes every field.
    revenue_over_time = (
        alt.Chart(values)
        .mark_bar(color=ACCENT, stroke="#ffffff", strokeWidth=1)
        .encode(
            x=alt.X(
                "start:T",
                title=None,
                scale=alt.Scale(type="utc"),
                # Ticks on the periods' first days, labelled for the grain; the page sets both.
                axis=alt.Axis(
                    values=alt.ExprRef(PERIOD_TICKS),
                    labelExpr=f"utcFormat(datum.value, {PERIOD_LABEL_FORMAT})",
                    labelOverlap="greedy",
                    labelSeparation=LABEL_SEPARATION,
                    labelFlush=True,
                    grid=False,
                ),
            ),
            x2="end:T",
            y=alt.Y("revenue:Q", title="Revenue", axis=money_axis()),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("covered:N", title="Days"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("orders:Q", title="Orders", format=",d"),
            ],
            description=alt.Description("description:N"),
        )
        .add_params(
            alt.param(name=PERIOD_TICKS, value=[]),
            alt.param(name=PERIOD_LABEL_FORMAT, value="%b %d"),
        )
        .properties(width=2 * CHART_WIDTH, height=CHART_HEIGHT)
    )
    segment_bars = _bar_chart("segment", "Segment", "customers", "Customers", sort=segments).encode(
        tooltip=["segment:N", "customers:Q", alt.Tooltip("share:Q", format=".1%")]
    )
    customers_by_segment = alt.layer(
        segment_bars,
        segment_bars.mark_text(align="left", dx=4).encode(
            text="label:N", color=alt.value("#1f2933")
        ),
    )
    revenue_by_customer = (
        alt.Chart(values)
        .mark_bar(color=ACCENT)
        .encode(
            x=alt.X(
                "revenue:Q",
                bin=alt.Bin(maxbins=20),
                title="Revenue per customer",
                axis=money_axis(across=True),
            ),
            y=alt.Y("sum(customers):Q", title="Customers"),
            tooltip=[
                alt.Tooltip("revenue:Q", bin=alt.Bin(maxbins=20), title="Revenue", format="$,.0f"),
                alt.Tooltip("sum(customers):Q", title="Customers", format=",d"),
            ],
        )
        .properties(width=CHART_WIDTH, height=CHART_HEIGHT)
    )
    charts: dict[str, alt.TopLevelMixin] = {
        "revenue_over_time": revenue_over_time,
        "revenue_by_category": _bar_chart("category", "Category", "revenue", "Revenue"),
        "top_products": _bar_chart("product", "Product", "revenue", "Revenue", wrapped=True),
        "customers_by_segment": customers_by_segment,
        "customers_by_status": _bar_chart(
            "status", "Status", "customers", "Customers", sort=list(CUSTOMER_STATUSES)
        ),
        "revenue_by_customer": revenue_by_customer,
        "products_by_tier": _bar_chart(
            "tier", "Performance tier", "products", "Products", sort=list(PERFORMANCE_TIERS)
        ),
    }
    # The page replaces each chart's data after embedding it and sets each chart's width to its
    # card's: the layout must follow the new axis labels and fit the whole chart, axes included,
    # in that width, which Vega does with fit-x and resize on.
    autosize = alt.AutoSizeParams(type="fit-x", contains="padding", resize=True)
    return {
        name: chart.properties(autosize=autosize).configure_view(stroke=None).to_dict(validate=True)
        for name, chart in charts.items()
    }


BUNDLE_CACHE = PROJECT_ROOT / ".cache"


@functools.cache
def vega_bundle(cache_folder: Path = BUNDLE_CACHE) -> str:
    """Vega, Vega-Lite and Vega-Embed in one script that puts them on `window`, from vl-convert's
    wheel (built offline; nothing is fetched when the page opens). Building it takes seconds
    (measured here: 4.6 s, a sixth of a nightly run), so it is kept in `cache_folder` per
    vl-convert and Vega-Lite version."""
    cached = cache_folder / f"vega-bundle-{vl_convert.__version__}-vl{VEGA_LITE_VERSION}.js"
    try:
        bundle = cached.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
        # A read-only checkout still builds the page, only slower.
        with contextlib.suppress(OSError):
            write_atomically(cached, bundle)
    if "</script" in bundle.lower():
        raise ValueError("the Vega bundle contains '</script' and cannot be inlined")
    return bundle


def static_file(name: str) -> str:
    return (resources.files("sales_analytics.core") / "dashboard_static" / name).read_text("utf-8")


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<' can close it early."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def render_tabs() -> str:
    return "\n".join(
        f'<button type="button" role="tab" id="tab-{page.slug}" data-page="{page.slug}"'
        f' aria-controls="page-{page.slug}" aria-selected="{"true" if index == 0 else "false"}">'
        f"{_escape(page.title)}</button>"
        for index, page in enumerate(PAGES)
    )


def render_slicers(payload: dict[str, Any]) -> str:
    first, last = payload["first_day"] or "", payload["last_day"] or ""
    bounds = f'min="{first}" max="{last}"'

    def checkboxes(name: str, values: list[str]) -> str:
        return "\n".join(
            f'<label><input type="checkbox" name="{name}" value="{index}" checked> '
            f"{_escape(value)}</label>"
            for index, value in enumerate(values)
        )

    return "\n".join(
        [
            "<fieldset><legend>Date range</legend>",
            f'<label>From <input type="date" id="slicer-from" {bounds} value="{first}"></label>',
            f'<label>To <input type="date" id="slicer-to" {bounds} value="{last}"></label>',
            "</fieldset>",
            "<fieldset><legend>Product category</legend>",
            checkboxes("slicer-category", payload["categories"]),
            "</fieldset>",
            "<fieldset><legend>Customer segment</legend>",
            checkboxes("slicer-segment", payload["segments"]),
            "</fieldset>",
            '<button type="button" id="slicer-reset">Reset slicers</button>',
            '<p id="selection-summary" aria-live="polite">'
            f"{format_count(payload['transactions_total'])} transactions</p>",
        ]
    )


def render_visual(visual: Visual) -> str:
    wide = " wide" if visual.wide else ""
    title = _escape(visual.title)
    if visual.kind == "chart":
        body = (
            f'<div class="chart" role="figure" data-chart="{visual.key}"'
            f' aria-label="{title}"></div>'
        )
    else:
        headers = "".join(
            f'<th scope="col" class="{"num" if numeric else "text"}">{_escape(header)}</th>'
            for header, numeric in visual.columns
        )
        body = (
            f'<table data-table="{visual.key}"><caption hidden>{title}</caption>'
            f"<thead><tr>{headers}</tr></thead><tbody></tbody></table>"
        )
    heading = f"<h3>{title}</h3>"
    if visual.grains:
        options = "".join(
            f'<option value="{grain}"{" selected" if index == 0 else ""}>'
            f"{grain.capitalize()}</option>"
            for index, grain in enumerate(visual.grains)
        )
        heading = (
            f'<div class="visual-head"><h3>{title}'
            f' <span class="grain-label" data-grain-label="{visual.key}"></span></h3>'
            f'<label class="grain">Per <select data-grain-for="{visual.key}">{options}</select>'
            "</label></div>"
        )
    return f'<div class="visual{wide}">{heading}{body}</div>'


def customer_scope_note(payload: dict[str, Any]) -> str:
    """Said beside the customer figures when they cannot follow every slicer (summary mode)."""
    if payload["exact_customers"]:
        return ""
    return (
        f"Customer figures (customer counts, repeat customers, revenue per customer, the customer"
        f" charts and the top 10) cover all dates and categories and follow the segment slicer"
        f" only: with {format_count(payload['transactions_total'])} transactions the page carries"
        f" per-segment summaries instead of every customer's sales (up to"
        f" {format_count(EXACT_CUSTOMER_LIMIT)} transactions they follow every slicer)."
    )


def render_page(page: DashboardPage, kpis: dict[str, int | None], scope_note: str = "") -> str:
    cards = "\n".join(
        f'<div class="kpi"><div class="kpi-label">{_escape(KPIS[key].label)}</div>'
        f'<div class="kpi-value" data-kpi="{key}" data-format="{KPIS[key].format}">'
        f"{_escape(format_kpi(key, kpis[key]))}</div></div>"
        for key in page.kpis
    )
    visuals = "\n".join(render_visual(visual) for visual in page.visuals)
    note = (
        f'<p class="scope-note" data-scope-note>{_escape(scope_note)}</p>\n'
        if scope_note and any(key in CUSTOMER_KPIS for key in page.kpis)
        else ""
    )
    return (
        f'<section class="page" id="page-{page.slug}" role="tabpanel"'
        f' aria-labelledby="tab-{page.slug}" data-page="{page.slug}">\n'
        f"<h2>{_escape(page.title)}</h2>\n{note}"
        f'<div class="kpis">\n{cards}\n</div>\n<div class="visuals">\n{visuals}\n</div>\n</section>'
    )


def render_dashboard(
    payload: dict[str, Any],
    kpis: dict[str, int | None],
    *,
    as_of: date | None,
    generated_at: datetime,
    bundle: str,
) -> str:
    meta = [f"Built {generated_at:%Y-%m-%d %H:%M} UTC"]
    if as_of:
        meta.insert(0, f"Data as of {as_of.isoformat()}")
    if payload["first_day"]:
        meta.append(f"transactions {payload['first_day']} to {payload['last_day']}")
    return Template(static_file("dashboard.html")).substitute(
        content_security_policy=CONTENT_SECURITY_POLICY,
        generator=f"vega-lite {VEGA_LITE_VERSION}",
        css=static_file("dashboard.css"),
        meta=_escape(" · ".join(meta)),
        tabs=render_tabs(),
        slicers=render_slicers(payload),
        pages="\n".join(render_page(page, kpis, customer_scope_note(payload)) for page in PAGES),
        notes="\n".join(f"<p>{_escape(note)}</p>" for note in NOTES),
        data_json=script_json(payload),
        chart_specs_json=script_json(chart_specs(payload["segments"])),
        vega_bundle=bundle,
        app_js=static_file("dashboard.js"),
    )


def write_atomically(path: Path, text: str) -> int:
    """Write `text` beside `path` and rename it over `path`; returns the size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_beside(path)
    try:
        temp.write_text(text, encoding="utf-8")
        fsync_file(temp)
        os.replace(temp, path)
    finally:
        remove_quietly(temp)
    fsync_folder(path.parent)
    return path.stat().st_size


def build_dashboard(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    exact_customer_limit: int = EXACT_CUSTOMER_LIMIT,
) -> DashboardOutcome:
    """Read the marts through `connection` and (re)write the dashboard at `path`."""
    started = time.perf_counter()
    marts = read_marts(connection, exact_customer_limit)
    payload = dashboard_payload(marts)
    kpis = default_view_kpis(connection)
    page = render_dashboard(
        payload,
        kpis,
        as_of=marts.as_of,
        generated_at=datetime.now(UTC),
        bundle=vega_bundle(),
    )
    size = write_atomically(path, page)
    return DashboardOutcome(
        path=path,
        size_bytes=size,
        transactions=marts.transactions,
        kpis=kpis,
        seconds=time.perf_counter() - started,
        exact_customers=marts.exact_customers,
    )
