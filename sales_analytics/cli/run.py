"""`make run`: backfill the history in one run, print what the warehouse holds and which checks
passed. The history is the DAYS days before the as-of date (default: from
SALES_ANALYTICS_HISTORY_START, else 90 days); days outside it are left as they are.

Exits 1 when a step failed or an error-severity check failed, 2 on bad options or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from sales_analytics.core.alerts import CheckOutcome
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB, warehouse_run_config
from sales_analytics.defs.partitions import DayWindow, resolve_history_start
from sales_analytics.defs.automation.sensors import error_summary
from sales_analytics.core.settings import DEFAULT_HISTORY_DAYS, Settings, SettingsError
from sales_analytics.core.sql import qualified_name

# Run tags that make one run cover a range of partitions (what a single-run backfill launches).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

SUMMARY_TABLES = (
    "raw.customers",
    "raw.products",
    "raw.transactions",
    "staging.stg_customers",
    "staging.stg_products",
    "staging.stg_transactions",
    "marts.dim_customers",
    "marts.dim_products",
    "marts.fct_transactions",
)


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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
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
    parser.add_argument("--as-of", type=iso_date, help="as-of date YYYY-MM-DD (default today)")
    return parser.parse_args(argv)


def history_window(as_of: date, days: int | None, history_start: date | None) -> DayWindow:
    """The days a run backfills: `days` days before `as_of`; without `days`, from the configured
    history start (else DEFAULT_HISTORY_DAYS before `as_of`) up to `as_of`."""
    if days is None:
        days = (as_of - history_start).days if history_start else DEFAULT_HISTORY_DAYS
    if days < 1:
        raise ValueError(f"the history starts {history_start}, not before the as-of date {as_of}")
    return DayWindow(as_of - timedelta(days=days), as_of)


def partition_range_tags(window: DayWindow) -> dict[str, str]:
    """Tags that make one run materialize every daily partition of `window`."""
    last_day = window.end - timedelta(days=1)
    return {
        PARTITION_RANGE_START_TAG: window.start.isoformat(),
        PARTITION_RANGE_END_TAG: last_day.isoformat(),
    }


def table_row_counts(database: Path, tables: Sequence[str]) -> dict[str, int | None]:
    """Row count per table, None where the table does not exist (yet) or the file cannot be read
    (the run's failure says why)."""
    if not database.exists():
        return dict.fromkeys(tables)
    counts: dict[str, int | None] = {}
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.Error:
        return dict.fromkeys(tables)
    with connection:
        existing = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for table in tables:
            if table in existing:
                relation = qualified_name(*table.split("."))
                counts[table] = connection.execute(f"select count(*) from {relation}").fetchone()[0]
            else:
                counts[table] = None
    return counts


def check_outcomes(result: dg.ExecuteInProcessResult) -> list[CheckOutcome]:
    return sorted(
        (
            CheckOutcome(
                name=evaluation.check_name,
                asset=evaluation.asset_key.to_user_string(),
                passed=evaluation.passed,
                severity=evaluation.severity.value,
            )
            for evaluation in result.get_asset_check_evaluations()
        ),
        key=lambda outcome: (outcome.passed, outcome.asset, outcome.name),
    )


def step_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each failed step with the error that made it fail."""
    return [
        f"{event.step_key}: {error_summary(event.step_failure_data.error)}"
        for event in result.all_events
        if event.is_step_failure
    ]


def format_summary(
    counts: dict[str, int | None],
    checks: Sequence[CheckOutcome],
    *,
    products_source: str | None,
    run_succeeded: bool,
    failures: Sequence[str] = (),
) -> str:
    lines = ["", "Rows per table:"]
    width = max(len(table) for table in counts)
    for table, count in counts.items():
        lines.append(f"  {table:<{width}}  {'missing' if count is None else f'{count:,}'}")
    if products_source == "offline_catalog":
        lines.append("Products: built-in offline catalog (the API was off or unreachable)")
    elif products_source:
        lines.append(f"Products: {products_source}")
    failed = [check for check in checks if not check.passed]
    lines.append(f"Checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        lines.append(f"  FAILED [{check.severity}] {check.asset}: {check.name}")
    for check in checks:
        if check.passed:
            lines.append(f"  passed {check.asset}: {check.name}")
    blocking = any(check.blocks for check in checks)
    lines.append("Run: " + ("succeeded" if run_succeeded and not blocking else "FAILED"))
    lines.extend(f"  failed step {failure}" for failure in failures)
    return "\n".join(lines)


def products_source(result: dg.ExecuteInProcessResult) -> str | None:
    for materialization in result.asset_materializations_for_node("raw__products"):
        source = materialization.metadata.get("source")
        if source is not None:
            return source.value
    return None


def report(result: dg.ExecuteInProcessResult, settings: Settings) -> int:
    """Print the warehouse's row counts and the checks; the exit status of the run."""
    checks = check_outcomes(result)
    print(
        format_summary(
            table_row_counts(settings.duckdb_path, SUMMARY_TABLES),
            checks,
            products_source=products_source(result),
            run_succeeded=result.success,
            failures=step_failures(result),
        )
    )
    dashboard = settings.dashboard_path
    print(
        f"Dashboard: {dashboard if dashboard.exists() else 'not built'} (make dashboard opens it)"
    )
    return 0 if result.success and not any(check.blocks for check in checks) else 1


def project_instance() -> dg.DagsterInstance | None:
    """The instance in DAGSTER_HOME (created when missing), so runs show in the UI; None (an
    ephemeral instance) when DAGSTER_HOME is unset."""
    home = os.getenv("DAGSTER_HOME")
    if not home:
        return None
    Path(home).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def rebuild_warehouse(
    settings: Settings,
    *,
    window: DayWindow,
    as_of: date,
    customers: int | None = None,
    transactions: int | None = None,
    seed: int | None = None,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the whole graph: customers and products, every day of `window` as one
    backfill, dbt, BI. `transactions` is the total over the window."""
    from sales_analytics.definitions import build_definitions

    # The partitions must reach back to the window's first day, whatever the configured start.
    first_partition = min(window.start, resolve_history_start(settings, window.end))
    definitions = build_definitions(settings, history_start=first_partition)
    # TRANSACTIONS is the total over the window: a rate of that many every window.days days;
    # without it, SALES_ANALYTICS_TRANSACTIONS_PER_DAY (as the nightly run), else the default.
    if transactions:
        rate, days = transactions, window.days
    elif settings.transactions_per_day:
        rate, days = settings.transactions_per_day, 1
    else:
        rate = days = None
    run_config = warehouse_run_config(
        as_of=as_of, customers=customers, transactions=rate, days=days, seed=seed
    )
    job = definitions.resolve_job_def(SALES_ANALYTICS_JOB)
    return job.execute_in_process(
        run_config=run_config,
        instance=instance,
        tags=partition_range_tags(window),
        raise_on_error=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    as_of = args.as_of or today
    if as_of > today:
        print(f"error: the as-of date {as_of} is after today ({today})", file=sys.stderr)
        return 2
    try:
        window = history_window(as_of, args.days, settings.history_start)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Warehouse: {settings.duckdb_path}")
    print(f"History: {window.start} to {window.end} (excluded), {window.days} days in one run")
    result = rebuild_warehouse(
        settings,
        window=window,
        as_of=as_of,
        customers=args.customers,
        transactions=args.transactions,
        seed=args.seed,
        instance=project_instance(),
    )
    return report(result, settings)


if __name__ == "__main__":
    sys.exit(main())
