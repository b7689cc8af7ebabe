"""Opening the warehouse: created when missing, clear errors when unusable or locked."""

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from sales_analytics.core.warehouse_access import WarehouseUnavailable, wait_until_writable

pytestmark = pytest.mark.faults

HOLD_OPEN = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold(path: Path, mode: str, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path), mode, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table t as select 1 as a")
    return path


def test_a_missing_file_and_folder_are_created(tmp_path):
    path = tmp_path / "new" / "folder" / "w.duckdb"
    wait_until_writable(path, timeout_seconds=1)
    assert path.exists()


def test_a_file_that_is_not_a_database_is_named_with_the_fix(tmp_path):
    path = tmp_path / "w.duckdb"
    path.write_text("name,amount\nbob,1\n" * 100)
    with pytest.raises(WarehouseUnavailable) as error:
        wait_until_writable(path, timeout_seconds=5)
    assert str(error.value).startswith(f"the warehouse file {path} exists but is not a DuckDB")
    assert "SALES_ANALYTICS_DUCKDB_PATH" in str(error.value)


@pytest.mark.parametrize("mode", ["read", "write"])
def test_a_file_held_by_another_process_fails_after_a_bounded_wait(database, mode):
    holder = hold(database, mode, seconds=30)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailable) as error:
            wait_until_writable(database, timeout_seconds=1.5, poll_seconds=0.2)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    message = str(error.value)
    assert f"the warehouse file {database} is locked by process {holder.pid}" in message
    assert "BI tools should read the serving copy" in message
    assert 1.5 <= waited < 10


def test_the_wait_ends_as_soon_as_the_holder_lets_go(database):
    holder = hold(database, "read", seconds=1)
    try:
        wait_until_writable(database, timeout_seconds=30, poll_seconds=0.2)
    finally:
        holder.wait()
    assert holder.returncode == 0
    with duckdb.connect(str(database)) as connection:
        assert connection.execute("select a from t").fetchall() == [(1,)]
