"""The Spark lake's folder layout, and DuckDB reading it without a Spark session (no Dagster).

On Spark the warehouse is a folder of Parquet files (SALES_ANALYTICS_LAKE_PATH):

    raw/customers/part-0.parquet                     the raw assets, written by Dagster
    raw/products/part-0.parquet
    raw/transactions/transaction_day=YYYY-MM-DD/part-0.parquet
    warehouse/<schema>.db/<table>/...                 the dbt models' tables, written by Spark
    metastore_db/                                     Spark's metastore (Derby) naming them

Readers that are not Spark (the raw checks, BI publishing, row counts) open an in-memory DuckDB
connection whose schemas `raw` and `marts` hold views over those files, so the same SQL that
reads the DuckDB warehouse file reads the lake.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sales_analytics.core.sql import qualified_name, quote_identifier, string_literal

RAW_SCHEMA = "raw"
# The hive-style folder of a day's raw rows. Not transaction_date: that column is the sale's
# timestamp, and a partition column replaces the file's column of the same name.
DAY_PARTITION = "transaction_day"
DATA_FILE = "part-0.parquet"
# Spark's managed tables, in the lake so that a folder holds the whole warehouse.
SPARK_WAREHOUSE_DIR = "warehouse"
METASTORE_DIR = "metastore_db"
# The dbt schemas other readers see (staging is views, which only Spark can evaluate).
READABLE_MODEL_SCHEMAS = ("marts", "history")


def raw_table_folder(lake: Path, table: str) -> Path:
    return lake / RAW_SCHEMA / table


def raw_day_folder(lake: Path, table: str, day: date) -> Path:
    return raw_table_folder(lake, table) / f"{DAY_PARTITION}={day.isoformat()}"


def model_folder(lake: Path, schema: str, table: str) -> Path:
    return lake / SPARK_WAREHOUSE_DIR / f"{schema}.db" / table


def write_file_atomically(folder: Path, tables: Sequence[pa.Table], schema: pa.Schema) -> None:
    """Replace folder/part-0.parquet with `tables` (one file): written beside under a hidden
    name (Spark and DuckDB skip names starting with '.'), then renamed over the old file, so a
    reader sees the old day or the new one, never a part."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{DATA_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        with pq.ParquetWriter(temp, schema) as writer:
            for table in tables:
                writer.write_table(table)
            if not tables:
                writer.write_table(schema.empty_table())
        os.replace(temp, folder / DATA_FILE)
    finally:
        temp.unlink(missing_ok=True)


def parquet_files(folder: Path) -> list[str]:
    """The data files of a table folder (Spark's part files, hive folders included), without
    Spark's bookkeeping (_SUCCESS, .crc, _temporary)."""
    if not folder.is_dir():
        return []
    return sorted(
        str(path)
        for path in folder.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts)
    )


def create_view(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    files: Sequence[str],
    *,
    columns: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> None:
    """View schema.table over `files` (hive partitions read as columns); `columns` orders them
    (Spark puts a table's partition columns last), `drop` leaves partition folders out."""
    paths = ", ".join(string_literal(name) for name in files)
    source = f"read_parquet([{paths}], hive_partitioning = true, union_by_name = true)"
    if columns:
        selection = ", ".join(quote_identifier(name) for name in columns)
    elif drop:
        selection = f"* exclude ({', '.join(quote_identifier(name) for name in drop)})"
    else:
        selection = "*"
    connection.execute(f"create schema if not exists {quote_identifier(schema)}")
    view = qualified_name(schema, table)
    connection.execute(f"create or replace view {view} as select {selection} from {source}")


def lake_connection(
    lake: Path,
    raw_tables: Sequence[str],
    model_columns: Mapping[str, Mapping[str, Sequence[str]]],
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with views raw.<table> and <schema>.<model> over the lake's files;
    `model_columns` is schema -> model -> its columns in the dbt YAML's order (empty: as
    stored). A table without files yet has no view."""
    connection = duckdb.connect()
    for table in raw_tables:
        files = parquet_files(raw_table_folder(lake, table))
        if files:
            partitioned = any(f"{DAY_PARTITION}=" in name for name in files)
            create_view(
                connection, RAW_SCHEMA, table, files, drop=[DAY_PARTITION] if partitioned else []
            )
    for schema, models in model_columns.items():
        for model, columns in models.items():
            files = parquet_files(model_folder(lake, schema, model))
            if files:
                create_view(connection, schema, model, files, columns=columns)
    return connection
