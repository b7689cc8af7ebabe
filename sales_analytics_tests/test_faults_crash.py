"""Runs killed with SIGKILL mid-write: every table is as before the run or as after it, and the
next run succeeds without repair. Each run is a real `make run` process; test scaffolding
(sales_analytics_tests/crash) pauses it inside the transaction of the named table, the test waits
for it to arrive there, then kills the whole process group (dbt included)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import duckdb
import pytest

from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics_tests.crash.dbt_overlay import overlay_pausing_in

pytestmark = pytest.mark.faults

# Load timestamps differ on every run by design; everything else is a function of the config.
TABLES = {
    "raw.customers": "select * exclude (created_at) from raw.customers",
    "raw.products": "select * exclude (extracted_at) from raw.products",
    "raw.transactions": "select * exclude (extracted_at) from raw.transactions",
    "marts.dim_customers": "select * from marts.dim_customers",
    "marts.dim_products": "select * from marts.dim_products",
    "marts.fct_transactions": "select * from marts.fct_transactions",
}
BEFORE_ARGS = ["--customers", "40", "--transactions", "300", "--days", "30", "--seed", "1"]
AFTER_ARGS = ["--customers", "60", "--transactions", "400", "--days", "30", "--seed", "2"]


def run_env(database: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    serving = database.parent / "serving"
    env.update(
        SALES_ANALYTICS_DUCKDB_PATH=str(database),
        SALES_ANALYTICS_BI_PATH=str(serving / "bi.duckdb"),
        SALES_ANALYTICS_PARQUET_DIR=str(serving / "parquet"),
        SALES_ANALYTICS_DASHBOARD_PATH=str(serving / "dashboard.html"),
        SALES_ANALYTICS_OFFLINE="1",
        SALES_ANALYTICS_RETRY_COUNT="0",
    )
    return env


def start(database: Path, command: list[str], cwd: Path = PROJECT_ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *command, "--as-of", "2026-03-31"],
        cwd=cwd,
        env=run_env(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish_run(database: Path, args: list[str]) -> str:
    process = start(database, ["sales_analytics.cli.run", *args])
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return output


def kill_when_ready(process: subprocess.Popen, ready_file: Path, point: str) -> None:
    try:
        deadline = time.monotonic() + 240
        while not ready_file.exists():
            if process.poll() is not None:
                pytest.fail(f"the run ended before reaching {point}:\n{process.stdout.read()}")
            assert time.monotonic() < deadline, f"the run never reached {point}"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


def kill_in_raw_write(database: Path, args: list[str], tmp_path: Path, *, table: str) -> None:
    ready_file = tmp_path / "ready"
    command = ["sales_analytics_tests.crash.raw_write", str(ready_file), table, *args]
    kill_when_ready(start(database, command), ready_file, f"the write of raw.{table}")


def kill_in_dbt_model(database: Path, args: list[str], tmp_path: Path, *, model: str) -> None:
    ready_file = tmp_path / "ready"
    overlay = overlay_pausing_in(
        model, "marts", tmp_path / "overlay", ready_file, run_env(database)
    )
    process = start(database, ["sales_analytics.cli.run", *args], cwd=overlay)
    kill_when_ready(process, ready_file, f"dbt's transaction of {model}")


def snapshot(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            table: connection.execute(f"{query} order by all").fetchall()
            for table, query in TABLES.items()
        }


@pytest.fixture(scope="module")
def warehouse_before(tmp_path_factory) -> tuple[Path, dict]:
    database = tmp_path_factory.mktemp("before") / "warehouse.duckdb"
    finish_run(database, BEFORE_ARGS)
    return database, snapshot(database)


@pytest.mark.parametrize(
    ("kill", "must_be_before", "must_be_after"),
    [
        # Customers and products are written before transactions start.
        (
            partial(kill_in_raw_write, table="transactions"),
            {"raw.transactions", "marts.fct_transactions"},
            {"raw.customers"},
        ),
        # dbt builds dim_customers and dim_products before fct_transactions.
        (
            partial(kill_in_dbt_model, model="fct_transactions"),
            {"marts.fct_transactions"},
            {"raw.transactions"},
        ),
    ],
    ids=["raw_write:transactions", "dbt_build:fct_transactions"],
)
def test_a_killed_run_leaves_each_table_before_or_after_and_the_next_run_repairs(
    kill, must_be_before, must_be_after, warehouse_before, tmp_path
):
    template, before = warehouse_before
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(template, database)

    kill(database, AFTER_ARGS, tmp_path)
    at_kill = snapshot(database)

    output = finish_run(database, AFTER_ARGS)
    after = snapshot(database)

    assert "Checks: " in output and " 0 failed" in output
    assert len(after["raw.customers"]) == 60 and len(after["raw.transactions"]) == 400
    for table in TABLES:
        assert at_kill[table] in (before[table], after[table]), f"{table} is half-written"
    for table in must_be_before:
        assert at_kill[table] == before[table], f"{table} should be as before the run"
    for table in must_be_after:
        assert at_kill[table] == after[table], f"{table} should be as after the run"
