"""The BI assets in real runs: the serving copy and Parquet files the session's run published, a
reader process holding the copy during a run, a read-write holder deferring the swap, and the copy
opened by DuckDB 1.4 (the Power BI ODBC driver's version) from a separate environment."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sales_analytics.core.publish import MART_TABLES, is_powerbi_type
from sales_analytics.core.settings import BI_PATH, PARQUET_DIR, PROJECT_ROOT
from sales_analytics.defs.bi.assets import build_bi_assets, next_nightly_run
from sales_analytics.defs.resources.bi import BiOutputs
from sales_analytics_tests.bi.conftest import (
    AS_OF,
    BI_ASSET_KEYS,
    CLIENT_SCRIPT,
    BiRun,
    DuckdbClient,
    materialize,
)

# The DuckDB release of the ODBC driver Power BI users have (1.4.x, latest patch).
DUCKDB_ODBC_VERSION = "1.4.5"
MART_KEYS = [dg.AssetKey(["marts", table]) for table in MART_TABLES]
ORDER_KEYS = {
    "dim_customers": "customer_id",
    "dim_products": "product_id",
    "fct_transactions": "transaction_id",
}


def mart_counts(bi_run: BiRun) -> list[int]:
    with bi_run.connect_warehouse() as warehouse:
        return [
            warehouse.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in MART_TABLES
        ]


def serving_types(path: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "select table_schema, table_name, column_name, data_type"
            " from information_schema.columns where table_catalog = current_database()"
        ).fetchall()
    assert {(schema, table) for schema, table, _, _ in rows} == {
        ("marts", table) for table in MART_TABLES
    }, "the serving copy holds the three marts and nothing else"
    return {(table, column): data_type for _, table, column, data_type in rows}


def test_the_run_publishes_the_serving_copy_parquet_and_dashboard(bi_run: BiRun) -> None:
    days = {(AS_OF - timedelta(days=offset)).isoformat() for offset in range(1, 91)}
    for key in BI_ASSET_KEYS:
        # One publish for the run's 90 days, recorded on each day's partition.
        partitions = [
            event.partition
            for event in bi_run.result.get_asset_materialization_events()
            if event.asset_key == key
        ]
        assert sorted(partitions) == sorted(days), key
    assert bi_run.serving_copy.exists()
    assert bi_run.dashboard.exists()
    assert sorted(path.name for path in bi_run.parquet_dir.iterdir()) == [
        "dim_customers.parquet",
        "dim_products.parquet",
        "fct_transactions",
    ]
    assert not bi_run.serving_copy.samefile(bi_run.warehouse)
    metadata = bi_run.result.asset_materializations_for_node("bi__serving_copy")[0].metadata
    assert metadata["path"].value == str(bi_run.serving_copy)
    assert metadata["rows/fct_transactions"].value == mart_counts(bi_run)[2]
    dashboard = bi_run.result.asset_materializations_for_node("bi__dashboard")[0].metadata
    assert dashboard["path"].value == str(bi_run.dashboard)
    assert dashboard["url"].value == bi_run.dashboard.resolve().as_uri()
    assert dashboard["kpi/total_orders"].value == f"{mart_counts(bi_run)[2]:,}"


def warehouse_types(bi_run: BiRun) -> dict[tuple[str, str], str]:
    with bi_run.connect_warehouse() as warehouse:
        rows = warehouse.execute(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_catalog = current_database() and table_schema = 'marts'"
        ).fetchall()
    return {(table, column): kind for table, column, kind in rows}


def parquet_types(bi_run: BiRun) -> dict[tuple[str, str], str]:
    """Each mart's columns as DuckDB reads the published Parquet (the monthly fact files read
    without their hive key, which is not a column of the mart)."""
    sources = {
        "dim_customers": f"'{bi_run.parquet_dir}/dim_customers.parquet'",
        "dim_products": f"'{bi_run.parquet_dir}/dim_products.parquet'",
        "fct_transactions": f"'{bi_run.parquet_dir}/fct_transactions/*/*.parquet',"
        " hive_partitioning = false",
    }
    types = {}
    with duckdb.connect() as connection:
        for table, source in sources.items():
            relation = connection.sql(f"select * from read_parquet({source})")
            types |= {
                (table, column): str(kind)
                for column, kind in zip(relation.columns, relation.types, strict=True)
            }
    return types


def test_serving_copy_and_parquet_carry_exactly_the_marts_types(bi_run: BiRun) -> None:
    expected = warehouse_types(bi_run)
    assert serving_types(bi_run.serving_copy) == expected
    assert parquet_types(bi_run) == expected
    awkward = {column: kind for column, kind in expected.items() if not is_powerbi_type(kind)}
    assert awkward == {}, "no HUGEINT, unsigned, UUID, wide DECIMAL or zone-aware timestamp"


def test_serving_copy_holds_the_marts_rows(bi_run: BiRun) -> None:
    with duckdb.connect(str(bi_run.serving_copy), read_only=True) as copy:
        for table in MART_TABLES:
            order = ORDER_KEYS[table]
            published = copy.sql(f"select * from marts.{table} order by {order}").pl()
            with bi_run.connect_warehouse() as warehouse:
                expected = warehouse.sql(f"select * from marts.{table} order by {order}").pl()
            assert_frame_equal(published, expected)


def read_published_parquet(bi_run: BiRun, table: str) -> pl.DataFrame:
    if table == "fct_transactions":
        return pl.read_parquet(
            bi_run.parquet_dir / "fct_transactions" / "*" / "*.parquet", hive_partitioning=False
        )
    return pl.read_parquet(bi_run.parquet_dir / f"{table}.parquet")


def test_parquet_round_trip_equals_the_marts(bi_run: BiRun) -> None:
    with bi_run.connect_warehouse() as warehouse:
        for table in MART_TABLES:
            order = ORDER_KEYS[table]
            expected = warehouse.sql(f"select * from marts.{table} order by {order}").pl()
            exported = read_published_parquet(bi_run, table).sort(order)
            assert exported.columns == expected.columns
            assert_frame_equal(exported, expected)


def test_partitioned_bi_assets_publish_the_run_s_days_only(
    bi_env: BiRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build_bi_assets with the daily partitions: a run of one day rewrites that day in the serving
    copy and that day's month in Parquet, and leaves both equal to the warehouse."""
    serving = tmp_path / "serving" / "bi.duckdb"
    parquet = tmp_path / "parquet"
    shutil.copytree(bi_env.parquet_dir, parquet)
    serving.parent.mkdir()
    shutil.copyfile(bi_env.serving_copy, serving)
    monkeypatch.setenv(BI_PATH, str(serving))
    monkeypatch.setenv(PARQUET_DIR, str(parquet))
    days = dg.DailyPartitionsDefinition(start_date=(AS_OF - timedelta(days=90)).isoformat())
    assets = build_bi_assets(days, MART_KEYS)
    last_day = AS_OF - timedelta(days=1)
    untouched = {
        path.parent.name: path.stat().st_ino
        for path in (parquet / "fct_transactions").glob("*/*.parquet")
    }

    from sales_analytics.definitions import defs

    result = dg.materialize(
        assets=assets,
        resources=defs().resources,
        selection=[dg.AssetKey(["bi", "serving_copy"]), dg.AssetKey(["bi", "parquet_exports"])],
        partition_key=last_day.isoformat(),
    )

    assert all(asset.partitions_def == days for asset in assets)
    assert all(asset.backfill_policy == dg.BackfillPolicy.single_run() for asset in assets)
    assert {key for asset in assets for key in asset.dependency_keys} == set(MART_KEYS)
    served = result.asset_materializations_for_node("bi__serving_copy")[0].metadata
    assert served["mode"].value == "incremental"
    assert served["rewritten"].value == [last_day.isoformat()]
    exported = result.asset_materializations_for_node("bi__parquet_exports")[0].metadata
    assert exported["rewritten"].value == [last_day.isoformat()[:7]]
    replaced = {
        path.parent.name
        for path in (parquet / "fct_transactions").glob("*/*.parquet")
        if untouched.get(path.parent.name) != path.stat().st_ino
    }
    assert replaced == {f"transaction_month={last_day.replace(day=1).isoformat()}"}
    with duckdb.connect(str(serving), read_only=True) as copy, bi_env.connect_warehouse() as wh:
        for table in MART_TABLES:
            order = ORDER_KEYS[table]
            assert_frame_equal(
                copy.sql(f"select * from marts.{table} order by {order}").pl(),
                wh.sql(f"select * from marts.{table} order by {order}").pl(),
            )


