"""Stand-in for dbt's `target` for sqlfluff: the models are linted as DuckDB SQL."""

type = "duckdb"  # noqa: A001 - the attribute dbt's target has
schema = "main"
