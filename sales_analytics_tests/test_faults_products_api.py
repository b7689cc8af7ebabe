"""A hostile or broken products API, served for real on 127.0.0.1: every case ends in a validated
catalog or a clear failure of raw/products that leaves the warehouse as it was."""

import json
import os
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from sales_analytics.cli.run import rebuild_warehouse
from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics_tests.conftest import json_response, raw_response

pytestmark = pytest.mark.faults

AS_OF = date(2026, 3, 31)
PROTECTED_TABLES = (
    "raw.products",
    "raw.transactions",
    "marts.dim_customers",
    "marts.dim_products",
    "marts.fct_transactions",
)


def products_with(**changes) -> list[dict]:
    products = offline_catalog()[:4]
    for index, change in changes.items():
        products[int(index.removeprefix("p"))].update(change)
    return products


def cut_off_after_headers(request):
    body = json.dumps(offline_catalog()).encode()
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body[: len(body) // 3])
    request.wfile.flush()
    request.close_connection = True


def redirect_elsewhere(request):
    request.send_response(302)
    request.send_header("Location", "http://other-host.invalid/products")
    request.send_header("Content-Length", "0")
    request.end_headers()


def slow(seconds):
    def handle(request):
        time.sleep(seconds)
        json_response(offline_catalog())(request)

    return handle


TEN_MB_OF_PRODUCTS = json.dumps(offline_catalog() * 6000).encode()

FAILURES = {
    "truncated_json": (
        raw_response(json.dumps(offline_catalog()).encode()[:500], content_type="application/json"),
        "did not answer JSON",
    ),
    "html_with_200": (
        raw_response(b"<html><body>Just a moment...</body></html>"),
        "did not answer JSON",
    ),
    "empty_list": (json_response([]), "the product list is empty"),
    "duplicate_ids": (json_response(products_with(p1={"id": 1})), "duplicate product id 1"),
    "negative_price": (
        json_response(products_with(p2={"price": -4.5})),
        "field 'price' must be positive, got -4.5",
    ),
    "ten_megabytes": (
        raw_response(TEN_MB_OF_PRODUCTS, content_type="application/json"),
        "sent more than 5000000 bytes",
    ),
    "redirect_to_another_host": (
        redirect_elsewhere,
        "redirecting to http://other-host.invalid/products; redirects are not followed",
    ),
}


def snapshot(database) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            table: connection.execute(f"select * from {table} order by all").fetchall()
            for table in PROTECTED_TABLES
        }


def run_job(patch, url: str | None):
    if url is None:
        patch.setenv("SALES_ANALYTICS_OFFLINE", "1")
    else:
        patch.setenv("SALES_ANALYTICS_OFFLINE", "0")
        patch.setenv("SALES_ANALYTICS_PRODUCTS_URL", url)
    # The BI outputs go beside the test's warehouse, never into the project's data/.
    outputs = Path(os.environ["SALES_ANALYTICS_DUCKDB_PATH"]).parent / "bi"
    patch.setenv("SALES_ANALYTICS_BI_PATH", str(outputs / "serving.duckdb"))
    patch.setenv("SALES_ANALYTICS_PARQUET_DIR", str(outputs / "parquet"))
    patch.setenv("SALES_ANALYTICS_DASHBOARD_PATH", str(outputs / "index.html"))
    result, _definitions = rebuild_warehouse(
        Settings.from_env(),
        window=DayWindow(AS_OF - timedelta(days=20), AS_OF),
        customers=30,
        transactions=200,
    )
    return result


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory):
    database = tmp_path_factory.mktemp("faults") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALES_ANALYTICS_DUCKDB_PATH", str(database))
        assert run_job(patch, url=None).success
    return database


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_bad_api_answers_fail_products_and_keep_the_warehouse(
    case, built_warehouse, local_server, monkeypatch
):
    handler, message = FAILURES[case]
    local_server.respond(handler)
    monkeypatch.setenv("SALES_ANALYTICS_DUCKDB_PATH", str(built_warehouse))
    before = snapshot(built_warehouse)

    result = run_job(monkeypatch, local_server.url)

    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["raw__products"]
    assert message in failures[0].step_failure_data.error.to_string()
    assert len(local_server.requests) == 1, "bad data is an error, not an outage to retry"
    assert snapshot(built_warehouse) == before


@pytest.mark.parametrize(
    ("case", "handler"),
    [("slow_beyond_timeout", slow(2.0)), ("connection_cut_mid_body", cut_off_after_headers)],
)
def test_unanswered_calls_are_retried_then_fall_back_to_the_catalog(
    case, handler, warehouse_path, local_server
):
    from sales_analytics_tests.test_fakestore_client import materialize_products

    local_server.respond(handler)
    started = time.monotonic()
    result = materialize_products(warehouse_path, local_server.url)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("raw__products")
    assert materialization.metadata["source"].value == "offline_catalog"
    assert materialization.metadata["dagster/row_count"].value == 20
    assert len(local_server.requests) == 3
    assert time.monotonic() - started < 15
