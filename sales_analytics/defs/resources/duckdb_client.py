"""Writing and reading warehouse tables with DuckDB: every write is one transaction.

dagster-duckdb's IO manager deletes the old rows and inserts the new ones as separate statements in
autocommit mode, so a crash between the two leaves an empty or partial table. Here a whole output
(schema, drop or delete, create, insert) is one transaction: a run killed mid-write leaves the
table as it was, and DuckDB discards the unfinished transaction when the file is next opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from sales_analytics.core.sql import qualified_name, quote_identifier, table_exists
from sales_analytics.core.warehouse_access import WarehouseUnavailable, wait_until_writable


def writable_or_failure(path: Path, timeout_seconds: float) -> None:
    """wait_until_writable, failing the step without retries: the wait was the retry, and the
    message says what a person has to do."""
    try:
        wait_until_writable(path, timeout_seconds=timeout_seconds)
    except WarehouseUnavailable as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def arrow_view(frame: pl.DataFrame):
    """The frame as Arrow without a copy: Polars' own string views, which DuckDB reads.

    `DataFrame.to_arrow()` by default converts every string column to the oldest Arrow layout, a
    full copy (seen here at 10 million transactions: +1.2 GB peak memory, twice the write time).
    """
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


@dataclass(frozen=True)
class Table:
    schema: str
    name: str

    @property
    def display_name(self) -> str:
        """`raw.customers`: how people and Dagster's `dagster/table_name` name the table."""
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        return qualified_name(self.schema, self.name)


@dataclass(frozen=True)
class RowWindow:
    """The rows of a table whose `expression` lies in [start, end): one partition window. The
    bounds are wall-clock times in the partitions' timezone, as the rows store them."""

    expression: str
    start: datetime
    end: datetime

    @property
    def condition(self) -> str:
        return f"({self.expression}) >= ? and ({self.expression}) < ?"

    @property
    def bounds(self) -> list[datetime]:
        return [self.start, self.end]


class RowsOutsideWindow(ValueError):
    """An output for some partitions holds rows of other days; writing them would duplicate those
    days on their own next run."""


class MissingTable(LookupError):
    """An input's table has not been written yet."""


class SchemaMismatch(ValueError):
    """A batch does not have the schema its output declared."""


@contextmanager
def write_transaction(
    path: Path, lock_timeout_seconds: float
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection inside one transaction, committed when the block ends normally and
    rolled back otherwise (a killed process leaves nothing committed either)."""
    writable_or_failure(path, lock_timeout_seconds)
    with duckdb.connect(str(path)) as connection:
        connection.begin()
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def replace_rows(
    connection: duckdb.DuckDBPyConnection,
    table: Table,
    schema: pl.Schema,
    frames: Iterable[pl.DataFrame],
    window: RowWindow | None,
) -> int:
    """Replace the rows of `window` in `table` with `frames` (all of schema `schema`), or, when
    `window` is None, the whole table (dropped and created again, so a changed schema is taken as
    is). A missing table is created from `schema`, even when no frame has rows. Returns the rows
    written."""
    connection.execute(f"create schema if not exists {quote_identifier(table.schema)}")
    exists = table_exists(connection, table.schema, table.name)
    if exists and window is None:
        connection.execute(f"drop table {table.sql}")
    if not exists or window is None:
        with incoming(connection, pl.DataFrame(schema=schema)) as rows:
            connection.execute(f"create table {table.sql} as select * from {rows}")
    else:
        connection.execute(f"delete from {table.sql} where {window.condition}", window.bounds)
    written = 0
    for frame in frames:
        if frame.schema != schema:
            raise SchemaMismatch(
                f"a batch for {table.display_name} has the columns {dict(frame.schema)}, "
                f"not the declared {dict(schema)}"
            )
        if frame.is_empty():
            continue
        with incoming(connection, frame) as rows:
            if window is not None:
                reject_rows_outside(connection, rows, table, window)
            connection.execute(f"insert into {table.sql} select * from {rows}")
        written += frame.height
    return written


@contextmanager
def incoming(connection: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Iterator[str]:
    """The frame as a view DuckDB scans in place (no copy), named by the yielded identifier."""
    name = "incoming_rows"
    connection.register(name, arrow_view(frame))
    try:
        yield quote_identifier(name)
    finally:
        connection.unregister(name)


def reject_rows_outside(
    connection: duckdb.DuckDBPyConnection, rows: str, table: Table, window: RowWindow
) -> None:
    (count,) = connection.execute(
        f"select count(*) from {rows} where not ({window.condition})", window.bounds
    ).fetchone()
    if count:
        raise RowsOutsideWindow(
            f"{count} rows for {table.display_name} have {window.expression} outside the run's "
            f"partitions [{window.start}, {window.end}); nothing was written"
        )


def column_types(connection: duckdb.DuckDBPyConnection, table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column, in table order."""
    return connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [table.schema, table.name],
    ).fetchall()


def read_table(
    path: Path,
    lock_timeout_seconds: float,
    table: Table,
    columns: Sequence[str] | None,
    window: RowWindow | None,
) -> pl.DataFrame:
    """`columns` (all when None) of the rows of `window` (all when None) as Polars, through
    Arrow. Waits for the file as a write does: a reader is blocked by another process's writer."""
    selected = ", ".join(map(quote_identifier, columns)) if columns else "*"
    query = f"select {selected} from {table.sql}"
    parameters: list[datetime] = []
    if window is not None:
        query += f" where {window.condition}"
        parameters = window.bounds
    writable_or_failure(path, lock_timeout_seconds)
    with duckdb.connect(str(path)) as connection:
        if not table_exists(connection, table.schema, table.name):
            raise MissingTable(
                f"the table {table.display_name} is not in the warehouse {path}: materialize "
                f"{table.schema}/{table.name} first"
            )
        return pl.from_arrow(connection.execute(query, parameters).to_arrow_table())
