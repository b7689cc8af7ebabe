"""The dashboard file the session's run wrote, read as HTML (no browser), and the pure pieces of
sales_analytics.core.dashboard."""

from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser

import duckdb
import polars as pl
import pytest

from sales_analytics.core.dashboard import (
    CONTENT_SECURITY_POLICY,
    DashboardDataError,
    chart_specs,
    codes,
    dashboard_payload,
    default_view_kpis,
    distinct_labels,
    divide_rounded,
    format_count,
    format_money,
    ordered_values,
    read_marts,
    render_dashboard,
)
from sales_analytics_tests.bi.conftest import BiRun
from sales_analytics_tests.bi.expected import PAGE_KPIS, PAGE_TITLES, expected_kpis


class DashboardParser(HTMLParser):
    """Collects what the tests look at: pages, KPI texts, external references, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.page: str | None = None
        self.pages: dict[str, str] = {}
        self.kpis: dict[str, dict[str, str]] = {}
        self.external: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.meta: dict[str, str] = {}
        self._capture: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href", "srcset", "poster", "action", "data"):
            if attributes.get(name):
                self.external.append(f"{tag} {name}={attributes[name]}")
        if tag == "link":
            self.external.append(f"link {attributes}")
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "meta" and attributes.get("http-equiv"):
            self.meta[attributes["http-equiv"]] = attributes.get("content") or ""
        if tag == "section" and attributes.get("data-page"):
            self.page = attributes["data-page"]
            self.kpis[self.page] = {}
        if tag == "h2" and self.page:
            self._capture, self._text = ("title", self.page), []
        if attributes.get("data-kpi") and self.page:
            self._capture, self._text = ("kpi", attributes["data-kpi"]), []

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self._capture or tag not in ("h2", "div"):
            return
        kind, key = self._capture
        if kind == "title":
            self.pages[key] = "".join(self._text)
        else:
            self.kpis[self.page][key] = "".join(self._text)
        self._capture = None


@pytest.fixture(scope="module")
def parsed(bi_run: BiRun) -> DashboardParser:
    parser = DashboardParser()
    parser.feed(bi_run.dashboard.read_text("utf-8"))
    return parser


def test_the_three_pages_have_the_users_titles_and_kpi_cards(parsed: DashboardParser) -> None:
    assert list(parsed.pages.values()) == PAGE_TITLES
    assert {page: list(kpis) for page, kpis in parsed.kpis.items()} == PAGE_KPIS


def test_default_view_kpis_equal_sql_over_the_marts(parsed: DashboardParser, bi_run: BiRun) -> None:
    with bi_run.connect_warehouse() as warehouse:
        expected = expected_kpis(warehouse)
    for page, kpis in parsed.kpis.items():
        assert kpis == {key: expected[key] for key in PAGE_KPIS[page]}, page


def test_the_file_loads_nothing_from_anywhere(parsed: DashboardParser, bi_run: BiRun) -> None:
    assert parsed.external == []
    assert all("src" not in script for script in parsed.scripts), "every script is inline"
    assert parsed.meta["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    size_kb = bi_run.dashboard.stat().st_size / 1024
    assert size_kb < 2048, f"the dashboard grew to {size_kb:.0f} KB"


def embedded_payload(path) -> dict:
    page = path.read_text("utf-8")
    start = page.index('<script type="application/json" id="dashboard-data">')
    return json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])


def test_the_embedded_data_is_the_marts(bi_run: BiRun) -> None:
    payload = embedded_payload(bi_run.dashboard)
    with bi_run.connect_warehouse() as warehouse:
        fct = warehouse.sql("select * from marts.fct_transactions").pl()
        categories = warehouse.sql(
            "select distinct product_category from marts.dim_products order by 1"
        ).pl()
        (customers_with_orders,) = warehouse.execute(
            "select count(distinct customer_id) from marts.fct_transactions"
        ).fetchone()
    sales = payload["sales"]
    assert payload["transactions_total"] == fct.height
    assert sum(sales["orders"]) == fct.height
    assert sum(sales["revenue_cents"]) == int(fct["total_amount"].sum() * 100)
    assert sum(sales["units"]) == fct["quantity"].sum()
    assert payload["first_day"] == fct["transaction_date"].min().isoformat()
    assert payload["categories"] == categories["product_category"].to_list()
    assert payload["segments"] == ["Bronze", "Silver", "Gold", "Platinum"]
    assert payload["exact_customers"] is True
    per_customer = payload["customer_sales"]
    assert sum(per_customer["orders"]) == fct.height
    assert len(set(per_customer["customer"])) == customers_with_orders


def test_the_page_weighs_the_days_not_the_transactions(bi_run: BiRun) -> None:
    """The sales the page carries are per day, product and segment: their count is bounded by
    the calendar and the catalog, whatever the volume of transactions."""
    payload = embedded_payload(bi_run.dashboard)
    with bi_run.connect_warehouse() as warehouse:
        (groups,) = warehouse.execute(
            "select count(*) from (select distinct transaction_date, product_id,"
            " product_category, customer_segment from marts.fct_transactions)"
        ).fetchone()
    assert len(payload["sales"]["day"]) == groups < payload["transactions_total"]


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (123456789, "$1,234,567.89"), (-1050, "-$10.50"), (None, "—")],
)
def test_money_is_formatted_from_whole_cents(cents: int | None, text: str) -> None:
    assert format_money(cents) == text


def test_counts_and_ratios() -> None:
    assert format_count(1234567) == "1,234,567"
    assert divide_rounded(1, 2) == 1, "halves round away from zero, as the page's script"
    assert divide_rounded(-1, 2) == -1
    assert divide_rounded(10, 4) == 3
    assert divide_rounded(10, 3) == 3
    assert divide_rounded(5, 0) is None


def test_lookup_codes_name_a_value_the_lookup_lacks() -> None:
    assert codes(pl.Series(["b", "a", "b"]), ["a", "b"], "letter") == [1, 0, 1]
    with pytest.raises(DashboardDataError, match="transaction customer_id 'CUST-9'"):
        codes(pl.Series(["CUST-1", "CUST-9"]), ["CUST-1"], "transaction customer_id")


def test_segments_keep_the_business_order() -> None:
    assert ordered_values(["Gold", "Bronze", "Gold", "Diamond"], ("Bronze", "Silver", "Gold")) == [
        "Bronze",
        "Gold",
        "Diamond",
    ]


def test_a_warehouse_without_transactions_still_renders() -> None:
    with duckdb.connect() as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.fct_transactions (transaction_id varchar, transaction_date date,"
            " transaction_timestamp timestamp, product_id integer, customer_id varchar,"
            " product_category varchar, customer_segment varchar, quantity integer,"
            " total_amount decimal(18,2), estimated_profit decimal(18,2))"
        )
        connection.execute(
            "create table marts.dim_products as select 1 as product_id, 'Mug' as product_name,"
            " 'kitchen' as product_category, 'No Sales' as performance_tier,"
            " 'Budget' as price_tier, 0 as total_orders"
        )
        connection.execute(
            "create table marts.dim_customers as select 'CUST-000001' as customer_id,"
            " 'Ada Lovelace' as full_name, 'Gold' as customer_segment,"
            " 'Never Purchased' as customer_status, 0 as total_orders,"
            " cast(0 as decimal(18,2)) as lifetime_value, date '2026-01-31' as status_as_of_date"
        )
        marts = read_marts(connection)
        kpis = default_view_kpis(connection)
    payload = dashboard_payload(marts)
    assert payload["first_day"] is None
    assert payload["sales"]["day"] == []
    assert payload["transactions_total"] == 0
    assert kpis["total_orders"] == 0
    assert kpis["avg_order_value"] is None
    page = render_dashboard(
        payload,
        kpis,
        as_of=marts.as_of,
        generated_at=datetime(2026, 1, 31, 6, 0),
        bundle="/* no charts */",
    )
    assert 'data-kpi="avg_order_value" data-format="money">—<' in page
    assert "Data as of 2026-01-31" in page
    assert "data-scope-note" not in page


def test_names_shared_by_two_ids_get_the_id_in_chart_labels() -> None:
    assert distinct_labels(["Mug", "Cup", "Mug"], ["1", "2", "3"]) == [
        "Mug (#1)",
        "Cup",
        "Mug (#3)",
    ]


def test_the_vega_bundle_is_built_once_and_kept(tmp_path) -> None:
    from sales_analytics.core.dashboard import vega_bundle

    built = vega_bundle(tmp_path)
    (cached,) = tmp_path.iterdir()
    assert cached.read_text("utf-8") == built
    assert "vega" in built.lower()
    cached.write_text("/* what the next build reads */", encoding="utf-8")
    vega_bundle.cache_clear()
    assert vega_bundle(tmp_path) == "/* what the next build reads */"
    vega_bundle.cache_clear()


def test_revenue_over_time_offers_auto_day_week_and_month(bi_run: BiRun) -> None:
    page = bi_run.dashboard.read_text("utf-8")
    start = page.index('<select data-grain-for="revenue_over_time">')
    options = page[start : page.index("</select>", start)]
    assert [part.split('"')[0] for part in options.split('<option value="')[1:]] == [
        "auto",
        "day",
        "week",
        "month",
    ]
    assert '<option value="auto" selected>' in options


def test_every_chart_fits_the_width_the_page_gives_it(bi_run: BiRun) -> None:
    payload = embedded_payload(bi_run.dashboard)
    specs = chart_specs(payload["segments"])
    assert {name: spec["autosize"]["type"] for name, spec in specs.items()} == {
        name: "fit-x" for name in specs
    }
