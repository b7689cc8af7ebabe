"""What `make run` and `make daily` print when their run is over, and their exit status."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import duckdb

from sales_analytics.cli.instance import prepare_dagster_home
from sales_analytics.core.alerts import CheckOutcome
from sales_analytics.core.lake import RAW_SCHEMA, READABLE_MODEL_SCHEMAS, lake_connection
from sales_analytics.core.settings import Settings
from sales_analytics.core.sql import qualified_name
from sales_analytics.defs.automation.sensors import failure_message

TABLE_NAME = "dagster/table_name"
VERBOSE = "VERBOSE"


def warehouse_tables(definitions: dg.Definitions) -> list[str]:
    """The warehouse tables of the graph (schema.table), from each asset's table name."""
    tables = []
    for assets_def in definitions.assets or []:
        for spec in getattr(assets_def, "specs", []):
            table = spec.metadata.get(TABLE_NAME)
            if table is not None:
                tables.append(str(getattr(table, "value", table)))
    order = {"raw": 0, "staging": 1, "marts": 2}
    return sorted(tables, key=lambda name: (order.get(name.split(".")[0], 3), name))


def verbose() -> bool:
    return os.environ.get(VERBOSE, "").strip() not in ("", "0")


def logging_config() -> dict:
    """One line per step at INFO; Dagster's DEBUG event log only with VERBOSE=1."""
    return {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose() else "INFO"}}}}


@contextlib.contextmanager
def dbt_output_hidden() -> Iterator[None]:
    """dbt's own log lines (which dagster-dbt copies to stdout, and the UI keeps as the step's
    compute log) stay out of the terminal unless VERBOSE=1; a failed model still reaches the
    summary through its step's error."""
    if verbose():
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def table_row_counts(database: Path, tables: Sequence[str]) -> dict[str, int | None]:
    """Row count per table, None where the table does not exist (yet) or the file cannot be read
    (the run's failure says why)."""
    if not database.exists():
        return dict.fromkeys(tables)
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.Error:
        return dict.fromkeys(tables)
    return row_counts_in(connection, tables)


def lake_row_counts(lake: Path, tables: Sequence[str]) -> dict[str, int | None]:
    """Row counts of the Spark lake's raw tables, marts and history. The staging views exist
    only in Spark's catalog, with no files to count, so they are left out rather than shown as
    missing."""
    schemas: dict[str, dict[str, list[str]]] = {}
    raw = []
    for table in tables:
        schema, name = table.split(".")
        if schema == RAW_SCHEMA:
            raw.append(name)
        elif schema in READABLE_MODEL_SCHEMAS:
            schemas.setdefault(schema, {})[name] = []
    in_lake = [t for t in tables if t.split(".")[0] in (RAW_SCHEMA, *READABLE_MODEL_SCHEMAS)]
    return row_counts_in(lake_connection(lake, raw, schemas), in_lake)


def row_counts_in(
    connection: duckdb.DuckDBPyConnection, tables: Sequence[str]
) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with connection:
        existing = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for table in tables:
            relation = qualified_name(*table.split("."))
            counts[table] = (
                connection.execute(f"select count(*) from {relation}").fetchone()[0]
                if table in existing
                else None
            )
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
    """Each failed step with the message of its failure."""
    return [
        f"{event.step_key}: {failure_message(event).splitlines()[0]}"
        for event in result.all_events
        if event.is_step_failure
    ]


def products_source(result: dg.ExecuteInProcessResult) -> str | None:
    for materialization in result.asset_materializations_for_node("raw__products"):
        source = materialization.metadata.get("source")
        if source is not None:
            return source.value
    return None


def format_summary(
    counts: dict[str, int | None],
    checks: Sequence[CheckOutcome],
    *,
    products_source: str | None,
    run_succeeded: bool,
    failures: Sequence[str] = (),
    outputs: Sequence[tuple[str, Path]] = (),
) -> str:
    lines = ["", "Rows per table:"]
    width = max((len(table) for table in counts), default=0)
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
    if outputs:
        lines.append("Outputs:")
        label_width = max(len(label) for label, _ in outputs)
        for label, path in outputs:
            state = "" if path.exists() else "  (not written by this run)"
            lines.append(f"  {label:<{label_width}}  {path}{state}")
    blocking = any(check.blocks for check in checks)
    lines.append("Run: " + ("succeeded" if run_succeeded and not blocking else "FAILED"))
    lines.extend(f"  failed step {failure}" for failure in failures)
    return "\n".join(lines)


def report(
    result: dg.ExecuteInProcessResult, settings: Settings, definitions: dg.Definitions
) -> int:
    """Print the warehouse's row counts, the checks and the outputs; the run's exit status."""
    checks = check_outcomes(result)
    print(
        format_summary(
            (
                lake_row_counts(settings.lake_path, warehouse_tables(definitions))
                if settings.on_spark
                else table_row_counts(settings.duckdb_path, warehouse_tables(definitions))
            ),
            checks,
            products_source=products_source(result),
            run_succeeded=result.success,
            failures=step_failures(result),
            outputs=[
                (
                    ("lake", settings.lake_path)
                    if settings.on_spark
                    else ("warehouse", settings.duckdb_path)
                ),
                ("serving copy", settings.bi_path),
                ("Parquet", settings.parquet_dir),
                ("dashboard", settings.dashboard_path),
            ],
        )
    )
    return 0 if result.success and not any(check.blocks for check in checks) else 1


def project_instance() -> dg.DagsterInstance | None:
    """The instance in DAGSTER_HOME (created with its dagster.yaml when missing), so runs show in
    the UI; None (an ephemeral instance) when DAGSTER_HOME is unset."""
    if not os.getenv("DAGSTER_HOME"):
        return None
    prepare_dagster_home()
    return dg.DagsterInstance.get()
