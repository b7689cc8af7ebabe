"""What `make run` runs: the CLI's exit codes and summary, and raw assets loading raw inputs."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from sales_analytics.cli import run
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import DBT_OP, SALES_ANALYTICS_JOB, warehouse_run_config
from sales_analytics.core.settings import Settings

RAW = ("customers", "products", "transactions")


def test_make_run_builds_the_warehouse_and_prints_the_summary(warehouse_path, capsys):
    exit_code = run.main(
        ["--customers", "40", "--transactions", "300", "--days", "30", "--seed", "7"]
    )
    output = capsys.readouterr().out
    assert exit_code == 0, output
    assert "raw.customers             40" in output
    assert "raw.transactions          300" in output
    assert "marts.fct_transactions    300" in output
    assert "Products: built-in offline catalog" in output
    # The 34 dbt tests, the 24 raw checks and the marts' 3 freshness checks.
    assert "Checks: 61 passed, 0 failed" in output
    assert "Run: succeeded" in output
    assert warehouse_path.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--customers", "0"], "argument --customers: must be at least 1, got 0"),
        (["--transactions", "-5"], "argument --transactions: must be at least 1, got -5"),
        (["--days", "0"], "argument --days: must be at least 1, got 0"),
        (["--days", "ten"], "argument --days: expected a whole number, got 'ten'"),
        (["--as-of", "31/03/2026"], "argument --as-of: expected YYYY-MM-DD"),
    ],
)
def test_bad_options_fail_before_any_write(argv, message, warehouse_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not warehouse_path.exists()


def test_bad_settings_fail_before_any_write(warehouse_path, monkeypatch, capsys):
    monkeypatch.setenv("SALES_ANALYTICS_TIMEZONE", "Not/AZone")
    assert run.main([]) == 2
    assert "SALES_ANALYTICS_TIMEZONE must be an IANA timezone" in capsys.readouterr().err
    assert not warehouse_path.exists()


def test_transactions_load_raw_inputs_through_the_duckdb_io_manager(warehouse_path):
    # Guards the duckdb pin: dagster-duckdb-polars loads inputs with an API DuckDB 2 removed.
    definitions = build_definitions(Settings.from_env(), history_start=date(2026, 3, 1))
    run_config = warehouse_run_config(customers=25, transactions=90, days=1)
    del run_config["ops"][DBT_OP]
    result = definitions.resolve_job_def(SALES_ANALYTICS_JOB).execute_in_process(
        run_config=run_config,
        asset_selection=[dg.AssetKey(["raw", name]) for name in RAW],
        partition_key="2026-03-30",
    )
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        orphans = connection.execute(
            "select count(*) from raw.transactions t"
            " left join raw.customers c using (customer_id)"
            " left join raw.products p on p.id = t.product_id"
            " where c.customer_id is null or p.id is null"
        ).fetchone()[0]
        (count,) = connection.execute("select count(*) from raw.transactions").fetchone()
    assert (count, orphans) == (90, 0)


def test_summary_names_failed_checks_and_fails_on_blocking_ones():
    checks = [
        run.CheckOutcome(name="unique_x", asset="staging/stg_x", passed=False, severity="ERROR"),
        run.CheckOutcome(name="looks_fine", asset="raw/x", passed=True, severity="WARN"),
    ]
    text = run.format_summary(
        {"raw.x": 3, "marts.y": None}, checks, products_source="api", run_succeeded=True
    )
    assert "Checks: 1 passed, 1 failed" in text
    assert "FAILED [ERROR] staging/stg_x: unique_x" in text
    assert "marts.y  missing" in text
    assert text.endswith("Run: FAILED")
