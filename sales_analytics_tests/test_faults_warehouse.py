"""Warehouse faults through `make run` (run.main): a file held by another process, a file that is
not a database, a folder that cannot be created, and bad settings. Each fails with a message that
names the file or the setting and leaves what was there untouched."""

import time
from datetime import date

import duckdb
import pytest

from sales_analytics.cli import run
from sales_analytics.core.settings import Settings
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB, warehouse_run_config
from sales_analytics_tests.test_warehouse_access import hold

pytestmark = pytest.mark.faults

ARGS = ["--customers", "20", "--transactions", "60", "--days", "5", "--as-of", "2026-03-31"]


def existing_warehouse(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table keep_me as select 42 as answer")


def kept(path) -> bool:
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute("select table_name from information_schema.tables").fetchall()
        return tables == [("keep_me",)]


@pytest.mark.parametrize("mode", ["read", "write"])
def test_a_warehouse_held_by_another_process_fails_the_run_after_a_bounded_wait(
    mode, warehouse_path, monkeypatch, capsys
):
    existing_warehouse(warehouse_path)
    monkeypatch.setenv("SALES_ANALYTICS_LOCK_TIMEOUT_SECONDS", "1")
    # The bounded wait is the retry: the retry policy of the raw assets must not repeat it.
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_COUNT", "3")
    monkeypatch.setenv("SALES_ANALYTICS_RETRY_DELAY_SECONDS", "0")
    holder = hold(warehouse_path, mode, seconds=120)
    try:
        started = time.monotonic()
        exit_code = run.main(ARGS)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    output = capsys.readouterr().out
    assert exit_code == 1
    assert f"the warehouse file {warehouse_path} is locked by process {holder.pid}" in output
    assert "failed step raw__customers: " in output
    assert "max_retries" not in output
    assert elapsed < 90
    assert kept(warehouse_path)


def test_a_file_that_is_not_a_database_fails_the_run_and_is_left_alone(warehouse_path, capsys):
    warehouse_path.parent.mkdir(parents=True)
    content = b"order_id,amount\n1,9.99\n" * 200
    warehouse_path.write_bytes(content)
    assert run.main(ARGS) == 1
    output = capsys.readouterr().out
    assert f"the warehouse file {warehouse_path} exists but is not a DuckDB database" in output
    assert warehouse_path.read_bytes() == content


def test_a_warehouse_folder_that_cannot_be_created_is_named(
    warehouse_path, tmp_path, monkeypatch, capsys
):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the warehouse folder should be")
    monkeypatch.setenv("SALES_ANALYTICS_DUCKDB_PATH", str(blocker / "w.duckdb"))
    assert run.main(ARGS) == 1
    output = capsys.readouterr().out
    assert f"cannot create the folder {blocker}" in output
    assert "Set SALES_ANALYTICS_DUCKDB_PATH to a writable location" in output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SALES_ANALYTICS_PRODUCTS_URL", "file:///etc/passwd", "SALES_ANALYTICS_PRODUCTS_URL must"),
        ("SALES_ANALYTICS_TIMEZONE", "Europe/Atlantis", "SALES_ANALYTICS_TIMEZONE must be"),
        ("SALES_ANALYTICS_LOCK_TIMEOUT_SECONDS", "-1", "SALES_ANALYTICS_LOCK_TIMEOUT_SECONDS must"),
        ("SALES_ANALYTICS_HISTORY_START", "yesterday", "SALES_ANALYTICS_HISTORY_START must be"),
    ],
)
def test_bad_settings_fail_before_any_write(
    variable, value, message, warehouse_path, monkeypatch, capsys
):
    monkeypatch.setenv(variable, value)
    assert run.main(ARGS) == 2
    assert message in capsys.readouterr().err
    assert not warehouse_path.exists()


def bad_as_of(run_config: dict) -> None:
    run_config["ops"]["sales_analytics_dbt_assets"]["config"]["as_of_date"] = "31/03/2026"


@pytest.mark.parametrize(
    ("volumes", "break_config", "message"),
    [
        (
            {"transactions": 0},
            None,
            "raw__transactions.count: input should be greater than 0, got 0",
        ),
        ({"days": -3}, None, "raw__transactions.days: input should be greater than 0, got -3"),
        ({"customers": 0}, None, "raw__customers.count: input should be greater than 0, got 0"),
        ({}, bad_as_of, "sales_analytics_dbt_assets.as_of_date: as_of_date must be a date"),
    ],
)
def test_bad_run_config_from_the_ui_fails_before_any_write(
    volumes, break_config, message, warehouse_path
):
    definitions = build_definitions(Settings.from_env(), history_start=date(2026, 3, 1))
    run_config = warehouse_run_config(**volumes)
    if break_config:
        break_config(run_config)
    result = definitions.resolve_job_def(SALES_ANALYTICS_JOB).execute_in_process(
        run_config=run_config, partition_key="2026-03-30", raise_on_error=False
    )
    assert not result.success
    assert not [event for event in result.all_events if event.is_step_start]
    assert message in str(result.get_run_failure_event().event_specific_data.error)
    assert not warehouse_path.exists()
