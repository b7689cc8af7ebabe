"""Raw customers, products and transactions: Polars frames the DuckDB IO manager writes to `raw`."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from pydantic import Field

from sales_analytics.catalog import offline_catalog
from sales_analytics.generate import generate_customers, generate_transactions
from sales_analytics.products import products_frame
from sales_analytics.resources.calendar import RunCalendar
from sales_analytics.resources.fakestore import FakeStoreResource, ProductsApiUnavailable

DEFAULT_SEED = 42
RAW_ASSET = {
    "key_prefix": "raw",
    "group_name": "raw",
    "kinds": {"python", "polars", "duckdb"},
    "owners": ["team:data-platform"],
}


class GenerationConfig(dg.Config):
    seed: int = Field(default=DEFAULT_SEED, description="Random seed; the same seed, same rows.")
    as_of_date: str | None = Field(
        default=None, description="YYYY-MM-DD the run is for; default today in the schedule's zone."
    )


class CustomersConfig(GenerationConfig):
    count: int = Field(default=200, gt=0, description="Number of customers.")


class TransactionsConfig(GenerationConfig):
    count: int = Field(default=1000, gt=0, description="Number of transactions over the history.")
    days: int = Field(default=90, gt=0, description="Days of history before the as-of date.")


def load_timestamp() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def frame_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(
                columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()]
            )
        ),
    }


@dg.asset(**RAW_ASSET)
def customers(config: CustomersConfig, calendar: RunCalendar) -> dg.Output[pl.DataFrame]:
    """One row per synthetic customer (Faker, seeded): stable IDs CUST-000001.., a segment and a
    registration date within the two years before the run's as-of date."""
    frame = generate_customers(
        config.count,
        seed=config.seed,
        as_of=calendar.as_of(config.as_of_date),
        loaded_at=load_timestamp(),
    )
    return dg.Output(frame, metadata=frame_metadata(frame))


@dg.asset(**RAW_ASSET)
def products(
    context: dg.AssetExecutionContext, fakestore: FakeStoreResource
) -> dg.Output[pl.DataFrame]:
    """One row per product from the Fake Store API, validated; the built-in 20-product catalog
    when the API is switched off (SALES_ANALYTICS_OFFLINE=1) or unreachable after retries."""
    if fakestore.offline:
        payload, source = offline_catalog(), "offline_catalog"
        context.log.info("SALES_ANALYTICS_OFFLINE is set: using the built-in product catalog")
    else:
        try:
            payload, source = fakestore.fetch_products(), "api"
        except ProductsApiUnavailable as error:
            context.log.warning(f"{error}; using the built-in product catalog instead")
            payload, source = offline_catalog(), "offline_catalog"
    frame = products_frame(payload, extracted_at=load_timestamp())
    return dg.Output(frame, metadata={**frame_metadata(frame), "source": source})


@dg.asset(
    **RAW_ASSET,
    ins={
        "customers": dg.AssetIn(metadata={"columns": ["customer_id"]}),
        "products": dg.AssetIn(metadata={"columns": ["id", "title", "category", "price"]}),
    },
)
def transactions(
    config: TransactionsConfig,
    calendar: RunCalendar,
    customers: pl.DataFrame,
    products: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    """One row per sales transaction over the `days` whole days before the as-of date; customer and
    product IDs drawn from raw.customers and raw.products of the same run."""
    frame = generate_transactions(
        config.count,
        days=config.days,
        end_before=calendar.as_of(config.as_of_date),
        customer_ids=customers["customer_id"],
        products=products,
        seed=config.seed,
        loaded_at=load_timestamp(),
    )
    return dg.Output(frame, metadata=frame_metadata(frame))
