"""`make run`: backfill the history in one run, print what the warehouse holds and which checks
passed. The history is the DAYS days before the as-of date (default: from
SALES_ANALYTICS_HISTORY_START, else 90 days); days outside it are left as they are.

Exits 1 when a step failed or an error-severity check failed, 2 on bad options or settings.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import dagster as dg

from sales_analytics.cli.report import (
    dbt_output_hidden,
    logging_config,
    project_instance,
    report,
)
from sales_analytics.core.days import DayWindow, history_window, resolve_history_start, today_in
from sales_analytics.core.settings import Settings, SettingsError
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.raw.config import CUSTOMERS_OP, TRANSACTIONS_OP

# Run tags that make one run cover a range of partitions (what a single-run backfill launches).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
# Dagster's switch for planning a range run with one event per asset naming the range, instead of
# one per asset per day: a default `make run` (90 days x 13 assets) writes about 1,200 fewer
# events into DAGSTER_HOME's SQLite, 6 s of CPU out of 36 (measured with farm-bench). Dagster's
# stated cost: if such a run fails, its days show as missing, not failed, in the partition bar;
# the run itself is still marked failed, and alerted, as before.
PLANNED_EVENTS_AS_RANGE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def build_parser(prog: str = "sales-analytics run") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--customers", type=positive_int, help="customers (default 200)")
    parser.add_argument(
        "--transactions",
        type=positive_int,
        help="transactions over the history (default about 11 a day: 1000 over 90 days)",
    )
    parser.add_argument(
        "--days",
        type=positive_int,
        help="days of history before the as-of date (default from SALES_ANALYTICS_HISTORY_START, "
        "else 90)",
    )
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument(
        "--as-of", type=iso_date, help="as-of date YYYY-MM-DD: the history ends the day before"
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def partition_range_tags(window: DayWindow) -> dict[str, str]:
    """Tags that make one run materialize every daily partition of `window`."""
    return {
        PARTITION_RANGE_START_TAG: window.start.isoformat(),
        PARTITION_RANGE_END_TAG: window.last_day.isoformat(),
    }


def warehouse_run_config(
    window: DayWindow,
    *,
    customers: int | None = None,
    transactions: int | None = None,
    transactions_per_day: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run config for the whole graph over `window`; options left as None keep the assets'
    defaults. `transactions` is the total over the window (a rate of that many every
    window.days days); without it SALES_ANALYTICS_TRANSACTIONS_PER_DAY, as the nightly run."""
    if transactions:
        rate, days = transactions, window.days
    elif transactions_per_day:
        rate, days = transactions_per_day, 1
    else:
        rate = days = None
    ops = {
        CUSTOMERS_OP: {"seed": seed, "count": customers},
        TRANSACTIONS_OP: {"seed": seed, "count": rate, "days": days},
    }
    return {
        **logging_config(),
        "ops": {
            op: {"config": {key: value for key, value in config.items() if value is not None}}
            for op, config in ops.items()
        },
    }


@contextlib.contextmanager
def planned_as_range() -> Iterator[None]:
    """Within this block, runs started by this process plan their range in one event per asset."""
    previous = os.environ.get(PLANNED_EVENTS_AS_RANGE)
    os.environ[PLANNED_EVENTS_AS_RANGE] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PLANNED_EVENTS_AS_RANGE]
        else:
            os.environ[PLANNED_EVENTS_AS_RANGE] = previous


def definitions_covering(settings: Settings, window: DayWindow) -> dg.Definitions:
    """The project's definitions with partitions reaching back to the window's first day,
    whatever the configured start."""
    from sales_analytics.definitions import build_definitions

    configured = resolve_history_start(settings.history_start, settings.timezone, window.end)
    first_day = min(window.start, configured)
    return build_definitions(dataclasses.replace(settings, history_start=first_day))


def rebuild_warehouse(
    settings: Settings,
    *,
    window: DayWindow,
    customers: int | None = None,
    transactions: int | None = None,
    seed: int | None = None,
    instance: dg.DagsterInstance | None = None,
) -> tuple[dg.ExecuteInProcessResult, dg.Definitions]:
    """One run of the whole graph over every day of `window` (as a backfill of that range):
    customers and products, the days' transactions, dbt, BI, as of the window's end."""
    definitions = definitions_covering(settings, window)
    run_config = warehouse_run_config(
        window,
        customers=customers,
        transactions=transactions,
        transactions_per_day=settings.transactions_per_day,
        seed=seed,
    )
    job = definitions.resolve_job_def(SALES_ANALYTICS_JOB)
    with dbt_output_hidden(), planned_as_range():
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            tags=partition_range_tags(window),
            raise_on_error=False,
        )
    return result, definitions


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    today = today_in(settings.timezone)
    as_of = args.as_of or today
    if as_of > today:
        print(f"error: the as-of date {as_of} is after today ({today})", file=sys.stderr)
        return 2
    try:
        window = history_window(as_of, args.days, settings.history_start)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if settings.on_spark:
        print(f"Warehouse: Spark, lake {settings.lake_path}")
    else:
        print(f"Warehouse: {settings.duckdb_path}")
    print(f"History: {window.start} to {window.last_day}, {window.days} days in one run")
    result, definitions = rebuild_warehouse(
        settings,
        window=window,
        customers=args.customers,
        transactions=args.transactions,
        seed=args.seed,
        instance=project_instance(),
    )
    return report(result, settings, definitions)


if __name__ == "__main__":
    sys.exit(main())
