"""A DuckDB client for the IO manager whose writes are all-or-nothing.

dagster-duckdb's own client deletes the old rows and inserts the new ones as separate statements in
autocommit mode, so a crash between the two leaves an empty or partial table. Here the whole output
(schema, delete, create, insert) is one transaction: a run killed mid-write leaves the table as it
was, and DuckDB discards the unfinished transaction when the file is next opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.db_io_manager import TableSlice
from dagster_duckdb.io_manager import DuckDbClient

from sales_analytics.defs.resources.faults import pause_here
from sales_analytics.core.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from sales_analytics.core.sql import qualified_name, table_exists
from sales_analytics.core.warehouse_access import WarehouseUnavailable, wait_until_writable


def writable_or_failure(path: Path, timeout_seconds: float) -> None:
    """wait_until_writable, failing the step without retries: the wait was the retry, and the
    message says what a person has to do."""
    try:
        wait_until_writable(path, timeout_seconds=timeout_seconds)
    except WarehouseUnavailable as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


class TransactionalDuckDbClient(DuckDbClient):
    @staticmethod
    @contextmanager
    def connect(context, table_slice: TableSlice) -> Iterator[duckdb.DuckDBPyConnection]:
        config = context.resource_config
        writable_or_failure(
            Path(config["database"]),
            config.get("lock_timeout_seconds", DEFAULT_LOCK_TIMEOUT_SECONDS),
        )
        with DuckDbClient.connect(context, table_slice) as connection:
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    @staticmethod
    def delete_table_slice(
        context: dg.OutputContext, table_slice: TableSlice, connection: duckdb.DuckDBPyConnection
    ) -> None:
        # Checked, not caught: a failed statement would abort the surrounding transaction.
        if not table_exists(connection, table_slice.schema, table_slice.table):
            return
        if table_slice.partition_dimensions:
            DuckDbClient.delete_table_slice(context, table_slice, connection)
        else:
            # A whole-table output replaces the table, so a changed frame schema is taken as is.
            connection.execute(
                f"drop table {qualified_name(table_slice.schema, table_slice.table)}"
            )
        pause_here(f"raw_write:{table_slice.table}")
