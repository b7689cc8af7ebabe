"""The dashboard in headless Chromium, opened from disk as a person would: its pages, KPIs and
tables, its slicers, its time chart per day, week or month, its layout at 800 and 1400 px wide
(with money in the tens of billions and long product names), and not one request leaving the
machine. One browser serves the module; each dashboard opens in its own tab.

Skips where no Chromium is installed, unless SALES_ANALYTICS_REQUIRE_BROWSER=1 (set by .ci/run
after installing Debian's chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from sales_analytics.core.dashboard import build_dashboard
from sales_analytics_tests.bi.chromium import Browser, Page, find_chromium, headless_chromium
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
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    folder = tmp_path_factory.mktemp("chromium")
    with headless_chromium(chromium, folder / "profile", folder / "chromium.log") as browser:
        yield browser


def open_dashboard(browser: Browser, dashboard: Path) -> Page:
    page = browser.new_page()
    page.send("Page.navigate", {"url": dashboard.resolve().as_uri()})
    page.wait_for(
        "document.documentElement.dataset.ready === 'true'"
        " || document.documentElement.dataset.error",
        timeout=60,
    )
    return page


@pytest.fixture(scope="module")
def page(browser: Browser, bi_run: BiRun) -> Page:
    return open_dashboard(browser, bi_run.dashboard)


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


# Money times this in the variant warehouse: the session's ~1,000 transactions then add up to tens
# of billions of dollars, more than 10 million generated transactions do (~$4.9 billion).
MONEY_SCALE = 100_000
LONG_PRODUCT_NAME = (
    "Extraordinarily Comfortable Ergonomic Adjustable Office Chair with Lumbar Support,"
    " Breathable Mesh Back and Headrest (Model ERGO-PRO-X9000-ULTRAWIDE-EDITION-2026)"
)


@pytest.fixture(scope="module")
def variant_warehouse(bi_run: BiRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's warehouse with the second-best customer renamed to the best one's name, every
    amount of money times MONEY_SCALE (exact: whole cents stay whole) and the best-selling
    product renamed to LONG_PRODUCT_NAME."""
    folder = tmp_path_factory.mktemp("variant")
    warehouse = folder / "warehouse.duckdb"
    shutil.copyfile(bi_run.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            f"update marts.fct_transactions set total_amount = total_amount * {MONEY_SCALE},"
            f" estimated_profit = estimated_profit * {MONEY_SCALE}"
        )
        connection.execute(
            f"update marts.dim_customers set lifetime_value = lifetime_value * {MONEY_SCALE}"
        )
        connection.execute(
            f"update marts.dim_products set total_revenue = total_revenue * {MONEY_SCALE}"
        )
        connection.execute(
            "update marts.dim_products set product_name = ? where product_id ="
            " (select product_id from marts.dim_products order by total_revenue desc limit 1)",
            [LONG_PRODUCT_NAME],
        )
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


