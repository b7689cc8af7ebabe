"""The Spark lake as Dagster reaches it: the IO manager that lands raw assets as Parquet, and
read access for the raw checks, the dbt step's row counts and BI publishing (core/lake.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
from pydantic import Field

from sales_analytics.core.lake import (
    DAY_PARTITION,
    RAW_SCHEMA,
    lake_connection,
    raw_day_folder,
    raw_table_folder,
    write_file_atomically,
)
from sales_analytics.core.raw_contract import RAW_TABLES
from sales_analytics.defs.raw.config import refuse_invalid_run
from sales_analytics.defs.resources.warehouse import (
    COLUMN_SCHEMA,
    COLUMNS,
    TABLE_NAME,
    FrameBatches,
    Warehouse,
    column_descriptions,
    frames_of,
    partition_window,
    table_of,
    warehouse_columns,
)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days)]


class LakeIOManager(dg.ConfigurableIOManager):
    """Stores each raw asset as Parquet in the lake: `raw/customers` is
    raw/customers/part-0.parquet; an asset with a `partition_expr` (raw/transactions) has one
    hive folder per day, transaction_day=YYYY-MM-DD, of which a run replaces its days' files.

    Every file is written beside and renamed over the old one, so a failed or killed run leaves
    each day (and each whole table) as it was or as the run wrote it, never half-written."""

    lake_path: str = Field(description="The lake folder (SALES_ANALYTICS_LAKE_PATH).")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # As the DuckDB writer: a run whose raw config would fail midway writes nothing.
        refuse_invalid_run(context.run)

    @property
    def lake(self) -> Path:
        return Path(self.lake_path)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | FrameBatches) -> None:
        table = table_of(context)
        if table.schema != RAW_SCHEMA:
            raise dg.DagsterInvariantViolationError(
                f"the lake IO manager stores raw assets only, got {table.display_name}"
            )
        schema, frames = frames_of(obj, table)
        window = partition_window(context, context.definition_metadata)
        if window is None:
            self.write_whole(table.name, frames)
        else:
            self.write_days(
                table.name, window.expression, frames, window.start.date(), window.end.date()
            )
        with self.connect() as connection:
            columns = connection.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [RAW_SCHEMA, table.name],
            ).fetchall()
        descriptions = column_descriptions(context.output_metadata, context.definition_metadata)
        context.add_output_metadata(
            {
                TABLE_NAME: dg.MetadataValue.text(table.display_name),
                COLUMN_SCHEMA: warehouse_columns(columns, descriptions),
            }
        )

    def write_whole(self, table: str, frames: Iterable[pl.DataFrame]) -> None:
        arrow = [frame.to_arrow() for frame in frames]
        schema = arrow[0].schema if arrow else None
        if schema is None:
            raise dg.DagsterInvariantViolationError(f"raw/{table}: no frame to write")
        write_file_atomically(raw_table_folder(self.lake, table), arrow, schema)

    def write_days(
        self, table: str, day_column: str, frames: Iterable[pl.DataFrame], start: date, end: date
    ) -> None:
        """Each day of [start, end) gets the frames' rows of that day (none: an empty file);
        rows outside the window are an error, since they would land in no replaced day."""
        by_day: dict[date, list[pa.Table]] = defaultdict(list)
        schema: pa.Schema | None = None
        for frame in frames:
            day_of_row = frame[day_column].dt.date()
            outside = frame.filter((day_of_row < start) | (day_of_row >= end))
            if outside.height:
                raise dg.DagsterInvariantViolationError(
                    f"raw/{table}: {outside.height} rows fall outside the run's days"
                    f" {start} to {end - timedelta(days=1)}; nothing of them was written"
                )
            for (day,), rows in frame.with_columns(day_of_row.alias(DAY_PARTITION)).group_by(
                DAY_PARTITION
            ):
                arrow = rows.drop(DAY_PARTITION).to_arrow()
                schema = schema or arrow.schema
                by_day[day].append(arrow)
        schema = schema or self.contract_schema(table)
        for day in days_between(start, end):
            folder = raw_day_folder(self.lake, table, day)
            write_file_atomically(folder, by_day.pop(day, []), schema)

    def contract_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of a table's empty day, from the raw data contract's DuckDB types."""
        with duckdb.connect() as connection:
            columns = ", ".join(
                f"cast(null as {column.sql_type}) as {column.name}" for column in RAW_TABLES[table]
            )
            return connection.execute(f"select {columns} limit 0").to_arrow_table().schema

    def connect(self) -> duckdb.DuckDBPyConnection:
        return lake_connection(self.lake, list(RAW_TABLES), {})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | FrameBatches:
        table = table_of(context)
        upstream = context.upstream_output
        window = partition_window(context, upstream.definition_metadata if upstream else {})
        columns = (context.definition_metadata or {}).get(COLUMNS)
        selection = ", ".join(f'"{name}"' for name in columns) if columns else "*"
        query = f'select {selection} from "{RAW_SCHEMA}"."{table.name}"'
        parameters: list[object] = []
        if window is not None:
            query += f' where "{window.expression}" >= ? and "{window.expression}" < ?'
            parameters = [window.start, window.end]
        with self.connect() as connection:
            frame = pl.from_arrow(connection.execute(query, parameters).to_arrow_table())
        if context.dagster_type.typing_type is FrameBatches:
            return FrameBatches(batches=[frame], schema=frame.schema)
        return frame


class LakeWarehouse(Warehouse):
    """The lake as the checks, the dbt step and the BI assets read it: an in-memory DuckDB with
    views over its Parquet files (`path` is the lake folder). Spark serialises its own writes,
    so there is no file lock to wait for before dbt runs."""

    model_columns: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="schema -> dbt model -> its columns in the YAML's order, for the views.",
    )

    def connect(self) -> duckdb.DuckDBPyConnection:
        return lake_connection(Path(self.path), list(RAW_TABLES), self.model_columns)

    def wait_until_writable(self) -> None:
        Path(self.path).mkdir(parents=True, exist_ok=True)
