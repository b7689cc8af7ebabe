"""What a dbt model holds after a build, read from the warehouse for its materialization."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import duckdb

from sales_analytics.core.days import DayWindow
from sales_analytics.core.sql import qualified_name

ROW_COUNT = "dagster/row_count"


def column_schema(
    connection: duckdb.DuckDBPyConnection, node: Mapping[str, Any]
) -> dg.TableSchema | None:
    """The relation's columns with the warehouse's SQL types and the dbt YAML's descriptions."""
    columns = connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [node["schema"], node["alias"]],
    ).fetchall()
    if not columns:
        return None
    described = node.get("columns") or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                sql_type,
                description=(described.get(name) or {}).get("description") or None,
            )
            for name, sql_type in columns
        ]
    )


def relation_metadata(
    connection: duckdb.DuckDBPyConnection, node: Mapping[str, Any], *, whole_table: bool
) -> dict[str, Any]:
    schema = column_schema(connection, node)
    if schema is None:
        return {}
    metadata: dict[str, Any] = {"dagster/column_schema": schema}
    if whole_table:
        (rows,) = connection.execute(
            f"select count(*) from {qualified_name(node['schema'], node['alias'])}"
        ).fetchone()
        metadata[ROW_COUNT] = dg.MetadataValue.int(rows)
    return metadata


def rows_per_day(
    connection: duckdb.DuckDBPyConnection,
    node: Mapping[str, Any],
    date_column: str,
    window: DayWindow,
) -> dict[str, int]:
    """Rows of each day of `window` (YYYY-MM-DD), 0 for a day with none."""
    counted = dict(
        connection.execute(
            f"select strftime({date_column}, '%Y-%m-%d'), count(*)"
            f" from {qualified_name(node['schema'], node['alias'])}"
            f" where {date_column} >= ? and {date_column} < ? group by 1",
            [window.start, window.end],
        ).fetchall()
    )
    return {day.isoformat(): counted.get(day.isoformat(), 0) for day in window.each_day()}
