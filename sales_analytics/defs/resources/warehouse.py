"""The warehouse file: the IO manager that writes raw assets into it, and read access to it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from pydantic import Field

from sales_analytics.core.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from sales_analytics.defs.raw.config import refuse_invalid_run
from sales_analytics.defs.resources.duckdb_client import (
    RowWindow,
    Table,
    column_types,
    read_table,
    replace_rows,
    writable_or_failure,
    write_transaction,
)

# Definition metadata of an asset whose table holds many partitions: the SQL expression that
# places a row in its partition (raw/transactions: transaction_date).
PARTITION_EXPR = "partition_expr"
# Input metadata: the columns to load (default all).
COLUMNS = "columns"
COLUMN_SCHEMA = "dagster/column_schema"
TABLE_NAME = "dagster/table_name"


@dataclass(frozen=True)
class FrameBatches:
    """A table's rows as Polars frames of one schema, produced lazily and written one after
    another, so an output larger than memory (a backfill of years of transactions) can be
    written. `batches` is read once."""

    batches: Iterable[pl.DataFrame]
    schema: pl.Schema


def table_of(context: dg.OutputContext | dg.InputContext) -> Table:
    """The asset `raw/customers` is the table `raw.customers`: schema from the key's prefix."""
    if not context.has_asset_key or len(context.asset_key.path) < 2:
        what = context.asset_key.to_user_string() if context.has_asset_key else "an op output"
        raise dg.DagsterInvariantViolationError(
            f"the warehouse IO manager stores assets with a key prefix (raw/customers is the "
            f"table raw.customers); got {what}"
        )
    *_, schema, name = context.asset_key.path
    return Table(schema=schema, name=name)


def partition_window(
    context: dg.OutputContext | dg.InputContext, definition_metadata: Mapping[str, Any]
) -> RowWindow | None:
    """The rows of the context's partitions, for an asset with a partition expression; None (the
    whole table) for any other asset, partitioned or not."""
    expression = definition_metadata.get(PARTITION_EXPR)
    if not expression or not context.has_asset_partitions:
        return None
    window = context.asset_partitions_time_window
    # Rows store wall-clock times of the partitions' timezone, without the zone.
    return RowWindow(
        expression=expression,
        start=window.start.replace(tzinfo=None),
        end=window.end.replace(tzinfo=None),
    )


def frames_of(obj: object, table: Table) -> tuple[pl.Schema, Iterable[pl.DataFrame]]:
    if isinstance(obj, pl.DataFrame):
        return obj.schema, [obj]
    if isinstance(obj, FrameBatches):
        return obj.schema, obj.batches
    raise dg.DagsterInvariantViolationError(
        f"the warehouse IO manager writes a polars DataFrame or FrameBatches to "
        f"{table.display_name}, got {type(obj).__name__}"
    )


def column_descriptions(*metadata: Mapping[str, Any]) -> dict[str, str]:
    """Column descriptions the asset states in its own column schema (the first mapping wins)."""
    descriptions: dict[str, str] = {}
    for mapping in reversed(metadata):
        value = mapping.get(COLUMN_SCHEMA)
        schema = value.schema if isinstance(value, dg.TableSchemaMetadataValue) else value
        if isinstance(schema, dg.TableSchema):
            descriptions.update(
                {column.name: column.description for column in schema.columns if column.description}
            )
    return descriptions


def warehouse_columns(
    columns: Iterable[tuple[str, str]], descriptions: Mapping[str, str]
) -> dg.MetadataValue:
    """The table's columns with the warehouse's SQL types (what a BI tool or dbt sees)."""
    return dg.MetadataValue.table_schema(
        dg.TableSchema(
            columns=[
                dg.TableColumn(name, sql_type, description=descriptions.get(name))
                for name, sql_type in columns
            ]
        )
    )


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores each raw asset as a table in the warehouse file: `raw/customers` is `raw.customers`.

    Each output is one DuckDB transaction (a failed or killed run leaves the table as it was). An
    asset with a `partition_expr` has the rows of the run's partitions replaced; any other asset
    is replaced whole. Polars frames are written through Arrow without a copy, and inputs are
    read back as Polars (input metadata `columns` selects columns)."""

    database: str = Field(description="The warehouse file (SALES_ANALYTICS_DUCKDB_PATH).")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="Seconds to wait for another process to release the warehouse file.",
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Resources are set up once, before the run's first step (in-process executor): the
        # writer refuses a run whose raw config would fail midway, before anything is written.
        refuse_invalid_run(context.run)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | FrameBatches) -> None:
        table = table_of(context)
        schema, frames = frames_of(obj, table)
        window = partition_window(context, context.definition_metadata)
        with write_transaction(Path(self.database), self.lock_timeout_seconds) as connection:
            self.write_rows(connection, table, schema, frames, window)
            columns = column_types(connection, table)
        descriptions = column_descriptions(context.output_metadata, context.definition_metadata)
        context.add_output_metadata(
            {
                TABLE_NAME: dg.MetadataValue.text(table.display_name),
                COLUMN_SCHEMA: warehouse_columns(columns, descriptions),
            }
        )

    def write_rows(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: Table,
        schema: pl.Schema,
        frames: Iterable[pl.DataFrame],
        window: RowWindow | None,
    ) -> int:
        """Everything an output changes, inside its transaction; the rows written."""
        return replace_rows(connection, table, schema, frames, window)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | FrameBatches:
        table = table_of(context)
        upstream = context.upstream_output
        window = partition_window(context, upstream.definition_metadata if upstream else {})
        columns = (context.definition_metadata or {}).get(COLUMNS)
        frame = read_table(Path(self.database), self.lock_timeout_seconds, table, columns, window)
        if context.dagster_type.typing_type is FrameBatches:
            return FrameBatches(batches=[frame], schema=frame.schema)
        return frame


class Warehouse(dg.ConfigurableResource):
    """The warehouse file as the checks, the dbt step and the BI assets reach it: read access,
    and a bounded wait until no other process holds it before dbt writes."""

    path: str = Field(description="The warehouse file (SALES_ANALYTICS_DUCKDB_PATH).")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="Seconds to wait for another process to release the warehouse file.",
    )

    def connect(self) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect(self.path, read_only=True)
        # DuckDB draws a progress bar on stderr for long statements (the serving copy at 10M
        # rows): noise in a run's log and in `make run`'s output.
        connection.execute("set enable_progress_bar = false")
        return connection

    def wait_until_writable(self) -> None:
        """Return once the file can be opened for writing; WarehouseUnavailable (naming the file,
        the holder's PID and what to do) if it is not a database or stays locked."""
        writable_or_failure(Path(self.path), self.lock_timeout_seconds)
