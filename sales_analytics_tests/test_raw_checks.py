"""The raw checks as Dagster runs them, on a real warehouse file: all pass on generated data, each
fails with the right counts on a damaged table, what they compare with comes from the run (its
partitions, its config, its as-of tag), and a failed blocking check keeps the dbt models from
running in the same run."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from sales_analytics.cli.run import partition_range_tags, warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.generate import range_volume
from sales_analytics.core.settings import Settings
from sales_analytics.core.validation import RULES_BY_TABLE, TABLES
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.partitions import AS_OF_TAG
from sales_analytics.defs.raw import assets as raw

RAW_KEYS = [dg.AssetKey(["raw", table]) for table in TABLES]
RAW_CHECK_NAMES = {rule.name for table in TABLES for rule in RULES_BY_TABLE[table]}
BLOCKING = {rule.name for table in TABLES for rule in RULES_BY_TABLE[table] if rule.blocking}
# A few days back, so no generated transaction can lie in the future whatever the clock says.
AS_OF = date.today() - timedelta(days=3)
HISTORY = DayWindow(AS_OF - timedelta(days=90), AS_OF)
# The default volume, 1,000 transactions every 90 days.
TRANSACTIONS = range_volume(HISTORY.start, HISTORY.end, count=1000, days=90)
CHECKS_ONLY_JOB = "raw_checks_only"
DBT_OP = "dbt_build"


def definitions(history_start: date | None = HISTORY.start) -> dg.Definitions:
    return build_definitions(dataclasses.replace(Settings.from_env(), history_start=history_start))


def run_warehouse_job(
    instance: dg.DagsterInstance, selection: list[dg.AssetKey] | None = None
) -> dg.ExecuteInProcessResult:
    """One run over the 90 days of history, as `make run` does."""
    job = definitions().resolve_job_def(SALES_ANALYTICS_JOB)
    return job.execute_in_process(
        run_config=warehouse_run_config(HISTORY),
        instance=instance,
        asset_selection=selection,
        tags=partition_range_tags(HISTORY),
        raise_on_error=False,
    )


def run_raw_checks_only(
    instance: dg.DagsterInstance,
    window: DayWindow | None = HISTORY,
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
    history_start: date | None = HISTORY.start,
) -> dg.ExecuteInProcessResult:
    """The raw checks alone over `window`'s days, against whatever the warehouse holds now, with
    the history configured to start at `history_start` (None: the default)."""
    checks_only = dg.define_asset_job(
        CHECKS_ONLY_JOB, selection=dg.AssetSelection.checks_for_assets(*RAW_KEYS)
    )
    merged = dg.Definitions.merge(definitions(history_start), dg.Definitions(jobs=[checks_only]))
    return merged.resolve_job_def(CHECKS_ONLY_JOB).execute_in_process(
        instance=instance,
        run_config=run_config,
        tags={**(partition_range_tags(window) if window else {}), **(tags or {})},
        raise_on_error=False,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def metadata_values(evaluation: dg.AssetCheckEvaluation) -> dict[str, object]:
    return {name: value.value for name, value in evaluation.metadata.items()}


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def raw_run(module_warehouse_path: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The raw assets and their checks, once for the module."""
    return run_warehouse_job(instance, selection=RAW_KEYS)


def test_every_raw_check_passes_on_generated_data(raw_run: dg.ExecuteInProcessResult) -> None:
    assert raw_run.success
    found = evaluations(raw_run)

    assert set(found) == RAW_CHECK_NAMES
    assert all(evaluation.passed for evaluation in found.values())
    for name, evaluation in found.items():
        expected = dg.AssetCheckSeverity.ERROR if name in BLOCKING else dg.AssetCheckSeverity.WARN
        assert evaluation.severity == expected, name
        assert evaluation.blocking == (name in BLOCKING), name
        values = metadata_values(evaluation)
        assert values["offending_rows"] == 0
        assert values["offending_keys"] == []


def test_raw_materializations_explain_themselves_and_count_their_own_rows(
    raw_run: dg.ExecuteInProcessResult,
) -> None:
    customers, products = (
        raw_run.asset_materializations_for_node(f"raw__{table}")
        for table in ("customers", "products")
    )
    transactions = raw_run.asset_materializations_for_node("raw__transactions")
    # One materialization per day of the run for each asset (every asset is daily-partitioned).
    for materializations in (customers, products, transactions):
        assert len(materializations) == HISTORY.days
    for materialization in (customers[0], products[0]):
        metadata = materialization.metadata
        assert isinstance(metadata["preview"], dg.MarkdownMetadataValue)
        assert metadata["preview"].value.startswith("| ")
        assert metadata["dagster/column_schema"].value.columns
    assert "CUST-000001" in customers[0].metadata["preview"].value
    # Customers and products are whole tables: each day's materialization carries the table's rows.
    assert {m.metadata["dagster/row_count"].value for m in customers} == {200}
    assert {m.metadata["dagster/row_count"].value for m in products} == {20}
    # Transactions: each day carries its own rows, which add up to what the run asked for.
    per_day = {m.partition: m.metadata["dagster/row_count"].value for m in transactions}
    assert set(per_day) == {day.isoformat() for day in HISTORY.each_day()}
    assert sum(per_day.values()) == TRANSACTIONS == 1000
    assert transactions[0].metadata["dagster/column_schema"].value.columns


