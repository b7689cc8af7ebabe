"""Run config of the raw assets, and its validation before a run writes anything."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, ValidationError

from sales_analytics.core.run_date import resolve_as_of

DEFAULT_SEED = 42


class GenerationConfig(dg.Config):
    seed: int = Field(default=DEFAULT_SEED, description="Random seed; the same seed, same rows.")
    as_of_date: str | None = Field(
        default=None, description="YYYY-MM-DD the run is for; default today in the schedule's zone."
    )


class CustomersConfig(GenerationConfig):
    count: int = Field(default=200, gt=0, description="Number of customers.")


class TransactionsConfig(dg.Config):
    """The daily volume as a rate, `count` transactions every `days` days (default ~11 a day, the
    seed's 1,000 over 90 days); each day's rows depend only on the seed, the day and this rate."""

    seed: int = Field(default=DEFAULT_SEED, description="Random seed; the same seed, same rows.")
    count: int = Field(default=1000, gt=0, description="Transactions every `days` days.")
    days: int = Field(default=90, gt=0, description="Days over which `count` transactions happen.")


class InvalidRunConfig(ValueError):
    """A run's config would make a raw asset fail; raised before the run writes anything."""


RAW_OP_CONFIGS: dict[str, type[dg.Config]] = {
    "raw__customers": CustomersConfig,
    "raw__transactions": TransactionsConfig,
}


def run_config_problems(run_config: Mapping[str, Any]) -> list[str]:
    """What is wrong with the raw assets' part of a run config, one line per field (empty: ok).

    The assets check their own config when their step starts; checking it for the whole run
    first means a bad transactions volume cannot fail the run after customers were rewritten.
    """
    problems = []
    ops = run_config.get("ops") or {}
    for op_name, config_class in RAW_OP_CONFIGS.items():
        values = (ops.get(op_name) or {}).get("config") or {}
        try:
            config_class(**values)
        except ValidationError as error:
            problems.extend(
                f"{op_name}.{'.'.join(map(str, detail['loc']))}: {detail['msg'].lower()},"
                f" got {detail['input']!r}"
                for detail in error.errors()
            )
    # Every step that takes an as-of date (raw assets, dbt) reads it the same way.
    for op_name, op_config in ops.items():
        as_of_date = ((op_config or {}).get("config") or {}).get("as_of_date")
        try:
            resolve_as_of(as_of_date, "UTC")
        except ValueError as error:
            problems.append(f"{op_name}.as_of_date: {error}")
    return problems
