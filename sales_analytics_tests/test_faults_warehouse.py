"""Warehouse faults through `make run` (run.main): a file held by another process, a file that is
not a database, a folder that cannot be created, and bad settings. Each fails with a message that
names the file or the setting and leaves what was there untouched."""

import dataclasses
import time
from datetime import date

import duckdb
import pytest

from sales_analytics.cli import run
from sales_analytics.cli.run import warehouse_run_config
from sales_analytics.core.days import DayWindow
from sales_analytics.core.settings import Settings
from sales_analytics.definitions import build_definitions
from sales_analytics.defs.automation.jobs import SALES_ANALYTICS_JOB
from sales_analytics.defs.partitions import AS_OF_TAG
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


@pytest.mark.parametrize(
    ("op_config", "tags", "message"),
    [
        (
            {"raw__transactions": {"count": 0}},
            {},
            "raw__transactions.count: input should be greater than 0, got 0",
        ),
        (
            {"raw__transactions": {"days": -3}},
            {},
            "raw__transactions.days: input should be greater than 0, got -3",
        ),
        (
            {"raw__customers": {"count": 0}},
            {},
            "raw__customers.count: input should be greater than 0, got 0",
        ),
        (
            {},
            {AS_OF_TAG: "31/03/2026"},
            "tag sales_analytics/as_of_date: the as-of date must be YYYY-MM-DD, got '31/03/2026'",
        ),
    ],
)
def test_bad_run_config_from_the_ui_fails_before_any_write(
    op_config, tags, message, warehouse_path
):
    settings = dataclasses.replace(Settings.from_env(), history_start=date(2026, 3, 1))
    # What a person may type into the launchpad: values the config schema cannot refuse alone.
    run_config = warehouse_run_config(DayWindow(date(2026, 3, 30), date(2026, 3, 31)))
    for op_name, values in op_config.items():
        run_config["ops"][op_name]["config"].update(values)
    result = (
        build_definitions(settings)
        .resolve_job_def(SALES_ANALYTICS_JOB)
        .execute_in_process(
            run_config=run_config, partition_key="2026-03-30", tags=tags, raise_on_error=False
        )
    )
    assert not result.success
    assert not [event for event in result.all_events if event.is_step_start]
    assert message in result.get_run_failure_event().event_specific_data.error.to_string()
    assert not warehouse_path.exists()
