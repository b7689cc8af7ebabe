"""Stand-in for dbt's `adapter.dispatch` for sqlfluff: the DuckDB rendering of the project's
dispatched macros (macros/portable_types.sql), which sqlfluff cannot dispatch itself."""

from collections.abc import Callable

_DUCKDB = {
    "type_double": lambda: "double",
    "integer_divide": lambda dividend, divisor: f"({dividend}) // ({divisor})",
}


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    return _DUCKDB[macro_name]
