"""The warehouse file: the IO manager that writes raw assets into it, and read access to it."""

from __future__ import annotations

import dagster as dg
import duckdb
from dagster._core.storage.db_io_manager import DbIOManager
from dagster_duckdb_polars import DuckDBPolarsIOManager

from sales_analytics.resources.duckdb_client import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    TransactionalDuckDbClient,
    quote_identifier,
)


class WarehouseIOManager(DuckDBPolarsIOManager):
    """DuckDBPolarsIOManager whose writes are single transactions (TransactionalDuckDbClient),
    that waits a bounded time for a lock held by another process and creates the warehouse's
    folder on first use; the schema of each table is its asset key prefix (raw)."""

    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS

    def create_io_manager(self, context: dg.InitResourceContext) -> DbIOManager:
        return DbIOManager(
            db_client=TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseIOManager",
        )


class Warehouse(dg.ConfigurableResource):
    """Read access to the warehouse file for metadata and summaries."""

    path: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=True)


def relation_metadata(
    connection: duckdb.DuckDBPyConnection, schema: str, name: str
) -> dict[str, dg.MetadataValue]:
    """Row count and column schema of one table or view, as Dagster's standard metadata."""
    columns = connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    if not columns:
        return {}
    relation = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    (row_count,) = connection.execute(f"select count(*) from {relation}").fetchone()
    return {
        "dagster/row_count": dg.MetadataValue.int(row_count),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(column, dtype) for column, dtype in columns])
        ),
    }