def test_row_count_check_reports_requested_and_actual(raw_run: dg.ExecuteInProcessResult) -> None:
    values = metadata_values(evaluations(raw_run)["transactions_match_requested_count"])

    assert values["row_count"] == TRANSACTIONS
    assert values["expected_at_least"] == values["expected_at_most"] == TRANSACTIONS


def test_the_checks_expect_the_days_and_as_of_date_of_their_run(
    raw_run: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, module_warehouse_path: Path
) -> None:
    # The same warehouse, checked by runs of other days and another as-of date.
    last_day = DayWindow(HISTORY.last_day, HISTORY.end)
    one_day = run_raw_checks_only(instance, window=last_day)
    earlier_as_of = AS_OF - timedelta(days=800)
    earlier = run_raw_checks_only(instance, tags={AS_OF_TAG: earlier_as_of.isoformat()})

    # Its window: a run of the last day counts that day's rows against that day's volume.
    day_count = metadata_values(evaluations(one_day)["transactions_match_requested_count"])
    expected_day = range_volume(last_day.start, last_day.end, count=1000, days=90)
    assert day_count["row_count"] == day_count["expected_at_most"] == expected_day
    assert all(e.passed for e in evaluations(one_day).values())
    # Its as-of tag: customers registered after an as-of date 800 days back are out of range.
    with duckdb.connect(str(module_warehouse_path), read_only=True) as connection:
        (registered_after,) = connection.execute(
            "select count(*) from raw.customers where registration_date > ?", [earlier_as_of]
        ).fetchone()
    registrations = evaluations(earlier)["registration_dates_in_registration_span"]
    assert registered_after > 0
    assert not registrations.passed
    assert metadata_values(registrations)["offending_rows"] == registered_after


@pytest.mark.parametrize("configured", [False, True])
def test_days_before_the_history_fail_only_a_configured_start(
    raw_run: dg.ExecuteInProcessResult,
    instance: dg.DagsterInstance,
    module_warehouse_path: Path,
    configured: bool,
) -> None:
    # The warehouse holds HISTORY's 90 days. The default history (90 days before today) starts
    # after its first days; a configured start ten days in does too, on purpose.
    later_start = HISTORY.start + timedelta(days=10)
    result = run_raw_checks_only(
        instance,
        window=DayWindow(HISTORY.last_day, HISTORY.end),
        history_start=later_start if configured else None,
    )

    dates = evaluations(result)["transaction_dates_within_history_window"]
    with duckdb.connect(str(module_warehouse_path), read_only=True) as connection:
        (before_start,) = connection.execute(
            "select count(*) from raw.transactions where transaction_date < ?", [later_start]
        ).fetchone()
    assert before_start > 0
    assert metadata_values(dates)["offending_rows"] == (before_start if configured else 0)
    assert dates.passed is not configured


def test_the_checks_expect_the_volumes_of_their_runs_config(warehouse_path: Path) -> None:
    day = DayWindow(HISTORY.last_day, HISTORY.end)
    run_config = warehouse_run_config(day, customers=150, transactions=40)
    job = definitions().resolve_job_def(SALES_ANALYTICS_JOB)

    result = job.execute_in_process(
        run_config=run_config,
        asset_selection=RAW_KEYS,
        partition_key=day.start.isoformat(),
        instance=dg.DagsterInstance.ephemeral(),
    )

    found = evaluations(result)
    assert all(e.passed for e in found.values())
    customers = metadata_values(found["customers_match_requested_count"])
    assert customers["expected_at_least"] == customers["expected_at_most"] == 150
    transactions = metadata_values(found["transactions_match_requested_count"])
    assert transactions["expected_at_least"] == transactions["expected_at_most"] == 40


def test_checks_in_a_run_without_partitions_fail_and_say_why(
    raw_run: dg.ExecuteInProcessResult, instance: dg.DagsterInstance
) -> None:
    result = run_raw_checks_only(instance, window=None)

    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert {event.step_key for event in failures} == {"raw_customers_checks", "raw_products_checks"}
    for failure in failures:
        assert "launch them with a partition or a range of partitions" in (
            failure.step_failure_data.error.to_string()
        )
    # Nothing was evaluated against a window it could not know.
    assert result.get_asset_check_evaluations() == []


