"""The dg CLI loads the same code location from a shell without the venv on PATH."""

from __future__ import annotations

import os
import subprocess
from datetime import date

import duckdb

from sales_analytics.core.settings import PROJECT_ROOT
from sales_analytics_tests.live.instance import VENV_BIN, path_without_venv


def dg(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path_without_venv(os.environ.get("PATH", ""))}
    env.pop("VIRTUAL_ENV", None)
    env["DAGSTER_HOME"] = str(tmp_path)
    return subprocess.run(
        [str(VENV_BIN / "dg"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dg_check_defs_passes_without_the_venv_on_path(tmp_path) -> None:
    result = dg("check", "defs", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dg_list_defs_shows_the_graph(tmp_path) -> None:
    result = dg("list", "defs", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for key in ("raw/transactions", "marts/fct_transactions", "nightly_warehouse_rebuild"):
        assert key in result.stdout


def test_dg_launch_of_a_partition_range_builds_those_days(warehouse_path, tmp_path) -> None:
    first, last = "2026-11-01", "2026-11-03"
    env_home = tmp_path / "home"
    env_home.mkdir()
    result = dg(
        "launch", "--assets", "*", "--partition-range", f"{first}...{last}", tmp_path=env_home
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        raw_days = connection.execute(
            "select distinct cast(transaction_date as date) from raw.transactions order by 1"
        ).fetchall()
        fact_days = connection.execute(
            "select distinct transaction_date from marts.fct_transactions order by 1"
        ).fetchall()
    expected = [(date(2026, 11, day),) for day in (1, 2, 3)]
    assert raw_days == expected
    assert fact_days == expected
