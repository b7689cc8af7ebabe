"""`make run`: rebuild the warehouse once, print what it holds and which checks passed.

Exits 1 when a step failed or an error-severity check failed, 2 on bad options or settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from sales_analytics.jobs import SALES_ANALYTICS_JOB, warehouse_run_config
from sales_analytics.settings import Settings, SettingsError

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


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    asset: str
    passed: bool
    severity: str

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "ERROR"


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
    parser.add_argument("--transactions", type=positive_int, help="transactions (default 1000)")
    parser.add_argument("--days", type=positive_int, help="days of history (default 90)")
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--as-of", type=iso_date, help="as-of date YYYY-MM-DD (default today)")
    return parser.parse_args(argv)


def table_row_counts(database: Path, tables: Sequence[str]) -> dict[str, int | None]:
    """Row count per table, None where the table does not exist (yet)."""
    if not database.exists():
        return dict.fromkeys(tables)
    counts: dict[str, int | None] = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        existing = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for table in tables:
            if table in existing:
                schema, name = table.split(".")
                relation = f'"{schema}"."{name}"'
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


def format_summary(
    counts: dict[str, int | None],
    checks: Sequence[CheckOutcome],
    *,
    products_source: str | None,
    run_succeeded: bool,
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
    return "\n".join(lines)


def products_source(result: dg.ExecuteInProcessResult) -> str | None:
    for materialization in result.asset_materializations_for_node("raw__products"):
        source = materialization.metadata.get("source")
        if source is not None:
            return source.value
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from sales_analytics.definitions import defs

    run_config = warehouse_run_config(
        as_of=args.as_of,
        customers=args.customers,
        transactions=args.transactions,
        days=args.days,
        seed=args.seed,
    )
    instance = dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else None
    print(f"Warehouse: {settings.duckdb_path}")
    job = defs().resolve_job_def(SALES_ANALYTICS_JOB)
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
    checks = check_outcomes(result)
    print(
        format_summary(
            table_row_counts(settings.duckdb_path, SUMMARY_TABLES),
            checks,
            products_source=products_source(result),
            run_succeeded=result.success,
        )
    )
    dashboard = settings.dashboard_path
    print(
        f"Dashboard: {dashboard if dashboard.exists() else 'not built'} (make dashboard opens it)"
    )
    return 0 if result.success and not any(check.blocks for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