@pytest.fixture(scope="module")
def namesake_page(
    browser: Browser, variant_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Page:
    folder = tmp_path_factory.mktemp("namesakes")
    with duckdb.connect(str(variant_warehouse), read_only=True) as connection:
        build_dashboard(connection, folder / "index.html")
    return open_dashboard(browser, folder / "index.html")


@pytest.fixture(scope="module")
def summary_page(
    browser: Browser, variant_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Page:
    """The dashboard as it is built beyond EXACT_CUSTOMER_LIMIT transactions (as at 10 million)."""
    folder = tmp_path_factory.mktemp("summary")
    with duckdb.connect(str(variant_warehouse), read_only=True) as connection:
        outcome = build_dashboard(connection, folder / "index.html", exact_customer_limit=0)
    assert not outcome.exact_customers
    return open_dashboard(browser, folder / "index.html")


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


# --- revenue over time per day, week or month ----------------------------------------------


def set_grain(grain: str) -> str:
    return (
        "(() => { const select ="
        " document.querySelector(\"select[data-grain-for='revenue_over_time']\");"
        f" select.value = '{grain}';"
        " select.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )


def time_bars(page: Page) -> list[str]:
    """What each bar of the time chart says of itself (its accessible name), left to right."""
    return evaluate_json(
        page,
        '[...document.querySelectorAll("[data-chart=revenue_over_time] svg path[aria-label]")]'
        ".filter((bar) => bar.getAttribute('aria-roledescription') === 'bar')"
        ".map((bar) => bar.getAttribute('aria-label'))",
    )


def period_name(grain: str, start: date) -> str:
    if grain == "week":
        return f"Week of {start.isoformat()}"
    if grain == "month":
        return f"{start:%B} {start.year}"
    return start.isoformat()


def expected_periods(
    connection: duckdb.DuckDBPyConnection,
    grain: str,
    date_from: date,
    date_to: date,
    excluded_categories: list[str],
    excluded_segments: list[str],
) -> list[str]:
    """Revenue and orders per date_trunc period of every day in [date_from, date_to], periods
    without sales included, from the transactions the slicers keep."""
    rows = connection.execute(
        "with days as (select cast(unnest(generate_series(cast(? as date), cast(? as date),"
        "   interval 1 day)) as date) as day),"
        " sales as (select transaction_date as day, sum(total_amount) as revenue,"
        "   count(*) as orders from marts.fct_transactions"
        "   where not list_contains(cast(? as varchar[]), product_category)"
        "   and not list_contains(cast(? as varchar[]), customer_segment) group by all)"
        " select cast(date_trunc(?, days.day) as date) as period,"
        "  coalesce(sum(revenue), 0), coalesce(sum(orders), 0)"
        " from days left join sales using (day) group by all order by period",
        [date_from, date_to, excluded_categories, excluded_segments, grain],
    ).fetchall()
    return [
        f"{period_name(grain, period)}: {money(revenue)}, {count(orders)} orders"
        for period, revenue, orders in rows
    ]


def test_revenue_over_time_per_day_week_and_month_equals_sql_under_slicers(
    page: Page, bi_run: BiRun
) -> None:
    act(page, click("#slicer-reset"))
    page.evaluate(click("#tab-sales-overview"))
    with bi_run.connect_warehouse() as warehouse:
        first_day, last_day = warehouse.execute(
            "select min(transaction_date), max(transaction_date) from marts.fct_transactions"
        ).fetchone()
        # The whole range is 90 days: "auto" adds up per week (day up to 62 days).
        assert (last_day - first_day).days + 1 > 62
        assert page.evaluate("document.querySelector('[data-grain-label]').textContent") == (
            "per week"
        )
        assert time_bars(page) == expected_periods(warehouse, "week", first_day, last_day, [], [])

        # A Wednesday to the 10th of a later month: weeks and months cut short at both ends.
        date_from = first_day + timedelta(days=(2 - first_day.weekday()) % 7 + 7)
        date_to = (date_from + timedelta(days=45)).replace(day=10)
        act(page, click("input[name='slicer-category'][value='0']"))  # electronics
        act(page, click("input[name='slicer-segment'][value='1']"))  # Silver
        act(page, set_date("slicer-from", date_from))
        act(page, set_date("slicer-to", date_to))
        sliced = (warehouse, date_from, date_to, ["electronics"], ["Silver"])
        assert page.evaluate("document.querySelector('[data-grain-label]').textContent") == (
            "per day"
        ), "a range of 62 days or fewer is drawn per day"
        for grain in ("month", "week", "day"):
            act(page, set_grain(grain))
            bars = time_bars(page)
            assert bars == expected_periods(sliced[0], grain, *sliced[1:]), grain
            assert page.evaluate("document.querySelector('[data-grain-label]').textContent") == (
                f"per {grain}"
            )
        assert len(bars) == (date_to - date_from).days + 1
        # Every grain adds up to the same exact total, the KPI's.
        assert (
            all_kpis(page)["sales-overview"]["total_revenue"]
            == expected_kpis(
                warehouse,
                date_from=date_from,
                date_to=date_to,
                excluded_categories=["electronics"],
                excluded_segments=["Silver"],
            )["total_revenue"]
        )
    act(page, set_grain("auto"))
    act(page, click("#slicer-reset"))


# --- layout at 800 and 1400 px wide --------------------------------------------------------

# Everything drawn inside a KPI card or a visual's card must lie within it (SVG text included),
# and no HTML element may hold content wider than itself; the document must be no wider than the
# window; each chart must be as wide as its card; no two visible axis labels may touch. Returns
# what breaks these rules, as text.
LAYOUT_PROBLEMS = """(() => {
  const problems = [];
  const LABEL_GAP = 2;  // px between two axis labels on one line, or they read as one
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`document ${doc.scrollWidth}px wide in a ${doc.clientWidth}px window`);
  }
  const name = (element) => `${element.tagName.toLowerCase()}`
    + `${element.className && typeof element.className === 'string' ? '.' + element.className : ''}`
    + ` "${(element.textContent || '').slice(0, 40)}"`;
  const cards = document.querySelectorAll(
    'section.page:not([hidden]) .kpi, section.page:not([hidden]) .visual');
  for (const card of cards) {
    const box = card.getBoundingClientRect();
    for (const element of card.querySelectorAll('*')) {
      const rect = element.getBoundingClientRect();
      if (rect.width === 0 && rect.height === 0) continue;
      if (rect.left < box.left - 0.5 || rect.right > box.right + 0.5
          || rect.top < box.top - 0.5 || rect.bottom > box.bottom + 0.5) {
        problems.push(`${name(element)} [${rect.left|0}..${rect.right|0}]`
          + ` outside its card [${box.left|0}..${box.right|0}]`);
      }
      if (!(element instanceof SVGElement) && element.scrollWidth > element.clientWidth + 1
          && getComputedStyle(element).display !== 'inline') {
        problems.push(
          `${name(element)} holds ${element.scrollWidth}px in ${element.clientWidth}px`);
      }
    }
  }
  for (const chart of document.querySelectorAll('section.page:not([hidden]) [data-chart]')) {
    const svg = chart.querySelector('svg');
    const width = svg ? svg.getBoundingClientRect().width : 0;
    if (width < chart.clientWidth - 2) {
      problems.push(
        `chart ${chart.dataset.chart} ${width|0}px wide in a ${chart.clientWidth}px card`);
    }
    const labels = [...chart.querySelectorAll('.role-axis-label text')]
      .filter((text) => Number(getComputedStyle(text).opacity) > 0 && text.textContent)
      .map((text) => [text.textContent, text.getBoundingClientRect()]);
    for (let i = 0; i < labels.length; i += 1) {
      for (let j = i + 1; j < labels.length; j += 1) {
        const [a, ra] = labels[i];
        const [b, rb] = labels[j];
        if (ra.left < rb.right + LABEL_GAP && rb.left < ra.right + LABEL_GAP
            && ra.top < rb.bottom && rb.top < ra.bottom) {
          problems.push(`chart ${chart.dataset.chart}: labels "${a}" and "${b}" touch`);
        }
      }
    }
  }
  return problems;
})()"""


def layout_problems_at(page: Page, width: int, slug: str) -> list[str]:
    """The layout problems of page `slug` in a window `width` px wide, once the charts have
    been fitted (a few seconds at most: polled)."""
    # Chromium runs no layout observers in a background tab, and each dashboard has its own tab.
    page.send("Page.bringToFront")
    page.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
    )
    page.evaluate(click(f"#tab-{slug}"))
    # Polled until clean; what is still wrong after that is the answer.
    with suppress(TimeoutError):
        page.wait_for(f"{LAYOUT_PROBLEMS}.length === 0", timeout=10)
    return evaluate_json(page, LAYOUT_PROBLEMS)


@pytest.mark.parametrize("width", [1400, 800])
def test_every_page_fits_its_window_with_tens_of_billions_and_long_names(
    summary_page: Page, variant_warehouse: Path, width: int, tmp_path: Path
) -> None:
    page = summary_page
    act(page, click("#slicer-reset"))
    with duckdb.connect(str(variant_warehouse), read_only=True) as warehouse:
        expected = expected_kpis(warehouse)
    # Money as large as this dashboard's, shown whole to the cent (never shortened).
    assert len(expected["total_revenue"]) >= len("$10,000,000,000.00")
    for slug in PAGE_KPIS:
        assert layout_problems_at(page, width, slug) == [], f"{slug} at {width}px"
        shot = page.screenshot(tmp_path / f"{slug}-{width}.png")
        assert shot.stat().st_size > 10_000
    overview = kpis_on(page, "sales-overview")
    assert overview["total_revenue"] == expected["total_revenue"]
    assert overview["total_profit"] == expected["total_profit"]
    smallest_kpi_font = page.evaluate(
        "Math.min(...[...document.querySelectorAll('[data-kpi]')]"
        ".filter((element) => element.clientWidth > 0)"
        ".map((element) => parseFloat(getComputedStyle(element).fontSize)))"
    )
    assert smallest_kpi_font >= 14, "KPI values stay readable"
    page.evaluate(click("#tab-sales-overview"))
    labels = chart_texts(page, "top_products")
    assert any(label.startswith("Extraordinarily Comfortable") for label in labels)
    assert LONG_PRODUCT_NAME in [row[0] for row in table_rows(page, "products")], (
        "the table shows the long name whole"
    )


@pytest.mark.parametrize("width", [1400, 800])
def test_the_session_dashboard_fits_its_window(page: Page, width: int) -> None:
    act(page, click("#slicer-reset"))
    for slug in PAGE_KPIS:
        assert layout_problems_at(page, width, slug) == [], f"{slug} at {width}px"
    page.send("Emulation.clearDeviceMetricsOverride")
