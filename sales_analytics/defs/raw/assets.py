"""Raw customers, products and transactions: Polars frames the DuckDB IO manager writes to `raw`."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.defs.raw.config import CustomersConfig, TransactionsConfig
from sales_analytics.core.generate import (
    generate_customers,
    generate_day_transactions,
    range_volume,
    transaction_batches,
)
from sales_analytics.core.preview import markdown_preview
from sales_analytics.core.products import InvalidProductsPayload, products_frame
from sales_analytics.defs.resources.calendar import RunCalendar
from sales_analytics.defs.resources.fakestore import FakeStoreResource, ProductsApiUnavailable
from sales_analytics.defs.resources.warehouse import FrameBatches, column_schema

RAW_ASSET = {
    "key_prefix": "raw",
    "group_name": "raw",
    "kinds": {"python", "polars", "duckdb"},
    "owners": ["team:data-platform"],
}
# What the run asked for, recorded on each materialization for the raw checks to compare with.
REQUESTED_COUNT = "requested_count"
AS_OF_DATE = "as_of_date"
WINDOW_START = "window_start"
WINDOW_END = "window_end"


def peek(batches: Iterator[pl.DataFrame]) -> tuple[pl.DataFrame, Iterator[pl.DataFrame]]:
    """The first batch, and all the batches again (the first included)."""
    first = next(batches)
    return first, itertools.chain([first], batches)


def load_timestamp() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def frame_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "dagster/column_schema": column_schema(frame.schema),
        "preview": dg.MetadataValue.md(markdown_preview(frame)),
    }


@dg.asset(**RAW_ASSET)
def customers(config: CustomersConfig, calendar: RunCalendar) -> dg.Output[pl.DataFrame]:
    """One row per synthetic customer (Faker, seeded): stable IDs CUST-000001.., a segment and a
    registration date within the two years before the run's as-of date."""
    as_of = calendar.as_of(config.as_of_date)
    frame = generate_customers(
        config.count,
        seed=config.seed,
        as_of=as_of,
        loaded_at=load_timestamp(),
    )
    return dg.Output(
        frame,
        metadata={
            **frame_metadata(frame),
            REQUESTED_COUNT: config.count,
            AS_OF_DATE: as_of.isoformat(),
        },
    )


@dg.asset(**RAW_ASSET)
def products(
    context: dg.AssetExecutionContext, fakestore: FakeStoreResource
) -> dg.Output[pl.DataFrame]:
    """One row per product from the Fake Store API, validated; the built-in 20-product catalog
    when the API is switched off (SALES_ANALYTICS_OFFLINE=1) or unreachable after retries."""
    try:
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
    except InvalidProductsPayload as error:
        # The API answered with bad data: an error to fix, not an outage, so the retry policy of
        # the extraction assets must not call it again.
        raise dg.Failure(description=str(error), allow_retries=False) from error
    return dg.Output(frame, metadata={**frame_metadata(frame), "source": source})


@dg.asset(
    **RAW_ASSET,
    ins={
        "customers": dg.AssetIn(metadata={"columns": ["customer_id"]}),
        "products": dg.AssetIn(metadata={"columns": ["id", "title", "category", "price"]}),
    },
    # Partitioned by day at load time (definitions.py), since the first day is a setting. The IO
    # manager replaces the rows of the run's days only: transaction_date in the partition window.
    metadata={"partition_expr": "transaction_date"},
    # A backfill of any range is one run that generates and writes its days batch by batch.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def transactions(
    context: dg.AssetExecutionContext,
    config: TransactionsConfig,
    customers: pl.DataFrame,
    products: pl.DataFrame,
) -> dg.Output[FrameBatches]:
    """One row per sales transaction of the run's days (a daily partition or a range of them);
    customer and product IDs drawn from raw.customers and raw.products of the same run. A day's
    rows are the same whenever it is generated, except extracted_at, the load time. Written in
    batches of days, so a backfill of any length needs the memory of one batch."""
    window = context.partition_time_window
    first_day, end_day = window.start.date(), window.end.date()
    options = {
        "customer_ids": customers["customer_id"],
        "products": products,
        "seed": config.seed,
        "loaded_at": load_timestamp(),
    }
    volume = {"count": config.count, "days": config.days}
    # The first batch is drawn here, for the preview, and written first all the same.
    first_batch, batches = peek(transaction_batches(first_day, end_day, **volume, **options))
    no_rows = generate_day_transactions(first_day, 0, **options)
    rows = range_volume(first_day, end_day, **volume)
    return dg.Output(
        FrameBatches(batches=batches, schema=no_rows.schema),
        metadata={
            **frame_metadata(no_rows),
            "preview": dg.MetadataValue.md(markdown_preview(first_batch)),
            "dagster/row_count": dg.MetadataValue.int(rows),
            REQUESTED_COUNT: rows,
            WINDOW_START: first_day.isoformat(),
            WINDOW_END: end_day.isoformat(),
        },
    )
