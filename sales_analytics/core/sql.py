"""SQL helpers for DuckDB: quoted identifiers and catalog look-ups (values are always bound)."""

from __future__ import annotations

import duckdb


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """A quoted SQL string, for the file paths of statements that take no bound parameters
    (ATTACH, COPY ... TO)."""
    return "'" + text.replace("'", "''") + "'"


def qualified_name(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    (count,) = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return count > 0
