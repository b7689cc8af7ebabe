"""Stand-ins for dbt's cross-database macros (`dbt.date_trunc(...)` and the like) for sqlfluff's
jinja templater, which renders the models without dbt: each returns SQL of the right shape for
the linter. dbt itself compiles the real, adapter-specific SQL."""


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def hash(field: str) -> str:  # noqa: A001 - the name of dbt's macro
    return f"md5(cast({field} as varchar))"


def concat(fields: list[str]) -> str:
    return f"concat({', '.join(fields)})"


def type_string() -> str:
    return "varchar"