def make_old_copy(bi_run: BiRun, target: Path) -> list[int]:
    """A complete serving copy that differs from what the next run publishes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bi_run.serving_copy, target)
    with duckdb.connect(str(target)) as copy:
        copy.execute(
            "delete from marts.fct_transactions where transaction_id not in ("
            "select transaction_id from marts.fct_transactions order by 1 limit 10)"
        )
        copy.execute("delete from marts.dim_customers where customer_id > 'CUST-000050'")
        return list(
            copy.execute(
                "select (select count(*) from marts.dim_customers),"
                " (select count(*) from marts.dim_products),"
                " (select count(*) from marts.fct_transactions)"
            ).fetchone()
        )


def test_a_reader_holding_the_copy_during_a_run_sees_old_or_new_never_half(
    bi_env: BiRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "serving" / "sales_analytics_bi.duckdb"
    monkeypatch.setenv(BI_PATH, str(target))
    old = make_old_copy(bi_env, target)
    new = mart_counts(bi_env)
    assert old != new
    stop = tmp_path / "stop-polling"

    with (
        DuckdbClient("hold", str(target)) as holder,
        DuckdbClient("poll", str(target), str(stop)) as poller,
    ):
        assert holder.read()["counts"] == old
        assert poller.read() == {"started": True}
        result = materialize(BI_ASSET_KEYS)
        holder.send_line()
        held_after = holder.read()["counts"]
        time.sleep(0.3)  # lets the poller open the new copy at least once
        stop.touch()
        polled = poller.read()

    assert result.success, "a reader holding the serving copy never fails the run"
    assert result.asset_materializations_for_node("bi__serving_copy"), "the copy was replaced"
    assert held_after == old, "the open connection keeps reading the complete old copy"
    assert polled["errors"] == []
    assert polled["reads"] > 0
    assert all(seen in (old, new) for seen in polled["seen"]), polled["seen"]
    assert polled["seen"][0] == old and polled["seen"][-1] == new, polled["seen"]
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert [
            fresh.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in MART_TABLES
        ] == new


def test_a_read_write_holder_defers_the_swap_and_the_run_still_succeeds(
    bi_env: BiRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "serving" / "sales_analytics_bi.duckdb"
    monkeypatch.setenv(BI_PATH, str(target))
    old = make_old_copy(bi_env, target)
    quick_retries = BiOutputs(
        serving_path=str(target),
        parquet_dir=bi_env.env["SALES_ANALYTICS_PARQUET_DIR"],
        dashboard_path=str(tmp_path / "dashboard.html"),
        swap_attempts=2,
        swap_retry_seconds=0.05,
    )
    serving_key = dg.AssetKey(["bi", "serving_copy"])

    with DuckdbClient("write", str(target)) as writer:
        assert writer.read() == {"ready": True}
        deferred = materialize([serving_key], bi=quick_retries)

    assert deferred.success
    assert deferred.asset_materializations_for_node("bi__serving_copy") == []
    (observation,) = deferred.asset_observations_for_node("bi__serving_copy")
    assert observation.metadata["status"].value == "in use: previous copy kept"
    assert "write-ahead log" in observation.metadata["reasons"].value[0]
    assert "nightly schedule" in observation.metadata["retry"].value
    with duckdb.connect(str(target), read_only=True) as copy:
        assert copy.execute("select count(*) from marts.fct_transactions").fetchone()[0] == old[2]
        assert copy.execute("select marker from held_by_writer").fetchone() == (1,)
    assert sorted(path.name for path in target.parent.iterdir()) == [target.name]

    retried = materialize([serving_key], bi=quick_retries)
    assert retried.asset_materializations_for_node("bi__serving_copy")


def test_next_nightly_run_is_the_next_two_o_clock_in_the_schedule_zone() -> None:
    from datetime import UTC, datetime

    before = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    after = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    assert next_nightly_run(before, "UTC").isoformat() == "2026-03-01T02:00:00+00:00"
    assert next_nightly_run(after, "UTC").isoformat() == "2026-03-02T02:00:00+00:00"
    assert next_nightly_run(after, "Europe/Berlin").isoformat() == "2026-03-02T02:00:00+01:00"


def uv_command() -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv]
    for python in ("python3", sys.executable):
        probe = subprocess.run([python, "-m", "uv", "--version"], capture_output=True)
        if probe.returncode == 0:
            return [python, "-m", "uv"]
    pytest.fail("uv is needed to build the DuckDB 1.4 environment (`make install` installs it)")


def duckdb_odbc_python() -> Path:
    """A virtual environment with only DuckDB 1.4, kept under .cache/ in the project (ignored by
    git) and built once; a lock keeps two test runs from building it at the same time."""
    cache = PROJECT_ROOT / ".cache"
    venv = cache / f"duckdb-{DUCKDB_ODBC_VERSION}"
    python = venv / "bin" / "python"
    ready = venv / ".installed"
    cache.mkdir(exist_ok=True)
    with (cache / "duckdb-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            uv = uv_command()
            subprocess.run(
                [*uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
                check=True,
                timeout=120,
            )
            subprocess.run(
                [
                    *uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(python),
                    f"duckdb=={DUCKDB_ODBC_VERSION}",
                ],
                check=True,
                timeout=300,
            )
            ready.touch()
    return python


def test_duckdb_1_4_opens_the_serving_copy_read_only(bi_run: BiRun) -> None:
    python = duckdb_odbc_python()
    answer = subprocess.run(
        [str(python), str(CLIENT_SCRIPT), "describe", str(bi_run.serving_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    described = json.loads(answer.stdout)
    assert described["duckdb"] == DUCKDB_ODBC_VERSION
    assert described["counts"] == mart_counts(bi_run)
    assert all(rows > 0 for rows in described["sample_rows"].values())
    types_in_1_4 = {(table, column): kind for table, column, kind in described["types"]}
    assert types_in_1_4 == serving_types(bi_run.serving_copy)
