"""What `make run` runs: the CLI's exit codes and summary, and raw assets loading raw inputs."""

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from sales_analytics.cli import run
from sales_analytics.cli.report import CheckOutcome, format_summary
from sales_analytics.cli.run import warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB

RAW = ("customers", "products", "transactions")


def test_make_run_builds_the_warehouse_and_prints_the_summary(
    warehouse_path, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    exit_code = run.main(
        ["--customers", "40", "--transactions", "300", "--days", "30", "--seed", "7"]
    )
    output = capsys.readouterr().out
    assert exit_code == 0, output
    assert "raw.customers             40" in output
    assert "raw.transactions          300" in output
    assert "marts.fct_transactions    300" in output
    assert "Products: built-in offline catalog" in output
    # The 34 dbt tests and the 24 raw checks.
    assert "Checks: 58 passed, 0 failed" in output
    assert "Run: succeeded" in output
    assert warehouse_path.exists()
    # The summary names every output the run wrote, each where the settings put it.
    outputs = output[output.index("Outputs:") :].splitlines()[1:5]
    settings = Settings.from_env()
    expected = [
        ("warehouse", settings.duckdb_path),
        ("serving copy", settings.bi_path),
        ("Parquet", settings.parquet_dir),
        ("dashboard", settings.dashboard_path),
    ]
    assert [line.split() for line in outputs] == [
        [*label.split(), str(path)] for label, path in expected
    ]
    assert all(path.exists() for _, path in expected)

    # The run is in DAGSTER_HOME with every day of its range materialized, its plan recorded as
    # one event per asset naming the 30 days (not 30 events per asset).
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    days = {(today - timedelta(days=back)).isoformat() for back in range(1, 31)}
    instance = dg.DagsterInstance.get()
    [record] = instance.get_run_records()
    assert record.dagster_run.is_success
    planned = instance.get_records_for_run(
        record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    planned_data = [entry.event_log_entry.dagster_event.event_specific_data for entry in planned]
    assets = build_definitions(settings).resolve_all_asset_keys()
    assert sorted(data.asset_key for data in planned_data) == sorted(assets)
    assert all(set(data.partitions_subset.get_partition_keys()) == days for data in planned_data)
    assert instance.get_materialized_partitions(dg.AssetKey(["raw", "transactions"])) == days
    assert run.PLANNED_EVENTS_AS_RANGE not in os.environ


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


def test_transactions_load_raw_inputs_through_the_warehouse_io_manager(warehouse_path, monkeypatch):
    monkeypatch.setenv("SALES_ANALYTICS_HISTORY_START", "2026-03-01")
    definitions = build_definitions(Settings.from_env())
    day = DayWindow(date(2026, 3, 30), date(2026, 3, 31))
    run_config = warehouse_run_config(day, customers=25, transactions=90)
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
        CheckOutcome(name="unique_x", asset="staging/stg_x", passed=False, severity="ERROR"),
        CheckOutcome(name="looks_fine", asset="raw/x", passed=True, severity="WARN"),
    ]
    text = format_summary(
        {"raw.x": 3, "marts.y": None}, checks, products_source="api", run_succeeded=True
    )
    assert "Checks: 1 passed, 1 failed" in text
    assert "FAILED [ERROR] staging/stg_x: unique_x" in text
    assert "marts.y  missing" in text
    assert text.endswith("Run: FAILED")


def test_summary_marks_an_output_the_run_did_not_write(tmp_path):
    written = tmp_path / "warehouse.duckdb"
    written.write_bytes(b"")
    text = format_summary(
        {},
        [],
        products_source=None,
        run_succeeded=False,
        outputs=[("warehouse", written), ("dashboard", tmp_path / "index.html")],
    )
    lines = text.splitlines()
    assert f"  warehouse  {written}" in lines
    assert f"  dashboard  {tmp_path / 'index.html'}  (not written by this run)" in lines
