"""The dashboard in headless Chromium, opened from disk as a person would: its pages, KPIs and
tables, its slicers, and not one request leaving the machine.

Skips where no Chromium is installed, unless SALES_ANALYTICS_REQUIRE_BROWSER=1 (set by .ci/run
after installing Debian's chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from sales_analytics.core.dashboard import build_dashboard
from sales_analytics_tests.bi.chromium import Page, find_chromium, headless_chromium
from sales_analytics_tests.bi.conftest import BiRun
from sales_analytics_tests.bi.expected import (
    PAGE_KPIS,
    PAGE_TITLES,
    count,
    expected_kpis,
    expected_product_rows,
    expected_top_customers,
    money,
)

REQUIRE_BROWSER = "SALES_ANALYTICS_REQUIRE_BROWSER"
LOCAL_SCHEMES = {"file", "data", "blob", "about"}


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        message = "no Chromium installed (Debian: apt-get install chromium)"
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{message}, and {REQUIRE_BROWSER}=1 requires the browser test to run")
        pytest.skip(message)
    return executable


@pytest.fixture(scope="module")
def page(chromium: str, bi_run: BiRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    folder = tmp_path_factory.mktemp("chromium")
    with headless_chromium(chromium, folder / "profile", folder / "chromium.log") as browser:
        page = browser.new_page()
        page.send("Page.navigate", {"url": bi_run.dashboard.resolve().as_uri()})
        page.wait_for(
            "document.documentElement.dataset.ready === 'true'"
            " || document.documentElement.dataset.error",
            timeout=60,
        )
        yield page


def evaluate_json(page: Page, expression: str):
    return json.loads(page.evaluate(f"JSON.stringify({expression})"))


def kpis_on(page: Page, slug: str) -> dict[str, str]:
    return evaluate_json(
        page,
        f"Object.fromEntries([...document.querySelectorAll('#page-{slug} [data-kpi]')]"
        ".map((element) => [element.dataset.kpi, element.textContent]))",
    )


def table_rows(page: Page, name: str) -> list[list[str]]:
    return evaluate_json(
        page,
        f"[...document.querySelectorAll('table[data-table={name}] tbody tr')]"
        ".map((row) => [...row.cells].map((cell) => cell.textContent))",
    )


def chart_texts(page: Page, name: str) -> list[str]:
    return evaluate_json(
        page,
        f"[...document.querySelectorAll('[data-chart={name}] svg text')]"
        ".map((text) => text.textContent)",
    )


def renders(page: Page) -> int:
    return int(page.evaluate("document.documentElement.dataset.renders || '0'"))


def act(page: Page, script: str) -> None:
    """Run a user action and wait until the page has redrawn everything after it."""
    before = renders(page)
    page.evaluate(script)
    page.wait_for(f"Number(document.documentElement.dataset.renders) > {before}", timeout=30)


def click(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).click()"


def set_date(element_id: str, day: date) -> str:
    return (
        f"(() => {{ const input = document.getElementById('{element_id}');"
        f" input.value = '{day.isoformat()}';"
        " input.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )


def all_kpis(page: Page) -> dict[str, dict[str, str]]:
    return {slug: kpis_on(page, slug) for slug in PAGE_KPIS}


def expected_by_page(expected: dict[str, str]) -> dict[str, dict[str, str]]:
    return {slug: {key: expected[key] for key in keys} for slug, keys in PAGE_KPIS.items()}


def test_the_page_opens_from_disk_with_no_network_and_no_error(page: Page) -> None:
    assert page.evaluate("document.documentElement.dataset.error || ''") == ""
    assert page.console_errors() == []
    requested = page.requested_urls()
    assert requested, "the browser reported no request at all: the network log is not working"
    leaving = [url for url in requested if urlsplit(url).scheme not in LOCAL_SCHEMES]
    assert leaving == [], "requests that would leave the machine"


def test_three_pages_with_default_kpis_and_tables_equal_to_sql(
    page: Page, bi_run: BiRun, tmp_path: Path
) -> None:
    titles = evaluate_json(
        page, "[...document.querySelectorAll('section.page h2')].map((h) => h.textContent)"
    )
    assert titles == PAGE_TITLES
    with bi_run.connect_warehouse() as warehouse:
        assert all_kpis(page) == expected_by_page(expected_kpis(warehouse))
        assert table_rows(page, "top_customers") == expected_top_customers(warehouse)
        assert table_rows(page, "products") == expected_product_rows(warehouse)
    assert "electronics" in chart_texts(page, "revenue_by_category")
    for slug in PAGE_KPIS:
        page.evaluate(click(f"#tab-{slug}"))
        assert page.evaluate(f"!document.getElementById('page-{slug}').hidden")
        assert page.evaluate("document.querySelectorAll('section.page:not([hidden])').length") == 1
        page.wait_for(f"document.querySelectorAll('#page-{slug} [data-chart] svg').length > 0")
        shot = page.screenshot(tmp_path / f"{slug}.png")
        assert shot.stat().st_size > 10_000


def test_slicers_change_every_visual_of_every_page(
    page: Page, bi_run: BiRun, tmp_path: Path
) -> None:
    act(page, click("#slicer-reset"))
    default = all_kpis(page)
    with bi_run.connect_warehouse() as warehouse:
        first_day, last_day = warehouse.execute(
            "select min(transaction_date), max(transaction_date) from marts.fct_transactions"
        ).fetchone()

        act(page, click("input[name='slicer-category'][value='0']"))  # electronics, sorted first
        without_electronics = expected_kpis(warehouse, excluded_categories=["electronics"])
        assert all_kpis(page) == expected_by_page(without_electronics)
        assert (
            all_kpis(page)["sales-overview"]["total_revenue"]
            != (default["sales-overview"]["total_revenue"])
        )
        assert "electronics" not in chart_texts(page, "revenue_by_category")
        assert "electronics" not in [row[1] for row in table_rows(page, "products")]

        act(page, click("input[name='slicer-segment'][value='0']"))  # Bronze
        assert all_kpis(page) == expected_by_page(
            expected_kpis(
                warehouse, excluded_categories=["electronics"], excluded_segments=["Bronze"]
            )
        )
        assert "Bronze" not in [row[2] for row in table_rows(page, "top_customers")]
        assert "Bronze" not in chart_texts(page, "customers_by_segment")

        date_from, date_to = first_day + timedelta(days=30), last_day - timedelta(days=30)
        act(page, set_date("slicer-from", date_from))
        act(page, set_date("slicer-to", date_to))
        assert all_kpis(page) == expected_by_page(
            expected_kpis(
                warehouse,
                date_from=date_from,
                date_to=date_to,
                excluded_categories=["electronics"],
                excluded_segments=["Bronze"],
            )
        )
        page.evaluate(click("#tab-sales-overview"))
        page.screenshot(tmp_path / "sliced-sales-overview.png")

    act(page, click("#slicer-reset"))
    assert all_kpis(page) == default


@pytest.fixture(scope="module")
def variant_warehouse(bi_run: BiRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's warehouse with the second-best customer renamed to the best one's name."""
    folder = tmp_path_factory.mktemp("variant")
    warehouse = folder / "warehouse.duckdb"
    shutil.copyfile(bi_run.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        (first, name), (second, _) = connection.execute(
            "select customer_id, full_name from marts.dim_customers"
            " order by lifetime_value desc, customer_id limit 2"
        ).fetchall()
        connection.execute(
            "update marts.dim_customers set full_name = ? where customer_id = ?", [name, second]
        )
        connection.execute(
            "update marts.fct_transactions set customer_name = ? where customer_id = ?",
            [name, second],
        )
    return warehouse


def dashboard_page(chromium: str, dashboard: Path, folder: Path) -> Iterator[Page]:
    with headless_chromium(chromium, folder / "profile", folder / "chromium.log") as browser:
        page = browser.new_page()
        page.send("Page.navigate", {"url": dashboard.resolve().as_uri()})
        page.wait_for(
            "document.documentElement.dataset.ready === 'true'"
            " || document.documentElement.dataset.error",
            timeout=60,
        )
        yield page


@pytest.fixture(scope="module")
def namesake_page(
    chromium: str, variant_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Page]:
    folder = tmp_path_factory.mktemp("namesakes")
    with duckdb.connect(str(variant_warehouse), read_only=True) as connection:
        build_dashboard(connection, folder / "index.html")
    yield from dashboard_page(chromium, folder / "index.html", folder)


@pytest.fixture(scope="module")
def summary_page(
    chromium: str, variant_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Page]:
    """The dashboard as it is built beyond EXACT_CUSTOMER_LIMIT transactions."""
    folder = tmp_path_factory.mktemp("summary")
    with duckdb.connect(str(variant_warehouse), read_only=True) as connection:
        outcome = build_dashboard(connection, folder / "index.html", exact_customer_limit=0)
    assert not outcome.exact_customers
    yield from dashboard_page(chromium, folder / "index.html", folder)


def test_two_customers_with_one_name_are_two_rows(
    namesake_page: Page, variant_warehouse: Path
) -> None:
    rows = table_rows(namesake_page, "top_customers")
    with duckdb.connect(str(variant_warehouse), read_only=True) as warehouse:
        expected = expected_top_customers(warehouse)
    assert rows == expected
    assert rows[0][1] == rows[1][1], "the two best customers share a name"
    assert rows[0][0] != rows[1][0], "and keep their own IDs and revenue"


def whole_period_customer_kpis(
    connection: duckdb.DuckDBPyConnection, excluded_segments: list[str]
) -> dict[str, str]:
    customers, repeat, revenue = connection.execute(
        "select count(*), count(*) filter (where total_orders > 1), sum(lifetime_value)"
        " from marts.dim_customers where total_orders > 0"
        " and not list_contains(cast(? as varchar[]), customer_segment)",
        [excluded_segments],
    ).fetchone()
    return {
        "total_customers": count(customers),
        "repeat_customers": count(repeat),
        "revenue_per_customer": money(revenue / customers),
    }


def test_beyond_the_limit_customer_figures_follow_the_segment_slicer_and_say_so(
    summary_page: Page, variant_warehouse: Path
) -> None:
    page = summary_page
    assert page.evaluate("document.documentElement.dataset.error || ''") == ""
    note = page.evaluate(
        "document.querySelector('#page-customer-analysis [data-scope-note]').textContent"
    )
    assert "follow the segment slicer only" in note
    with duckdb.connect(str(variant_warehouse), read_only=True) as warehouse:
        sales_kpis = expected_kpis(warehouse)
        customer_kpis = whole_period_customer_kpis(warehouse, [])
        assert kpis_on(page, "customer-analysis") == customer_kpis
        assert kpis_on(page, "product-performance") == {
            key: sales_kpis[key] for key in PAGE_KPIS["product-performance"]
        }
        assert table_rows(page, "top_customers") == expected_top_customers(warehouse)

        act(page, click("input[name='slicer-segment'][value='0']"))  # Bronze
        assert kpis_on(page, "customer-analysis") == whole_period_customer_kpis(
            warehouse, ["Bronze"]
        )
        assert table_rows(page, "top_customers") == expected_top_customers(
            warehouse, excluded_segments=["Bronze"]
        )
        without_bronze = expected_kpis(warehouse, excluded_segments=["Bronze"])
        assert kpis_on(page, "sales-overview")["total_revenue"] == without_bronze["total_revenue"]
    act(page, click("#slicer-reset"))
