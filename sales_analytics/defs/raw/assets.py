"""Raw customers, products and transactions: Polars frames the warehouse IO manager writes to `raw`.

Built at load time by build_raw_assets, because their partitions (the first day is a setting) and
their retry policy (counts are settings) are stated where each asset is defined.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache

import dagster as dg
import polars as pl

from sales_analytics.core.catalog import offline_catalog
from sales_analytics.core.days import DayWindow
from sales_analytics.core.generate import (
    day_volume,
    generate_customers,
    generate_day_transactions,
    transaction_batches,
)
from sales_analytics.core.preview import markdown_preview
from sales_analytics.core.products import InvalidProductsPayload, products_frame
from sales_analytics.core.raw_contract import RAW_TABLES
from sales_analytics.defs.partitions import daily_partitions, run_as_of, run_window
from sales_analytics.defs.raw.config import CustomersConfig, TransactionsConfig
from sales_analytics.defs.resources.fakestore import FakeStoreResource, ProductsApiUnavailable
from sales_analytics.defs.resources.warehouse import FrameBatches

RAW_OWNERS = ["team:data-platform"]
ROW_COUNT = "dagster/row_count"


def raw_table_metadata(table: str) -> dict[str, object]:
    """The table's name and its contract's columns (SQL types, descriptions), for the UI."""
    return {
        "dagster/table_name": f"raw.{table}",
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(column.name, column.sql_type, description=column.description)
                for column in RAW_TABLES[table]
            ]
        ),
    }


def extraction_retry_policy(count: int, delay_seconds: float) -> dg.RetryPolicy | None:
    """`count` retries `delay_seconds` apart; None when retries are switched off (count 0).

    Only the extraction assets are retried: they call an HTTP API and write the warehouse, where
    transient failures (an outage, a lock) pass on their own. A failed dbt model or check is a fact
    about the data or the SQL that a second attempt would only repeat.
    """
    return dg.RetryPolicy(max_retries=count, delay=delay_seconds) if count else None


def load_timestamp() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def whole_table_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    return {
        ROW_COUNT: dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_preview(frame)),
    }


def day_key(day: date, partitions_def: dg.DailyPartitionsDefinition) -> str:
    return day.strftime(partitions_def.fmt)


def logged_progress(
    batches: Iterator[pl.DataFrame], total_rows: int, log: dg.DagsterLogManager
) -> Iterator[pl.DataFrame]:
    """The batches, logging how far the write has come as the IO manager takes each one."""
    written = 0
    for batch in batches:
        yield batch
        written += batch.height
        last_day = batch["transaction_date"].max()
        log.info(
            f"raw/transactions: {written:,} of {total_rows:,} rows written"
            f" ({written / max(total_rows, 1):.0%}, through {last_day:%Y-%m-%d})"
        )


@cache
def build_raw_assets(
    first_day: date, timezone: str, retry_count: int, retry_delay_seconds: float
) -> list[dg.AssetsDefinition]:
    """The three raw assets, daily-partitioned from `first_day` in `timezone`, retried
    `retry_count` times `retry_delay_seconds` apart."""
    days = daily_partitions(first_day, timezone)
    step = {
        "partitions_def": days,
        # A range of days is one run: customers and products once, transactions day by day.
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "retry_policy": extraction_retry_policy(retry_count, retry_delay_seconds),
    }

    def raw_out(table: str, description: str, **metadata: object) -> dict[str, dg.AssetOut]:
        return {
            table: dg.AssetOut(
                key=["raw", table],
                description=description,
                group_name="raw",
                owners=RAW_OWNERS,
                kinds={"python", "duckdb"},
                metadata={**raw_table_metadata(table), **metadata},
            )
        }

    @dg.multi_asset(
        name="raw__customers",
        outs=raw_out(
            "customers",
            "One row per synthetic customer (Faker, seeded): stable IDs CUST-000001.., a"
            " segment and a US address; rebuilt whole in every run that selects it.",
        ),
        **step,
    )
    def customers(context: dg.AssetExecutionContext, config: CustomersConfig):
        as_of = run_as_of(context)
        frame = generate_customers(
            config.count, seed=config.seed, as_of=as_of, loaded_at=load_timestamp()
        )
        context.log.info(f"raw/customers: {frame.height:,} customers as of {as_of}")
        return dg.Output(frame, metadata=whole_table_metadata(frame))

    @dg.multi_asset(
        name="raw__products",
        outs=raw_out(
            "products",
            "One row per product from the Fake Store API, validated; the built-in 20-product"
            " catalog when the API is switched off (SALES_ANALYTICS_OFFLINE=1) or unreachable"
            " after retries.",
        ),
        **step,
    )
    def products(context: dg.AssetExecutionContext, fakestore: FakeStoreResource):
        try:
            if fakestore.offline:
                payload, source = offline_catalog(), "offline_catalog"
            else:
                try:
                    payload, source = fakestore.fetch_products(), "api"
                except ProductsApiUnavailable as error:
                    context.log.warning(f"{error}; using the built-in product catalog instead")
                    payload, source = offline_catalog(), "offline_catalog"
            frame = products_frame(payload, extracted_at=load_timestamp())
        except InvalidProductsPayload as error:
            # The API answered with bad data: an error to fix, not an outage, so the retry policy
            # must not call it again.
            raise dg.Failure(description=str(error), allow_retries=False) from error
        context.log.info(f"raw/products: {frame.height} products from {source}")
        return dg.Output(frame, metadata={**whole_table_metadata(frame), "source": source})

    @dg.multi_asset(
        name="raw__transactions",
        outs=raw_out(
            "transactions",
            "One row per sales transaction of the run's days; customer and product IDs drawn"
            " from raw.customers and raw.products. A day's rows are the same whenever it is"
            " generated (but extracted_at, the load time).",
            # The IO manager replaces the rows of the run's days only.
            partition_expr="transaction_date",
        ),
        ins={
            "customers": dg.AssetIn(["raw", "customers"], metadata={"columns": ["customer_id"]}),
            "products": dg.AssetIn(
                ["raw", "products"], metadata={"columns": ["id", "title", "category", "price"]}
            ),
        },
        **step,
    )
    def transactions(
        context: dg.AssetExecutionContext,
        config: TransactionsConfig,
        customers: pl.DataFrame,
        products: pl.DataFrame,
    ):
        # Written in batches of days, so a backfill of any length needs the memory of one batch.
        window = run_window(context)
        volume = {"count": config.count, "days": config.days}
        options = {
            "customer_ids": customers["customer_id"],
            "products": products,
            "seed": config.seed,
            "loaded_at": load_timestamp(),
        }
        total_rows = record_day_counts(context, window, days, **volume)
        context.log.info(
            f"raw/transactions: {total_rows:,} rows over {window.days} days"
            f" ({window.start} to {window.last_day})"
        )
        batches = transaction_batches(window.start, window.end, **volume, **options)
        no_rows = generate_day_transactions(window.start, 0, **options)
        return dg.Output(
            FrameBatches(
                batches=logged_progress(batches, total_rows, context.log), schema=no_rows.schema
            )
        )

    return [customers, products, transactions]


def record_day_counts(
    context: dg.AssetExecutionContext,
    window: DayWindow,
    partitions_def: dg.DailyPartitionsDefinition,
    *,
    count: int,
    days: int,
) -> int:
    """Each day's own row count on its partition's materialization; the run's total."""
    total = 0
    for day in window.each_day():
        rows = day_volume(day, count, days)
        total += rows
        context.add_asset_metadata(
            {ROW_COUNT: dg.MetadataValue.int(rows)}, partition_key=day_key(day, partitions_def)
        )
    return total
