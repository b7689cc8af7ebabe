"""Validation of a Fake Store `/products` payload into the raw products frame (no Dagster here)."""

from __future__ import annotations

from datetime import datetime
from numbers import Real
from typing import Any

import polars as pl

PRODUCT_COLUMNS = (
    "id",
    "title",
    "price",
    "description",
    "category",
    "image",
    "rating_rate",
    "rating_count",
    "extracted_at",
)


class InvalidProductsPayload(ValueError):
    """The API answered, but with data that is not a valid product list."""


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


_FIELDS = (
    ("id", _is_int, "a whole number"),
    ("title", _is_text, "a non-empty string"),
    ("price", _is_number, "a number"),
    ("description", lambda value: isinstance(value, str), "a string"),
    ("category", _is_text, "a non-empty string"),
    ("image", lambda value: isinstance(value, str), "a string"),
)
_RATING_FIELDS = (
    ("rate", _is_number, "a number"),
    ("count", _is_int, "a whole number"),
)


def _check_fields(record: dict, fields: tuple, where: str, prefix: str = "") -> None:
    for name, is_valid, expected in fields:
        if name not in record:
            raise InvalidProductsPayload(f"{where}: field '{prefix}{name}' is missing")
        if not is_valid(record[name]):
            raise InvalidProductsPayload(
                f"{where}: field '{prefix}{name}' must be {expected}, got {record[name]!r}"
            )


def validate_products(payload: Any) -> list[dict]:
    """The payload if it is a non-empty list of well-formed, distinct products; else an error
    that names the product (by id when it has one, else by position) and the field."""
    if not isinstance(payload, list):
        raise InvalidProductsPayload(
            f"expected a JSON list of products, got {type(payload).__name__}"
        )
    if not payload:
        raise InvalidProductsPayload("the product list is empty")
    seen: set[int] = set()
    for index, record in enumerate(payload):
        if not isinstance(record, dict):
            raise InvalidProductsPayload(
                f"product at index {index}: expected an object, got {type(record).__name__}"
            )
        product_id = record.get("id")
        where = f"product {product_id!r} (index {index})" if "id" in record else f"index {index}"
        _check_fields(record, _FIELDS, where)
        rating = record.get("rating")
        if not isinstance(rating, dict):
            raise InvalidProductsPayload(
                f"{where}: field 'rating' must be an object, got {rating!r}"
            )
        _check_fields(rating, _RATING_FIELDS, where, prefix="rating.")
        if record["price"] <= 0:
            raise InvalidProductsPayload(
                f"{where}: field 'price' must be positive, got {record['price']!r}"
            )
        if product_id in seen:
            raise InvalidProductsPayload(f"{where}: duplicate product id {product_id}")
        seen.add(product_id)
    return payload


def products_frame(payload: Any, *, extracted_at: datetime) -> pl.DataFrame:
    """Validated products as the raw.products frame; prices and rates as floats, as the API mixes
    integers and floats."""
    records = validate_products(payload)
    return pl.DataFrame(
        {
            "id": [record["id"] for record in records],
            "title": [record["title"] for record in records],
            "price": [float(record["price"]) for record in records],
            "description": [record["description"] for record in records],
            "category": [record["category"] for record in records],
            "image": [record["image"] for record in records],
            "rating_rate": [float(record["rating"]["rate"]) for record in records],
            "rating_count": [record["rating"]["count"] for record in records],
        },
        schema_overrides={"id": pl.Int64, "rating_count": pl.Int64},
    ).with_columns(extracted_at=pl.lit(extracted_at, dtype=pl.Datetime("us")))
