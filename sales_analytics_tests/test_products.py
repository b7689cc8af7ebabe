import copy
from datetime import datetime

import polars as pl
import pytest

from sales_analytics.core.catalog import CATEGORIES, offline_catalog
from sales_analytics.core.products import (
    PRODUCT_COLUMNS,
    InvalidProductsPayload,
    products_frame,
    validate_products,
)

LOADED_AT = datetime(2026, 3, 31, 2, 0)

API_SAMPLE = [
    {
        "id": 1,
        "title": "Foldsack No. 1 Backpack, Fits 15 Laptops",
        "price": 109.95,
        "description": "Your perfect pack for everyday use",
        "category": "men's clothing",
        "image": "https://example.invalid/1.jpg",
        "rating": {"rate": 3.9, "count": 120},
    },
    {
        "id": 5,
        "title": "Solid Gold Petite Micropave ",
        "price": 168,
        "description": "Satisfaction Guaranteed.",
        "category": "jewelery",
        "image": "https://example.invalid/5.jpg",
        "rating": {"rate": 4, "count": 70},
    },
]


def test_api_payload_becomes_the_raw_frame_with_floats_for_mixed_numbers():
    frame = products_frame(API_SAMPLE, extracted_at=LOADED_AT)
    assert frame.columns == list(PRODUCT_COLUMNS)
    assert frame.schema["price"] == pl.Float64
    assert frame.schema["rating_rate"] == pl.Float64
    assert frame.schema["id"] == pl.Int64
    assert frame["price"].to_list() == [109.95, 168.0]
    assert frame["rating_count"].to_list() == [120, 70]
    assert frame["extracted_at"].to_list() == [LOADED_AT, LOADED_AT]


def test_offline_catalog_has_twenty_valid_products_in_the_api_categories():
    frame = products_frame(offline_catalog(), extracted_at=LOADED_AT)
    assert frame["id"].to_list() == list(range(1, 21))
    by_category = {
        category: sorted(frame.filter(pl.col("category") == category)["id"].to_list())
        for category in CATEGORIES
    }
    assert by_category == {
        "men's clothing": [1, 2, 3, 4],
        "jewelery": [5, 6, 7, 8],
        "electronics": [9, 10, 11, 12, 13, 14],
        "women's clothing": [15, 16, 17, 18, 19, 20],
    }
    assert offline_catalog() == offline_catalog()


def broken(index: int, change) -> list[dict]:
    payload = copy.deepcopy(API_SAMPLE)
    change(payload[index])
    return payload


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"products": []}, "expected a JSON list of products, got dict"),
        ([], "the product list is empty"),
        (["not an object"], "product at index 0: expected an object"),
        (broken(1, lambda p: p.pop("price")), r"product 5 \(index 1\): field 'price' is missing"),
        (
            broken(0, lambda p: p.update(price="12.5")),
            r"product 1 \(index 0\): field 'price' must be a number, got '12.5'",
        ),
        (broken(0, lambda p: p.update(price=True)), "field 'price' must be a number"),
        (broken(1, lambda p: p.update(price=-3)), r"product 5 .*'price' must be positive"),
        (broken(0, lambda p: p.update(title="  ")), "field 'title' must be a non-empty string"),
        (broken(0, lambda p: p.pop("id")), r"index 0: field 'id' is missing"),
        (broken(0, lambda p: p.update(rating=None)), "field 'rating' must be an object"),
        (
            broken(1, lambda p: p["rating"].update(count=1.5)),
            r"product 5 \(index 1\): field 'rating.count' must be a whole number",
        ),
        (broken(1, lambda p: p.update(id=1)), r"product 1 \(index 1\): duplicate product id 1"),
    ],
)
def test_invalid_payloads_name_the_product_and_field(payload, message):
    with pytest.raises(InvalidProductsPayload, match=message):
        validate_products(payload)
