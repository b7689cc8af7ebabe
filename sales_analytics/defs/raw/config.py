"""Run config of the raw assets, and its validation before a run writes anything."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, ValidationError

from sales_analytics.core.days import parse_as_of
from sales_analytics.defs.partitions import AS_OF_TAG

DEFAULT_SEED = 42
CUSTOMERS_OP = "raw__customers"
TRANSACTIONS_OP = "raw__transactions"


class CustomersConfig(dg.Config):
    seed: int = Field(default=DEFAULT_SEED, description="Random seed; the same seed, same rows.")
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
    CUSTOMERS_OP: CustomersConfig,
    TRANSACTIONS_OP: TransactionsConfig,
}


def op_config_values(run_config: Mapping[str, Any], op_name: str) -> dict[str, Any]:
    return dict(((run_config.get("ops") or {}).get(op_name) or {}).get("config") or {})


def transactions_config(run_config: Mapping[str, Any]) -> TransactionsConfig:
    """The raw transactions' config of a run, defaults filled in."""
    return TransactionsConfig(**op_config_values(run_config, TRANSACTIONS_OP))


def customers_config(run_config: Mapping[str, Any]) -> CustomersConfig:
    return CustomersConfig(**op_config_values(run_config, CUSTOMERS_OP))


def run_config_problems(
    run_config: Mapping[str, Any], as_of_override: str | None = None
) -> list[str]:
    """What is wrong with the raw assets' part of a run config and with an as-of override, one
    line per field (empty: ok).

    The assets check their own config when their step starts; checking it for the whole run
    first means a bad transactions volume cannot fail the run after customers were rewritten.
    """
    problems = []
    for op_name, config_class in RAW_OP_CONFIGS.items():
        try:
            config_class(**op_config_values(run_config, op_name))
        except ValidationError as error:
            problems.extend(
                f"{op_name}.{'.'.join(map(str, detail['loc']))}: {detail['msg'].lower()},"
                f" got {detail['input']!r}"
                for detail in error.errors()
            )
    if as_of_override is not None:
        try:
            parse_as_of(as_of_override)
        except ValueError as error:
            problems.append(f"tag sales_analytics/as_of_date: {error}")
    return problems


def refuse_invalid_run(run: dg.DagsterRun | None) -> None:
    """InvalidRunConfig, naming every problem, for a run whose raw config or as-of tag would fail
    midway; the raw writers call it when they are set up, before anything is written."""
    problems = (
        run_config_problems(run.run_config, run.tags.get(AS_OF_TAG)) if run is not None else []
    )
    if problems:
        raise InvalidRunConfig(
            "the run's config is invalid, nothing was written: " + "; ".join(problems)
        )
