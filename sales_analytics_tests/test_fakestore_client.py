"""The products client and the raw/products asset against a real HTTP server on 127.0.0.1."""

import socket
import time
from datetime import date

import dagster as dg
import pytest

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.products import InvalidProductsPayload
from sales_analytics.defs.raw.assets import build_raw_assets
from sales_analytics.defs.resources.fakestore import FakeStoreResource, ProductsApiUnavailable
from sales_analytics.defs.resources.warehouse import WarehouseIOManager
from sales_analytics_tests.conftest import json_response, raw_response

API_PRODUCTS = offline_catalog()[:3]
FIRST_DAY = date(2026, 1, 1)
# The raw assets as the definitions build them, without retries (the client retries itself).
_, PRODUCTS_ASSET, _ = build_raw_assets(FIRST_DAY, "UTC", 0, 0)


def client(url: str, **overrides) -> FakeStoreResource:
    settings = {"read_timeout_seconds": 0.5, "backoff_seconds": 0.01, "max_retries": 2}
    return FakeStoreResource(base_url=url, **{**settings, **overrides})


def fetch(resource: FakeStoreResource):
    with dg.build_resources({"fakestore": resource}) as resources:
        return resources.fakestore.fetch_products()


def slow(seconds: float, then):
    def handle(request):
        time.sleep(seconds)
        then(request)

    return handle


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_success_returns_the_payload(local_server):
    local_server.respond(json_response(API_PRODUCTS))
    assert fetch(client(local_server.url)) == API_PRODUCTS
    assert [(method, path) for method, path, _ in local_server.requests] == [("GET", "/products")]


def test_a_server_error_is_retried_then_succeeds(local_server):
    local_server.respond(json_response({"error": "down"}, status=500), json_response(API_PRODUCTS))
    assert fetch(client(local_server.url)) == API_PRODUCTS
    assert len(local_server.requests) == 2


def test_a_timeout_is_retried_then_succeeds(local_server):
    local_server.respond(slow(1.5, json_response(API_PRODUCTS)), json_response(API_PRODUCTS))
    assert fetch(client(local_server.url)) == API_PRODUCTS
    assert len(local_server.requests) == 2


def test_too_many_requests_then_outage_exhausts_the_bounded_retries(local_server):
    local_server.respond(json_response({}, status=429), json_response({}, status=503))
    with pytest.raises(ProductsApiUnavailable, match="after 3 attempts: HTTP 503"):
        fetch(client(local_server.url))
    assert len(local_server.requests) == 3


def test_malformed_json_is_an_error_not_an_outage(local_server):
    local_server.respond(raw_response(b'[{"id": 1, "title": ', content_type="application/json"))
    with pytest.raises(InvalidProductsPayload, match="did not answer JSON"):
        fetch(client(local_server.url))
    assert len(local_server.requests) == 1


def test_a_client_error_is_not_retried(local_server):
    local_server.respond(json_response({"error": "no"}, status=404))
    with pytest.raises(InvalidProductsPayload, match="answered HTTP 404"):
        fetch(client(local_server.url))
    assert len(local_server.requests) == 1


def materialize_products(warehouse_path, url: str, offline: bool = False):
    return dg.materialize(
        [PRODUCTS_ASSET],
        partition_key="2026-01-05",
        resources={
            "fakestore": client(url, offline=offline),
            "io_manager": WarehouseIOManager(database=str(warehouse_path)),
        },
        raise_on_error=False,
    )


def materialized_metadata(result):
    (materialization,) = result.asset_materializations_for_node("raw__products")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_asset_loads_the_api_products(warehouse_path, local_server):
    local_server.respond(json_response(API_PRODUCTS))
    result = materialize_products(warehouse_path, local_server.url)
    assert result.success
    metadata = materialized_metadata(result)
    assert metadata["source"] == "api"
    assert metadata["dagster/row_count"] == 3


def test_asset_fails_on_a_missing_field_and_names_it(warehouse_path, local_server):
    payload = [dict(product) for product in API_PRODUCTS]
    del payload[2]["category"]
    local_server.respond(json_response(payload))
    result = materialize_products(warehouse_path, local_server.url)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.to_string()
    assert "product 3 (index 2): field 'category' is missing" in message


def test_asset_uses_the_offline_catalog_when_the_host_is_unreachable(warehouse_path):
    result = materialize_products(warehouse_path, f"http://127.0.0.1:{unused_port()}")
    assert result.success
    metadata = materialized_metadata(result)
    assert metadata["source"] == "offline_catalog"
    assert metadata["dagster/row_count"] == 20


def test_offline_setting_never_calls_the_api(warehouse_path, local_server):
    local_server.respond(json_response(API_PRODUCTS))
    result = materialize_products(warehouse_path, local_server.url, offline=True)
    assert result.success
    assert materialized_metadata(result)["source"] == "offline_catalog"
    assert local_server.requests == []
