"""Publishing the marts for BI readers (no Dagster here).

Two products, both read from the warehouse and never sharing its file:
- the serving copy: the three marts in their own DuckDB file, written in a storage version that the
  DuckDB 1.4 ODBC driver (Power BI's) opens;
- Parquet files, one per mart, for Power BI's Parquet connector.

Each file is written aside (a temp file in the same folder) and swapped in with os.replace, so a
reader sees the old file or the new one, never a partial one. On Linux a reader that holds the old
file open keeps reading it (it holds the old inode). Column types are normalized to what Power BI
reads without surprises (see powerbi_type).
"""

from __future__ import annotations

import errno
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from sales_analytics.core.sql import qualified_name, quote_identifier

MARTS_SCHEMA = "marts"
MART_TABLES = ("dim_customers", "dim_products", "fct_transactions")
# The newest storage format that DuckDB 1.4.x (the ODBC driver Power BI users have) can open.
SERVING_STORAGE_VERSION = "v1.4.0"

# DuckDB types Power BI reads as they are.
POWERBI_PLAIN_TYPES = frozenset(
    {
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "FLOAT",
        "DOUBLE",
        "VARCHAR",
        "DATE",
        "TIME",
        "TIMESTAMP",
    }
)
# Types Power BI misreads or rejects, and the type each becomes. Casts that cannot hold a value
# (a HUGEINT beyond BIGINT) fail the publish instead of truncating.
POWERBI_REPLACEMENTS = {
    "HUGEINT": "BIGINT",
    "UHUGEINT": "BIGINT",
    "UBIGINT": "BIGINT",
    "UINTEGER": "BIGINT",
    "USMALLINT": "INTEGER",
    "UTINYINT": "SMALLINT",
    "UUID": "VARCHAR",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "TIMESTAMP_S": "TIMESTAMP",
    "TIME WITH TIME ZONE": "TIME",
}
# Power BI's fixed decimal type holds 19 digits: DECIMAL(18, s) always fits.
POWERBI_DECIMAL_PRECISION = 18
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


class UnsupportedColumnType(ValueError):
    """A mart column has a type with no faithful Power BI equivalent (a list, struct, blob...)."""


class PublishVerificationFailed(RuntimeError):
    """The file written aside does not match the warehouse; it was not swapped in."""


@dataclass(frozen=True)
class PublishedTable:
    name: str
    row_count: int
    columns: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SwapOutcome:
    """Whether the new file replaced the old one; when not, why (the old file is untouched)."""

    path: Path
    replaced: bool
    attempts: int
    in_use_reason: str | None = None


@dataclass(frozen=True)
class PublishOutcome:
    tables: tuple[PublishedTable, ...]
    swaps: tuple[SwapOutcome, ...]
    seconds: float

    @property
    def replaced(self) -> bool:
        return all(swap.replaced for swap in self.swaps)

    @property
    def not_replaced(self) -> tuple[SwapOutcome, ...]:
        return tuple(swap for swap in self.swaps if not swap.replaced)


def powerbi_type(data_type: str) -> str:
    """The type a column of DuckDB type `data_type` gets in the published files."""
    if data_type in POWERBI_PLAIN_TYPES:
        return data_type
    if data_type in POWERBI_REPLACEMENTS:
        return POWERBI_REPLACEMENTS[data_type]
    if data_type.startswith("ENUM("):
        return "VARCHAR"
    decimal = _DECIMAL.fullmatch(data_type)
    if decimal:
        scale = int(decimal.group(2))
        return f"DECIMAL({POWERBI_DECIMAL_PRECISION},{min(scale, POWERBI_DECIMAL_PRECISION)})"
    raise UnsupportedColumnType(f"DuckDB type {data_type} has no Power BI equivalent")


def is_powerbi_type(data_type: str) -> bool:
    """True for the types the published files may contain."""
    if data_type in POWERBI_PLAIN_TYPES:
        return True
    decimal = _DECIMAL.fullmatch(data_type)
    return decimal is not None and int(decimal.group(1)) <= POWERBI_DECIMAL_PRECISION


def powerbi_expression(column: str, data_type: str) -> str:
    """Select-list item that yields `column` with its Power BI type, under its own name."""
    identifier = quote_identifier(column)
    target = powerbi_type(data_type)
    if target == data_type:
        return identifier
    if data_type == "TIMESTAMP WITH TIME ZONE":
        # Power BI has no zone-aware type; instants are published as UTC wall-clock time.
        return f"cast(timezone('UTC', {identifier}) as timestamp) as {identifier}"
    return f"cast({identifier} as {target}) as {identifier}"


