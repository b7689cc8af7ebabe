"""The warehouse file: the IO manager that writes raw assets into it, and read access to it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb_polars import DuckDBPolarsIOManager


def ensure_folder(database: str) -> None:
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(
            f"cannot create the warehouse folder {folder} for {database}: {error}"
        ) from error


class WarehouseIOManager(DuckDBPolarsIOManager):
    """DuckDBPolarsIOManager that creates the warehouse's folder on first use; the schema of each
    table is its asset key prefix (raw)."""

    def create_io_manager(self, context: dg.InitResourceContext):
        ensure_folder(self.database)
        return super().create_io_manager(context)


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
    relation = f"{_quote(schema)}.{_quote(name)}"
    (row_count,) = connection.execute(f"select count(*) from {relation}").fetchone()
    return {
        "dagster/row_count": dg.MetadataValue.int(row_count),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(column, dtype) for column, dtype in columns])
        ),
    }


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