# (SQL that damages the warehouse, {check: (offending rows, offending keys)})
DAMAGE: dict[str, tuple[list[str], dict[str, tuple[int, list[str]]]]] = {
    "duplicate keys": (
        [
            "insert into raw.customers"
            " select * from raw.customers where customer_id in ('CUST-000007', 'CUST-000042')",
        ],
        {
            "customer_ids_unique_and_not_null": (4, ["CUST-000007", "CUST-000042"]),
            "customers_match_requested_count": (2, []),
            "customer_emails_unique": (4, ["CUST-000007", "CUST-000042"]),
        },
    ),
    "orphan transactions": (
        [
            "update raw.transactions set customer_id = 'CUST-999999'"
            " where transaction_id in (select transaction_id from raw.transactions"
            " order by transaction_id limit 3)",
        ],
        {"transactions_reference_customers": (3, None)},
    ),
    "nulls": (
        [
            "update raw.customers set email = null where customer_id = 'CUST-000010'",
            "update raw.transactions set transaction_id = null where transaction_id ="
            " (select min(transaction_id) from raw.transactions)",
        ],
        {
            "customers_required_columns_not_null": (1, ["CUST-000010: email"]),
            "transaction_ids_unique_and_not_null": (1, ["(null)"]),
            "transactions_required_columns_not_null": (1, ["(null): transaction_id"]),
        },
    ),
    "wrong totals": (
        [
            "update raw.transactions set total_amount = total_amount + 1"
            " where transaction_id in (select transaction_id from raw.transactions"
            " order by transaction_id limit 2)",
        ],
        {"transaction_totals_match_quantity_times_price": (2, None)},
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_checks_fail_with_counts_on_damaged_tables(
    raw_run: dg.ExecuteInProcessResult,
    instance: dg.DagsterInstance,
    module_warehouse_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    statements, expected = DAMAGE[case]
    damaged = tmp_path / "damaged.duckdb"
    shutil.copyfile(module_warehouse_path, damaged)
    with duckdb.connect(str(damaged)) as connection:
        for statement in statements:
            connection.execute(statement)
    monkeypatch.setenv("SALES_ANALYTICS_DUCKDB_PATH", str(damaged))

    result = run_raw_checks_only(instance)

    failed = {name: e for name, e in evaluations(result).items() if not e.passed}
    assert set(failed) == set(expected)
    for name, (rows, keys) in expected.items():
        values = metadata_values(failed[name])
        assert values["offending_rows"] == rows, name
        if keys is not None:
            assert values["offending_keys"] == keys, name
        else:
            assert len(values["offending_keys"]) == min(rows, 5), name
    # Checks run alone are not followed by anything, but a blocking failure still fails the step.
    assert result.success == (not set(expected) & BLOCKING)


def _duplicate_a_customer(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.head(1)])


def _orphan_two_transactions(frame: pl.DataFrame) -> pl.DataFrame:
    orphaned = pl.int_range(pl.len()) < 2
    return frame.with_columns(
        customer_id=pl.when(orphaned).then(pl.lit("CUST-999999")).otherwise(pl.col("customer_id"))
    )


def _wrong_total(frame: pl.DataFrame) -> pl.DataFrame:
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        total_amount=pl.when(first).then(pl.col("total_amount") * 10).otherwise("total_amount")
    )


BLOCKING_CASES = {
    "duplicate customer": (
        "generate_customers",
        _duplicate_a_customer,
        "customer_ids_unique_and_not_null",
    ),
    "orphan transactions": (
        "transaction_batches",
        _orphan_two_transactions,
        "transactions_reference_customers",
    ),
    "wrong total": (
        "transaction_batches",
        _wrong_total,
        "transaction_totals_match_quantity_times_price",
    ),
}


@pytest.mark.parametrize("case", list(BLOCKING_CASES))
def test_a_failed_blocking_check_stops_the_dbt_models(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    generator, damage, blocking_check = BLOCKING_CASES[case]
    generate = getattr(raw, generator)
    if generator == "transaction_batches":
        monkeypatch.setattr(
            raw, generator, lambda *a, **k: (damage(batch) for batch in generate(*a, **k))
        )
    else:
        monkeypatch.setattr(raw, generator, lambda *a, **k: damage(generate(*a, **k)))

    result = run_warehouse_job(dg.DagsterInstance.ephemeral())

    assert not result.success
    failed_blocking = [
        e.check_name for e in result.get_asset_check_evaluations() if not e.passed and e.blocking
    ]
    assert failed_blocking == [blocking_check]
    assert evaluations(result)[blocking_check].severity == dg.AssetCheckSeverity.ERROR
    materialized = {event.asset_key.path[0] for event in result.get_asset_materialization_events()}
    assert materialized == {"raw"}
    started = {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START
    }
    assert DBT_OP not in started
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        schemas = {
            row[0]
            for row in connection.execute("select schema_name from duckdb_schemas()").fetchall()
        }
    assert not {"staging", "marts"} & schemas