def table_columns(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str
) -> list[tuple[str, str]]:
    return connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = current_database() and table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [schema, table],
    ).fetchall()


def powerbi_select(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """A query over `schema.table` whose columns all have Power BI types."""
    columns = table_columns(connection, schema, table)
    if not columns:
        raise LookupError(f"table {schema}.{table} does not exist in the warehouse")
    try:
        items = [powerbi_expression(name, data_type) for name, data_type in columns]
    except UnsupportedColumnType as error:
        raise UnsupportedColumnType(f"{schema}.{table}: {error}") from error
    return f"select {', '.join(items)} from {qualified_name(schema, table)}"


def row_count(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    (count,) = connection.execute(
        f"select count(*) from {qualified_name(schema, table)}"
    ).fetchone()
    return count


def database_file(connection: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind the connection's current database; None for an in-memory one."""
    (path,) = connection.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return Path(path) if path else None


def refuse_warehouse_file(source: duckdb.DuckDBPyConnection, target: Path) -> None:
    source_file = database_file(source)
    if source_file is not None and source_file.resolve() == target.resolve():
        raise ValueError(
            f"refusing to publish over the warehouse itself ({target}): BI readers must never "
            "hold the file the pipeline writes"
        )


def temp_path_beside(target: Path) -> Path:
    """A fresh name in the target's folder, so os.replace is a rename within one file system."""
    return target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Makes a rename durable; a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def duckdb_writer_holds(path: Path) -> bool:
    """True when another process holds `path` with a read-write DuckDB connection.

    DuckDB takes a POSIX record lock on its file: shared for read-only connections, exclusive
    for read-write ones. Only the exclusive lock blocks our probe for a shared one. POSIX locks
    belong to the process, and closing any descriptor of the file drops all of them, so this must
    not run in a process that has `path` open through DuckDB itself (the pipeline never opens the
    serving copy).
    """
    try:
        import fcntl
    except ImportError:  # Windows: os.replace itself fails on a file in use.
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB, 0, 0, os.SEEK_SET)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 0, 0, os.SEEK_SET)
        return False
    finally:
        os.close(descriptor)


def duckdb_in_use_reason(path: Path) -> str | None:
    """Why the DuckDB file at `path` must not be replaced now, or None when it may be.

    Read-only readers never block the swap. A read-write connection does: it may still write to
    the old file, and its write-ahead log (named after the path) would then sit beside the new file
    and be replayed into it by the next connection.
    """
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        return (
            f"a read-write connection has changed it: its write-ahead log {wal.name} exists "
            "(connect read-only, as docs/powerbi.md says)"
        )
    if duckdb_writer_holds(path):
        return "a read-write connection holds it open (connect read-only, as docs/powerbi.md says)"
    return None


def replace_failed_because_in_use(error: OSError) -> bool:
    """Windows refuses to replace a file another process has open; some file servers say EBUSY."""
    return isinstance(error, PermissionError) or error.errno in (errno.EBUSY, errno.ETXTBSY)


def swap_in(
    temp: Path,
    target: Path,
    *,
    attempts: int,
    retry_wait_seconds: float,
    in_use_reason: Callable[[Path], str | None] = lambda path: None,
    replace: Callable[[Path, Path], None] = os.replace,
    sleep: Callable[[float], None] = time.sleep,
) -> SwapOutcome:
    """Rename `temp` over `target`, retrying while the target is in use. When every attempt finds
    it in use, `temp` is left for the caller to delete and `target` is untouched."""
    reason: str | None = None
    for attempt in range(1, attempts + 1):
        reason = in_use_reason(target)
        if reason is None:
            try:
                replace(temp, target)
            except OSError as error:
                if not replace_failed_because_in_use(error):
                    raise
                reason = f"the file system refused to replace it ({error})"
            else:
                fsync_folder(target.parent)
                return SwapOutcome(path=target, replaced=True, attempts=attempt)
        if attempt < attempts:
            sleep(retry_wait_seconds * attempt)
    return SwapOutcome(path=target, replaced=False, attempts=attempts, in_use_reason=reason)


def copy_marts(
    source: duckdb.DuckDBPyConnection, copy: duckdb.DuckDBPyConnection, tables: Sequence[str]
) -> tuple[PublishedTable, ...]:
    """Copy each mart with Power BI types into `copy`, then check counts and types there."""
    copy.execute(f"create schema if not exists {quote_identifier(MARTS_SCHEMA)}")
    published = []
    for table in tables:
        rows = source.sql(powerbi_select(source, MARTS_SCHEMA, table)).to_arrow_reader()
        copy.register("incoming_mart", rows)
        try:
            copy.execute(
                f"create table {qualified_name(MARTS_SCHEMA, table)} as select * from incoming_mart"
            )
        finally:
            copy.unregister("incoming_mart")
        published.append(verified_table(source, copy, table))
    return tuple(published)


def verified_table(
    source: duckdb.DuckDBPyConnection, copy: duckdb.DuckDBPyConnection, table: str
) -> PublishedTable:
    expected_rows = row_count(source, MARTS_SCHEMA, table)
    copied_rows = row_count(copy, MARTS_SCHEMA, table)
    if copied_rows != expected_rows:
        raise PublishVerificationFailed(
            f"{MARTS_SCHEMA}.{table}: copied {copied_rows} rows, the warehouse has {expected_rows}"
        )
    columns = tuple(table_columns(copy, MARTS_SCHEMA, table))
    unexpected = [
        f"{name} {data_type}" for name, data_type in columns if not is_powerbi_type(data_type)
    ]
    if unexpected:
        raise PublishVerificationFailed(
            f"{MARTS_SCHEMA}.{table}: columns with types Power BI misreads: {', '.join(unexpected)}"
        )
    return PublishedTable(name=table, row_count=copied_rows, columns=columns)


def publish_serving_copy(
    source: duckdb.DuckDBPyConnection,
    target: Path,
    *,
    attempts: int = 3,
    retry_wait_seconds: float = 1.0,
    replace: Callable[[Path, Path], None] = os.replace,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishOutcome:
    """Write the marts of `source` (a connection to the warehouse) into a new DuckDB file beside
    `target` and swap it in. If the target stays in use through every attempt, the new file is
    discarded, the old copy is left as it was, and the outcome says why."""
    started = time.perf_counter()
    refuse_warehouse_file(source, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_beside(target)
    try:
        with duckdb.connect(
            str(temp), config={"storage_compatibility_version": SERVING_STORAGE_VERSION}
        ) as copy:
            tables = copy_marts(source, copy, MART_TABLES)
            copy.execute("checkpoint")
        fsync_file(temp)
        swap = swap_in(
            temp,
            target,
            attempts=attempts,
            retry_wait_seconds=retry_wait_seconds,
            in_use_reason=duckdb_in_use_reason,
            replace=replace,
            sleep=sleep,
        )
    finally:
        remove_quietly(temp, temp.with_name(temp.name + ".wal"))
    return PublishOutcome(tables=tables, swaps=(swap,), seconds=time.perf_counter() - started)


def parquet_path(folder: Path, table: str) -> Path:
    return folder / f"{table}.parquet"


def export_parquet(
    source: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    attempts: int = 3,
    retry_wait_seconds: float = 1.0,
    replace: Callable[[Path, Path], None] = os.replace,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishOutcome:
    """One Parquet file per mart in `folder`, each written aside and swapped in. All files are
    written and checked before the first swap, so a failed export replaces none of them."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    temps = {table: temp_path_beside(parquet_path(folder, table)) for table in MART_TABLES}
    try:
        tables = []
        for table, temp in temps.items():
            source.sql(powerbi_select(source, MARTS_SCHEMA, table)).write_parquet(
                str(temp), compression="zstd"
            )
            tables.append(verified_parquet(source, table, temp))
            fsync_file(temp)
        swaps = tuple(
            swap_in(
                temp,
                parquet_path(folder, table),
                attempts=attempts,
                retry_wait_seconds=retry_wait_seconds,
                replace=replace,
                sleep=sleep,
            )
            for table, temp in temps.items()
        )
    finally:
        remove_quietly(*temps.values())
    return PublishOutcome(tables=tuple(tables), swaps=swaps, seconds=time.perf_counter() - started)


def verified_parquet(source: duckdb.DuckDBPyConnection, table: str, path: Path) -> PublishedTable:
    expected_rows = row_count(source, MARTS_SCHEMA, table)
    written_rows = pq.read_metadata(path).num_rows
    if written_rows != expected_rows:
        raise PublishVerificationFailed(
            f"{path.name}: wrote {written_rows} rows, {MARTS_SCHEMA}.{table} has {expected_rows}"
        )
    columns = tuple(
        (name, powerbi_type(data_type))
        for name, data_type in table_columns(source, MARTS_SCHEMA, table)
    )
    return PublishedTable(name=table, row_count=written_rows, columns=columns)
