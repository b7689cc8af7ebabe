"""The raw tables' data contract: every column with its warehouse type and meaning (no Dagster).

The one source of the raw columns' descriptions and SQL types shown in the UI; a test holds it
against the frames the generator and the products validation produce and the tables the warehouse
holds after a run.
"""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    name: str
    sql_type: str
    description: str


CUSTOMERS = (
    Column("customer_id", "VARCHAR", "Customer key, CUST-000001 onwards; stable across runs."),
    Column("first_name", "VARCHAR", "Given name."),
    Column("last_name", "VARCHAR", "Family name."),
    Column("email", "VARCHAR", "Email address; unique (it carries the customer number)."),
    Column("phone", "VARCHAR", "Phone number, (NXX) NXX-XXXX."),
    Column("address", "VARCHAR", "Street address."),
    Column("city", "VARCHAR", "City of the address."),
    Column("state", "VARCHAR", "Two-letter code of the address's US state (or DC)."),
    Column("zip_code", "VARCHAR", "ZIP code of the address."),
    Column("country", "VARCHAR", "Country of the address (USA)."),
    Column("registration_date", "DATE", "Day the customer registered, within the last 2 years."),
    Column("customer_segment", "VARCHAR", "Bronze, Silver, Gold or Platinum."),
    Column("created_at", "TIMESTAMP", "When the row was loaded (UTC)."),
)

PRODUCTS = (
    Column("id", "BIGINT", "Product key from the Fake Store API."),
    Column("title", "VARCHAR", "Product name as the API serves it."),
    Column("price", "DOUBLE", "Current unit price in USD."),
    Column("description", "VARCHAR", "Product description."),
    Column(
        "category",
        "VARCHAR",
        "men's clothing, jewelery (sic), electronics or women's clothing.",
    ),
    Column("image", "VARCHAR", "URL of the product image."),
    Column("rating_rate", "DOUBLE", "Average rating, 0 to 5."),
    Column("rating_count", "BIGINT", "Number of ratings."),
    Column("extracted_at", "TIMESTAMP", "When the catalog was read from the API (UTC)."),
)

TRANSACTIONS = (
    Column("transaction_id", "VARCHAR", "Transaction key, TXN-<yyyymmdd>-<n>."),
    Column("transaction_date", "TIMESTAMP", "When the sale happened; its day is the partition."),
    Column("product_id", "BIGINT", "The product sold (raw.products id)."),
    Column("product_title", "VARCHAR", "Product name at the time of sale."),
    Column("category", "VARCHAR", "Product category at the time of sale."),
    Column("quantity", "BIGINT", "Units sold, 1 to 5."),
    Column("unit_price", "DOUBLE", "Price of one unit at the time of sale, USD."),
    Column("total_amount", "DOUBLE", "quantity x unit_price, rounded to the cent."),
    Column("customer_id", "VARCHAR", "The buyer (raw.customers customer_id)."),
    Column("extracted_at", "TIMESTAMP", "When the row was loaded (UTC)."),
)

RAW_TABLES: dict[str, tuple[Column, ...]] = {
    "customers": CUSTOMERS,
    "products": PRODUCTS,
    "transactions": TRANSACTIONS,
}
